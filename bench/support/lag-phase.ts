import { percentile, round } from './machine';
import type { Stack } from './stack';

/** A change made in Salesforce as a person would and the HubSpot contact it must reach. */
export interface ContactPair {
  sfId: string;
  hsId: string;
}

export interface PhaseResult {
  changes: number;
  seen: number;
  notSeen: number;
  /** Changes overwritten by the next edit of the same contact before they were seen. */
  superseded: number;
  lagMs: { p50: number; p95: number; p99: number; max: number };
}

/** Edits contacts (the sandbox UI path) at `load.rate`/s for `load.seconds`, then waits (up to `settleMs`) for the last to show. */
export async function runPhase(stack: Stack, pairs: ContactPair[], load: { rate: number; seconds: number }, phase: string, settleMs: number): Promise<PhaseResult> {
  const pending = new Map<string, { value: string; editedAt: number }>();
  const lags: number[] = [];
  let superseded = 0;
  let changes = 0;
  const hubspot = stack.hubspot.sandbox.admin;
  const check = (): void => {
    for (const [hsId, change] of pending) {
      if (hubspot.getRecord('contacts', hsId)?.properties.jobtitle === change.value) {
        lags.push(performance.now() - change.editedAt);
        pending.delete(hsId);
      }
    }
  };
  const watcher = setInterval(check, 20);
  const { rate, seconds } = load;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(rate * seconds, Math.floor(((performance.now() - started) / 1000) * rate));
      while (changes < due) {
        const pair = pairs[changes % pairs.length] as ContactPair;
        const value = `${phase} change ${changes}`;
        if (pending.has(pair.hsId)) superseded += 1;
        pending.set(pair.hsId, { value, editedAt: performance.now() });
        stack.salesforce.sandbox.admin.editAsUser('Contact', pair.sfId, { Title: value });
        changes += 1;
      }
      if (changes >= rate * seconds) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
  const settleUntil = performance.now() + settleMs;
  while (pending.size > 0 && performance.now() < settleUntil) await new Promise((resolve) => setTimeout(resolve, 50));
  clearInterval(watcher);
  check();
  lags.sort((a, b) => a - b);
  return {
    changes,
    seen: lags.length,
    notSeen: pending.size,
    superseded,
    lagMs: { p50: round(percentile(lags, 50)), p95: round(percentile(lags, 95)), p99: round(percentile(lags, 99)), max: round(lags.at(-1) ?? Number.NaN) },
  };
}

/** Salesforce contacts paired with the HubSpot contacts the first poll made of them (by e-mail), once all `contacts` are there. */
export async function syncedContactPairs(stack: Stack, contacts: number, timeoutMs = 300_000): Promise<ContactPair[]> {
  const deadline = Date.now() + timeoutMs;
  while (stack.hubspot.sandbox.admin.listRecords('contacts').length < contacts && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
  const hsByEmail = new Map(stack.hubspot.sandbox.admin.listRecords('contacts').map((record) => [String(record.properties.email).toLowerCase(), record.id]));
  return stack.salesforce.sandbox.admin.listRecords('Contact').flatMap((record) => {
    const hsId = hsByEmail.get(String(record.Email).toLowerCase());
    return hsId ? [{ sfId: String(record.Id), hsId }] : [];
  });
}

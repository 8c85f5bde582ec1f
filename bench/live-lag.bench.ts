/**
 * Benchmark 5 of issue #7: live lag. Salesforce contacts already synced to HubSpot are edited as a
 * person would (the sandbox's UI path, which fires its signed webhook) at a constant 50 changes/s;
 * each change is timed until HubSpot shows it. Two phases in one run: webhooks on (sandbox ->
 * shim process -> signalWithStart -> workflow -> HubSpot), then webhooks dropped, where only the
 * connection workflow's poll (interval 10 s here) carries changes.
 *
 *   npx tsx bench/live-lag.bench.ts              quick: 15 s per phase
 *   npx tsx bench/live-lag.bench.ts --full       60 s per phase
 *   --rate R --seconds S --poll-seconds P (BENCH_RATE, BENCH_SECONDS, BENCH_POLL_SECONDS)
 */
import { emitResult, flag, intOption, machineFacts, percentile, round } from './support/machine';
import { startShimProcess, startSyncAndWaitForFirstPoll } from './support/live';
import { startStack, type Stack } from './support/stack';

const full = flag('full');
const rate = intOption('rate', 'BENCH_RATE', 50);
const seconds = intOption('seconds', 'BENCH_SECONDS', full ? 60 : 15);
const pollSeconds = intOption('poll-seconds', 'BENCH_POLL_SECONDS', 10);
// Each contact is edited again only after this many others, so its previous change has landed.
const contacts = Math.max(500, rate * 20);
const log = (line: string): void => console.error(`[live-lag] ${line}`);

interface PhaseResult {
  changes: number;
  seen: number;
  notSeen: number;
  /** Changes overwritten by the next edit of the same contact before they were seen. */
  superseded: number;
  lagMs: { p50: number; p95: number; p99: number; max: number };
}

/** Edits contacts at `rate`/s for `seconds`, then waits (up to `settleMs`) for the last to show. */
async function runPhase(stack: Stack, pairs: { sfId: string; hsId: string }[], phase: string, settleMs: number): Promise<PhaseResult> {
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
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(rate * seconds, Math.floor(((performance.now() - started) / 1000) * rate));
      while (changes < due) {
        const pair = pairs[changes % pairs.length] as { sfId: string; hsId: string };
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

const machine = machineFacts();
log(machine.uptime);
const stack = await startStack({ salesforceContacts: contacts, hubspotLimits: false, workerRateLimits: false, sync: { pollIntervalMs: pollSeconds * 1000 }, log });
const shim = await startShimProcess(stack).catch(async (error: unknown) => {
  await stack.stop();
  throw error;
});
try {
  // The first poll (24 h look-back) brings every seeded contact to HubSpot; pair them by e-mail.
  await startSyncAndWaitForFirstPoll(stack, stack.salesforce.id);
  const deadline = Date.now() + 300_000;
  while (stack.hubspot.sandbox.admin.listRecords('contacts').length < contacts && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
  const hsByEmail = new Map(stack.hubspot.sandbox.admin.listRecords('contacts').map((record) => [String(record.properties.email).toLowerCase(), record.id]));
  const pairs = stack.salesforce.sandbox.admin.listRecords('Contact').flatMap((record) => {
    const hsId = hsByEmail.get(String(record.Email).toLowerCase());
    return hsId ? [{ sfId: String(record.Id), hsId }] : [];
  });
  log(`${pairs.length} contacts synced and paired; editing ${rate}/s for ${seconds} s with webhooks on…`);

  stack.salesforce.sandbox.webhooks.setTarget(shim.webhookUrl('salesforce', stack.salesforce.id));
  const viaWebhooks = await runPhase(stack, pairs, 'webhook', 30_000);
  log(`Webhooks: p50 ${viaWebhooks.lagMs.p50} ms, p95 ${viaWebhooks.lagMs.p95} ms (${viaWebhooks.seen}/${viaWebhooks.changes} seen).`);

  stack.salesforce.sandbox.webhooks.setTarget(undefined);
  log(`Webhooks dropped; editing ${rate}/s for ${seconds} s, only the ${pollSeconds} s poll carries changes…`);
  const viaPolling = await runPhase(stack, pairs, 'poll', pollSeconds * 1000 + 60_000);
  log(`Polling: p50 ${viaPolling.lagMs.p50} ms, p95 ${viaPolling.lagMs.p95} ms (${viaPolling.seen}/${viaPolling.changes} seen).`);

  emitResult('live-lag', machine, {
    changesPerSecond: rate,
    secondsPerPhase: seconds,
    pollIntervalSeconds: pollSeconds,
    contacts: pairs.length,
    viaWebhooks,
    webhooksDropped: viaPolling,
    goals: { webhooksP95Ms: 2000, pollingP95Ms: pollSeconds * 1000 + 2000 },
  });
} finally {
  await shim.stop();
  await stack.stop();
}

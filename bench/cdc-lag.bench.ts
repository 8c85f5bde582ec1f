/**
 * Live lag through Salesforce Change Data Capture (issue #16, acceptance 1), measured as benchmark
 * 5 measures it through webhooks: Salesforce contacts already synced to HubSpot are edited as a
 * person would (the sandbox's UI path, which publishes a change event) at a constant rate; each
 * change is timed from the sandbox write until HubSpot shows it. No webhook is sent and the poll
 * comes once an hour, so every change travels sandbox write -> Pub/Sub API event -> the
 * connection workflow's `readChangeEvents` activity (from the replay id it keeps) -> HubSpot.
 *
 *   npx tsx bench/cdc-lag.bench.ts              quick: 15 s of edits
 *   npx tsx bench/cdc-lag.bench.ts --full       60 s of edits
 *   --rate R --seconds S (BENCH_RATE, BENCH_SECONDS)
 */
import { syncStatusQuery } from '../src/workflows/messages';
import { runPhase, syncedContactPairs } from './support/lag-phase';
import { startSyncAndWaitForFirstPoll } from './support/live';
import { emitResult, flag, intOption, machineFacts } from './support/machine';
import { startStack } from './support/stack';

const full = flag('full');
const rate = intOption('rate', 'BENCH_RATE', 50);
const seconds = intOption('seconds', 'BENCH_SECONDS', full ? 60 : 15);
const POLL_INTERVAL_MS = 3_600_000;
// Each contact is edited again only after this many others, so its previous change has landed.
const contacts = Math.max(500, rate * 20);
const log = (line: string): void => console.error(`[cdc-lag] ${line}`);

const machine = machineFacts();
log(machine.uptime);
const stack = await startStack({ salesforceContacts: contacts, hubspotLimits: false, workerRateLimits: false, salesforceChangeEvents: true, sync: { pollIntervalMs: POLL_INTERVAL_MS }, log });
try {
  // The first poll (24 h look-back) brings every seeded contact to HubSpot; pair them by e-mail.
  await startSyncAndWaitForFirstPoll(stack, stack.salesforce.id);
  const pairs = await syncedContactPairs(stack, contacts);
  const workflow = stack.client.workflow.getHandle(`sync:${stack.tenantId}:${stack.salesforce.id}`);
  const before = await workflow.query(syncStatusQuery);
  if (!before.changeEvents?.replayId) throw new Error('the workflow holds no change log position: CDC is not in use');
  log(`${pairs.length} contacts synced and paired; editing ${rate}/s for ${seconds} s, heard through CDC only…`);

  const viaChangeEvents = await runPhase(stack, pairs, { rate, seconds }, 'cdc', 60_000);
  const after = await workflow.query(syncStatusQuery);
  log(`CDC: p50 ${viaChangeEvents.lagMs.p50} ms, p95 ${viaChangeEvents.lagMs.p95} ms (${viaChangeEvents.seen}/${viaChangeEvents.changes} seen).`);
  // Only the change log may have carried them: a poll during the phase would make the figure a poll's.
  const polledDuringPhase = after.lastPolledAt !== before.lastPolledAt;
  if (polledDuringPhase) log('A poll ran during the phase: the figure is not CDC alone.');

  emitResult('cdc-lag', machine, {
    changesPerSecond: rate,
    seconds,
    pollIntervalSeconds: POLL_INTERVAL_MS / 1000,
    contacts: pairs.length,
    viaChangeEvents,
    changeEventsRead: (after.changeEvents?.received ?? 0) - (before.changeEvents?.received ?? 0),
    fellBack: after.changeEvents?.lastFallback ?? null,
    polledDuringPhase,
    goals: { changeEventsP95Ms: 1000 },
  });
} finally {
  await stack.stop();
}

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
import { runPhase, syncedContactPairs } from './support/lag-phase';
import { emitResult, flag, intOption, machineFacts } from './support/machine';
import { startShimProcess, startSyncAndWaitForFirstPoll } from './support/live';
import { startStack } from './support/stack';

const full = flag('full');
const rate = intOption('rate', 'BENCH_RATE', 50);
const seconds = intOption('seconds', 'BENCH_SECONDS', full ? 60 : 15);
const pollSeconds = intOption('poll-seconds', 'BENCH_POLL_SECONDS', 10);
// Each contact is edited again only after this many others, so its previous change has landed.
const contacts = Math.max(500, rate * 20);
const log = (line: string): void => console.error(`[live-lag] ${line}`);

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
  const pairs = await syncedContactPairs(stack, contacts);
  log(`${pairs.length} contacts synced and paired; editing ${rate}/s for ${seconds} s with webhooks on…`);

  stack.salesforce.sandbox.webhooks.setTarget(shim.webhookUrl('salesforce', stack.salesforce.id));
  const viaWebhooks = await runPhase(stack, pairs, { rate, seconds }, 'webhook', 30_000);
  log(`Webhooks: p50 ${viaWebhooks.lagMs.p50} ms, p95 ${viaWebhooks.lagMs.p95} ms (${viaWebhooks.seen}/${viaWebhooks.changes} seen).`);

  stack.salesforce.sandbox.webhooks.setTarget(undefined);
  log(`Webhooks dropped; editing ${rate}/s for ${seconds} s, only the ${pollSeconds} s poll carries changes…`);
  const viaPolling = await runPhase(stack, pairs, { rate, seconds }, 'poll', pollSeconds * 1000 + 60_000);
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

/**
 * Benchmark 4 of issue #7: the webhook shim (its own process, src/webhooks/server.ts: SOAP parse
 * and org check, connection lookup in PostgreSQL, Temporal signalWithStart, SOAP Ack) under
 * Salesforce Outbound Messages (one Notification each) at a constant arrival rate (open loop: each request leaves at its scheduled time,
 * whether or not earlier ones were answered; latency counts from the scheduled time, so a stalled
 * shim cannot hide queueing). Each delivery names one new Salesforce contact that only the
 * webhook announces (created after the connection's first poll, poll interval 1 h), so "every
 * event applied" means every one of those contacts reached HubSpot through shim -> workflow.
 *
 *   npx tsx bench/webhook-ingest.bench.ts            quick: 500 requests/s for 10 s
 *   npx tsx bench/webhook-ingest.bench.ts --full     500 requests/s for 60 s
 *   --rate R --seconds S (BENCH_RATE, BENCH_SECONDS)
 */
import { Pool } from 'undici';
import { buildOutboundEnvelope } from '../src/sandbox/salesforce';
import { cpuSeconds, emitResult, flag, intOption, machineFacts, percentile, round } from './support/machine';
import { startShimProcess, startSyncAndWaitForFirstPoll } from './support/live';
import { startStack } from './support/stack';

const full = flag('full');
const rate = intOption('rate', 'BENCH_RATE', 500);
const seconds = intOption('seconds', 'BENCH_SECONDS', full ? 60 : 10);
const applyTimeoutMs = intOption('apply-timeout-seconds', 'BENCH_APPLY_TIMEOUT_SECONDS', 600) * 1000;
const total = rate * seconds;
const log = (line: string): void => console.error(`[webhook-ingest] ${line}`);

const machine = machineFacts();
log(machine.uptime);
const stack = await startStack({ salesforceContacts: 0, hubspotLimits: false, workerRateLimits: false, sync: { pollIntervalMs: 3_600_000 }, log });
const shim = await startShimProcess(stack).catch(async (error: unknown) => {
  await stack.stop();
  throw error;
});
try {
  log(`Shim process ${shim.process.pid} at ${shim.url}.`);
  await startSyncAndWaitForFirstPoll(stack, stack.salesforce.id);
  // Created after the first poll and without webhooks: only the deliveries below announce them.
  const ids = stack.salesforce.sandbox.admin.seed({ contacts: total }).Contact ?? [];
  const organizationId = stack.salesforce.sandbox.credentials.organizationId;
  const target = new URL(shim.webhookUrl('salesforce', stack.salesforce.id));
  const pool = new Pool(target.origin, { connections: 256, pipelining: 1 });

  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  let lateStarts = 0;
  const deliver = async (index: number, scheduledAt: number): Promise<void> => {
    const body = buildOutboundEnvelope({
      organizationId,
      actionId: '04k5g0000000001AAA',
      enterpriseUrl: `${stack.salesforce.sandbox.url}/services/Soap/c/62.0/${organizationId.slice(0, 15)}`,
      partnerUrl: `${stack.salesforce.sandbox.url}/services/Soap/u/62.0/${organizationId.slice(0, 15)}`,
      notifications: [{ id: `04l${String(index).padStart(15, '0')}`, sObjectType: 'Contact', fields: { Id: ids[index] as string, LastModifiedDate: new Date().toISOString() } }],
    });
    let status: string;
    try {
      const answer = await pool.request({
        method: 'POST',
        path: target.pathname,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
        body,
      });
      await answer.body.dump();
      status = String(answer.statusCode);
    } catch (error) {
      status = `error:${(error as Error).name}`;
    }
    latencies.push(performance.now() - scheduledAt);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  };

  log(`Sending ${total} Outbound Messages at ${rate}/s for ${seconds} s…`);
  const inFlight: Promise<void>[] = [];
  const pids = { shim: shim.process.pid as number, worker: stack.worker.pid as number, temporalServer: stack.temporalServerPid ?? 0 };
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const benchCpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      // Every request whose time has come leaves now (open loop).
      while (next < total && started + (next * 1000) / rate <= now) {
        const scheduledAt = started + (next * 1000) / rate;
        if (now - scheduledAt > 5) lateStarts += 1;
        inFlight.push(deliver(next, scheduledAt));
        next += 1;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, started + (next * 1000) / rate - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  const sendSeconds = (performance.now() - started) / 1000;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  // CPU each process used while the deliveries were sent and answered: which one was saturated.
  const cpuDuringLoad = {
    ...Object.fromEntries(Object.entries(pids).map(([name, pid]) => [`${name}Seconds`, round(cpuSeconds(pid) - (cpuBefore[name] ?? 0))])),
    loadGeneratorAndSandboxesSeconds: round((benchCpu.user + benchCpu.system) / 1e6),
  };
  await pool.close();
  const accepted = statuses.get('200') ?? 0;
  latencies.sort((a, b) => a - b);
  log(`Answered in ${sendSeconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(statuses))}; p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms.`);

  // Every announced contact must reach HubSpot.
  const wanted = new Set(ids.map((id) => id.toLowerCase()));
  const appliedCount = (): number => stack.hubspot.sandbox.admin.listRecords('contacts').length;
  const applyStarted = performance.now();
  let applied = appliedCount();
  let workerCrash: string | null = null;
  stack.workerCrashed.catch((error: unknown) => void (workerCrash = (error as Error).message));
  while (applied < wanted.size && performance.now() - applyStarted < applyTimeoutMs && workerCrash === null) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    applied = appliedCount();
  }
  const drainSeconds = (performance.now() - applyStarted) / 1000;
  log(`${applied}/${total} contacts in HubSpot, ${drainSeconds.toFixed(1)} s after the last answer.`);

  emitResult('webhook-ingest', machine, {
    rateTarget: rate,
    seconds,
    deliveries: total,
    achievedRate: round(total / sendSeconds),
    lateStartsOver5ms: lateStarts,
    statuses: Object.fromEntries(statuses),
    errors: total - accepted,
    ackLatencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? Number.NaN),
    },
    cpuSecondsDuringLoad: cpuDuringLoad,
    eventsApplied: applied,
    allApplied: applied === total,
    workerCrash,
    applyDrainSecondsAfterLastAck: round(drainSeconds),
  });
} finally {
  await shim.stop();
  await stack.stop();
}

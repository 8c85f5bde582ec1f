/**
 * Benchmark 2 of issue #7: the same real backfill (Salesforce contacts -> HubSpot through the
 * workflow) with every limit off, sandbox and client-side budget alike: records/s end to end, and
 * where the time goes: CPU seconds per process (worker, Temporal dev server, this process, which
 * hosts both sandboxes) and a V8 CPU profile of the worker's main thread during the backfill only
 * (the inspector; activities, connectors and pg run there, workflow code in its own threads),
 * summarised as self time by area.
 *
 *   npx tsx bench/engine-ceiling.bench.ts              quick: 20,000 records
 *   npx tsx bench/engine-ceiling.bench.ts --full       100,000 records
 *   --records N (BENCH_RECORDS)   --no-profile: skip the CPU profile (it costs a few per cent)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runContactBackfill } from './support/backfill-run';
import { summariseProfiles } from './support/cpu-profile';
import { cpuSeconds, emitResult, machineCpuSeconds, flag, intOption, machineFacts, round } from './support/machine';
import { startStack } from './support/stack';

const full = flag('full');
const profile = !flag('no-profile');
const records = intOption('records', 'BENCH_RECORDS', full ? 100_000 : 20_000);
const log = (line: string): void => console.error(`[engine-ceiling] ${line}`);

const machine = machineFacts();
log(machine.uptime);
const profileDir = profile ? await mkdtemp(path.join(os.tmpdir(), 'crm-sync-bench-prof-')) : undefined;
const stack = await startStack({ salesforceContacts: records, hubspotLimits: false, workerRateLimits: false, workerCpuProfileDir: profileDir, log });
let stopped = false;
try {
  const workerPid = stack.worker.pid as number;
  const temporalPid = stack.temporalServerPid;
  const before = { worker: cpuSeconds(workerPid), temporal: temporalPid ? cpuSeconds(temporalPid) : Number.NaN, bench: process.cpuUsage(), machine: machineCpuSeconds() };
  log(`Backfilling ${records.toLocaleString('en')} contacts, limits off…`);
  const profiling = profile ? await stack.profileWorker() : undefined;
  const run = await runContactBackfill(stack);
  if (profiling) log(`Worker profile: ${await profiling.stop()}`);
  const benchCpu = process.cpuUsage(before.bench);
  const machineAfter = machineCpuSeconds();
  const cpu = {
    workerSeconds: round(cpuSeconds(workerPid) - before.worker),
    temporalServerSeconds: temporalPid ? round(cpuSeconds(temporalPid) - before.temporal) : null,
    sandboxesAndBenchSeconds: round((benchCpu.user + benchCpu.system) / 1e6),
    // Every process, PostgreSQL's backends included (they come and go, so they are counted here).
    machineBusySeconds: round(machineAfter.busy - before.machine.busy),
    machineBusyPercent: round(((machineAfter.busy - before.machine.busy) / (machineAfter.total - before.machine.total)) * 100),
  };
  const written = run.progress.written[stack.hubspot.id] ?? 0;
  log(`${written} written in ${run.seconds.toFixed(1)} s = ${run.recordsPerSecond.toFixed(0)} records/s (steady ${run.steadyRecordsPerSecond.toFixed(0)}/s); CPU s: ${JSON.stringify(cpu)}.`);

  const summary = profileDir ? await summariseProfiles(profileDir) : undefined;
  if (summary) for (const area of summary.byArea) log(`  ${area.share.toString().padStart(5)} %  ${area.area}`);
  await stack.stop();
  stopped = true;

  emitResult('engine-ceiling', machine, {
    records,
    written,
    failed: Object.values(run.progress.failed).reduce((sum, count) => sum + count, 0),
    seconds: round(run.seconds),
    recordsPerSecond: round(run.recordsPerSecond),
    steadyRecordsPerSecond: round(run.steadyRecordsPerSecond),
    firstWriteAfterSeconds: round(run.firstWriteAfterSeconds),
    cpuSecondsDuringBackfill: cpu,
    cpuProfiled: profile,
    workerProfile: summary,
  });
} finally {
  if (!stopped) await stack.stop();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
}

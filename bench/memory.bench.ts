/**
 * Benchmark 6 of issue #7: the worker's resident memory through a large backfill (Salesforce
 * contacts -> HubSpot through the real workflow, limits off so it is as large as possible per
 * second). Samples the worker process's RSS (/proc) every 500 ms; reports the peak, the RSS before
 * the backfill, and RSS at each quarter of the records written, which shows whether it stays flat.
 *
 *   npx tsx bench/memory.bench.ts             quick: 50,000 records
 *   npx tsx bench/memory.bench.ts --full      1,000,000 records
 *   --records N (BENCH_RECORDS)
 */
import { runContactBackfill } from './support/backfill-run';
import { emitResult, flag, intOption, machineFacts, round, rssMiB } from './support/machine';
import { startStack } from './support/stack';

const GOAL_PEAK_MIB = 500;
const full = flag('full');
const records = intOption('records', 'BENCH_RECORDS', full ? 1_000_000 : 50_000);
const log = (line: string): void => console.error(`[memory] ${line}`);

const machine = machineFacts();
log(machine.uptime);
const stack = await startStack({ salesforceContacts: records, hubspotLimits: false, workerRateLimits: false, log });
try {
  const pid = stack.worker.pid as number;
  const atStart = rssMiB(pid);
  const samples: { t: number; written: number; rssMiB: number }[] = [];
  // V8's own view every 2 s: a heap that stays level while RSS grows is the allocator keeping pages, not a leak.
  const heapUsedMiB: number[] = [];
  const heapTimer = setInterval(() => void stack.workerMemory().then((usage) => heapUsedMiB.push(round(usage.heapUsed / 2 ** 20)), () => undefined), 2000);
  let lastLogged = 0;
  const run = await runContactBackfill(stack, (sample) => {
    if (samples.length === 0 || sample.t - (samples.at(-1)?.t ?? 0) >= 0.5) {
      samples.push({ t: round(sample.t), written: sample.written, rssMiB: round(rssMiB(pid)) });
      if (sample.t - lastLogged >= 15) {
        lastLogged = sample.t;
        log(`  ${Math.round(sample.t)} s: ${sample.written} written, worker RSS ${rssMiB(pid).toFixed(0)} MiB`);
      }
    }
  });
  clearInterval(heapTimer);
  const written = run.progress.written[stack.hubspot.id] ?? 0;
  const peak = Math.max(atStart, ...samples.map((sample) => sample.rssMiB));
  const atQuarter = (quarter: number): number | null => samples.find((sample) => sample.written >= (written * quarter) / 4)?.rssMiB ?? null;
  log(`${written} written in ${run.seconds.toFixed(0)} s; worker RSS peak ${peak.toFixed(0)} MiB (before ${atStart.toFixed(0)} MiB).`);
  emitResult('worker-memory', machine, {
    records,
    written,
    failed: Object.values(run.progress.failed).reduce((sum, count) => sum + count, 0),
    seconds: round(run.seconds),
    recordsPerSecond: round(run.recordsPerSecond),
    workerRssMiB: { beforeBackfill: round(atStart), peak: round(peak), at25Percent: atQuarter(1), at50Percent: atQuarter(2), at75Percent: atQuarter(3), at100Percent: atQuarter(4) },
    workerHeapUsedMiB: { samples: heapUsedMiB.length, min: Math.min(...heapUsedMiB), max: Math.max(...heapUsedMiB), last: heapUsedMiB.at(-1) ?? null },
    goalPeakMiB: GOAL_PEAK_MIB,
    samples: samples.length,
  });
} finally {
  await stack.stop();
}

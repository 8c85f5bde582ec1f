/**
 * Benchmarks 1 and 3 of issue #7: the real backfill workflow, Salesforce contacts -> HubSpot, with
 * the HubSpot sandbox at HubSpot's real limits (100 requests per 10 s, 100 records per batch =
 * 1,000 records/s ceiling), then the naive hand-written loop on a fresh HubSpot sandbox with the
 * same limits and the same Salesforce source, in the same run: records/s, share of the ceiling,
 * 429s, and the ratio.
 *
 * Share of the ceiling: the vendor's window rolls, so in any T seconds of writing it lets through
 * at most one window's allowance at once (100 requests = 10,000 records) plus 1,000 records/s:
 * share = records / (10,000 + 1,000 x T), T from the first record written to the last. 100 % is
 * the most any client can reach; records/s end to end (start to result, export job included) and
 * first to last write are reported beside it.
 *
 *   npx tsx bench/backfill-ceiling.bench.ts            quick: 30,000 records, naive loop 30 s
 *   npx tsx bench/backfill-ceiling.bench.ts --full     100,000 records, naive loop 120 s
 *   --records N --naive-seconds S                      (or BENCH_RECORDS, BENCH_NAIVE_SECONDS)
 */
import { startHubSpotSandbox } from '../src/sandbox/hubspot';
import { runContactBackfill } from './support/backfill-run';
import { emitResult, flag, intOption, machineFacts, round } from './support/machine';
import { runNaiveLoop } from './support/naive-loop';
import { startStack } from './support/stack';

const CEILING_RECORDS_PER_SECOND = 1000;
const WINDOW_RECORDS = 10_000;
const full = flag('full');
const records = intOption('records', 'BENCH_RECORDS', full ? 100_000 : 30_000);
const naiveSeconds = intOption('naive-seconds', 'BENCH_NAIVE_SECONDS', full ? 120 : 30);
const log = (line: string): void => console.error(`[backfill-ceiling] ${line}`);

const machine = machineFacts();
log(`${machine.uptime}`);
const stack = await startStack({ salesforceContacts: records, hubspotLimits: true, workerRateLimits: true, log });
try {
  log(`Backfilling ${records.toLocaleString('en')} contacts through the workflow…`);
  let lastLogged = 0;
  const engine = await runContactBackfill(stack, (sample) => {
    if (sample.t - lastLogged >= 10) {
      lastLogged = sample.t;
      log(`  ${Math.round(sample.t)} s: ${sample.written} written, ${sample.rateLimited} 429s`);
    }
  });
  const written = engine.progress.written[stack.hubspot.id] ?? 0;
  const shareOfCeiling = (written / (WINDOW_RECORDS + CEILING_RECORDS_PER_SECOND * engine.writingSeconds)) * 100;
  log(`Engine: ${written} written in ${engine.seconds.toFixed(1)} s = ${engine.recordsPerSecond.toFixed(0)} records/s (first to last write ${engine.steadyRecordsPerSecond.toFixed(0)}/s in ${engine.writingSeconds.toFixed(1)} s = ${shareOfCeiling.toFixed(1)} % of the ceiling), ${engine.vendor429s} 429s.`);

  log(`Naive loop (per-record upsert, batches of ${200}, 1 s sleep) for up to ${naiveSeconds} s on a fresh HubSpot sandbox at the same limits…`);
  const naiveTarget = await startHubSpotSandbox({ limits: {} });
  const naive = await runNaiveLoop(stack.salesforce.sandbox, naiveTarget, records, naiveSeconds).finally(() => naiveTarget.stop());
  log(`Naive: ${naive.written} written in ${naive.seconds.toFixed(1)} s = ${naive.recordsPerSecond.toFixed(1)} records/s, ${naive.vendor429s} 429s.`);

  emitResult('backfill-vs-vendor-ceiling', machine, {
    records,
    engine: {
      written,
      failed: Object.values(engine.progress.failed).reduce((sum, count) => sum + count, 0),
      seconds: round(engine.seconds),
      recordsPerSecond: round(engine.recordsPerSecond),
      writingSeconds: round(engine.writingSeconds),
      shareOfCeilingPercent: round(shareOfCeiling),
      steadyRecordsPerSecond: round(engine.steadyRecordsPerSecond),
      firstWriteAfterSeconds: round(engine.firstWriteAfterSeconds),
      vendor429s: engine.vendor429s,
      vendor429sAfterFirstWindow: engine.vendor429sAfterFirstWindow,
    },
    naive: { ...naive, seconds: round(naive.seconds), recordsPerSecond: round(naive.recordsPerSecond, 2) },
    engineOverNaive: round(engine.recordsPerSecond / naive.recordsPerSecond),
    ceilingRecordsPerSecond: CEILING_RECORDS_PER_SECOND,
  });
} finally {
  await stack.stop();
}

import { startBackfill, type BackfillProgress } from '../../src/client/backfill';
import type { Stack } from './stack';

export interface BackfillSample {
  /** Seconds since the backfill was started. */
  t: number;
  /** Records HubSpot has written so far. */
  written: number;
  /** HubSpot 429 answers so far. */
  rateLimited: number;
}

export interface BackfillRun {
  progress: BackfillProgress;
  /** Start of the workflow to its result. */
  seconds: number;
  /** Written records per second over the whole run. */
  recordsPerSecond: number;
  /** From the first record written in HubSpot to the last: the steady rate without start-up (export job). */
  steadyRecordsPerSecond: number;
  /** From the first record written in HubSpot to the last. */
  writingSeconds: number;
  firstWriteAfterSeconds: number;
  vendor429s: number;
  /** 429s answered after the first 10 s window of writing. */
  vendor429sAfterFirstWindow: number;
  samples: BackfillSample[];
}

const writtenIn = (stack: Stack): number => Object.values(stack.hubspot.sandbox.counters.snapshot().recordWrites).reduce((sum, count) => sum + count, 0);

/** Runs the real backfill workflow Salesforce contacts -> HubSpot and samples HubSpot's writes and 429s. */
export async function runContactBackfill(stack: Stack, onSample?: (sample: BackfillSample) => void): Promise<BackfillRun> {
  const baseWritten = writtenIn(stack);
  const base429 = stack.hubspot.sandbox.counters.rateLimited;
  const started = performance.now();
  const samples: BackfillSample[] = [];
  const sample = (): BackfillSample => {
    const point = { t: (performance.now() - started) / 1000, written: writtenIn(stack) - baseWritten, rateLimited: stack.hubspot.sandbox.counters.rateLimited - base429 };
    samples.push(point);
    onSample?.(point);
    return point;
  };
  const timer = setInterval(sample, 250);
  let progress: BackfillProgress;
  try {
    const handle = await startBackfill(stack.client, stack.taskQueue, { tenantId: stack.tenantId, connectionId: stack.salesforce.id, objectType: 'contact', targets: [stack.hubspot.id] });
    progress = await Promise.race([handle.result(), stack.workerCrashed]);
  } finally {
    clearInterval(timer);
  }
  const last = sample();
  const seconds = last.t;
  const written = progress.written[stack.hubspot.id] ?? 0;
  const firstWrite = samples.find((point) => point.written > 0) ?? last;
  const lastWrite = samples.find((point) => point.written >= last.written) ?? last;
  const window429 = samples.filter((point) => point.t <= firstWrite.t + 10).at(-1)?.rateLimited ?? 0;
  return {
    progress,
    seconds,
    recordsPerSecond: written / seconds,
    steadyRecordsPerSecond: lastWrite.t > firstWrite.t ? (lastWrite.written - firstWrite.written) / (lastWrite.t - firstWrite.t) : Number.NaN,
    writingSeconds: lastWrite.t - firstWrite.t,
    firstWriteAfterSeconds: firstWrite.t,
    vendor429s: last.rateLimited,
    vendor429sAfterFirstWindow: last.rateLimited - window429,
    samples,
  };
}

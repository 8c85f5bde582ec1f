/**
 * Records/s through sObject Collections upserts (200 records per call) against the Salesforce
 * sandbox, driven by jsforce, with the daily allocation off. Client and server share the process,
 * so pinned to one core (`taskset -c 0 npx tsx bench/sandbox-salesforce.bench.ts`) the figure
 * includes the client's own cost.
 *
 * Env: BENCH_RECORDS (default 100000), BENCH_CONCURRENCY (in-flight calls, default 4).
 */
import { Connection } from 'jsforce';
import { startSalesforceSandbox } from '../src/sandbox/salesforce/index';

const TOTAL = Number(process.env.BENCH_RECORDS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const BATCH = 200;

const sandbox = await startSalesforceSandbox({ dailyApiRequests: false });
const { instanceUrl, accessToken, version } = sandbox.credentials;
const conn = new Connection({ instanceUrl, accessToken, version, callOptions: { client: 'bench' } });

function batchOf(start: number, pass: number): Record<string, string>[] {
  return Array.from({ length: BATCH }, (_, i) => {
    const n = start + i;
    return { Sync_Id__c: `bench-${n}`, FirstName: `First${n}`, LastName: `Last${n}-${pass}`, Email: `person${n}@example.com`, Title: 'Engineer' };
  });
}

async function pass(label: string, passNumber: number): Promise<number> {
  let next = 0;
  let failures = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const start = next;
      next += BATCH;
      const results = await conn.upsert('Contact', batchOf(start, passNumber), 'Sync_Id__c');
      failures += results.filter((result) => !result.success).length;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = TOTAL / seconds;
  console.log(`${label}: ${TOTAL} records in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} records/s (${failures} failures)`);
  if (failures > 0) process.exitCode = 1;
  return rate;
}

// Warm-up so JIT compilation is not billed to the first pass.
await conn.upsert('Contact', batchOf(-BATCH, 0), 'Sync_Id__c');
const inserts = await pass('upsert (insert)', 1);
const updates = await pass('upsert (update)', 2);
console.log(`overall: ${Math.round((2 * TOTAL) / (TOTAL / inserts + TOTAL / updates)).toLocaleString('en-US')} records/s; goal >= 5,000`);
console.log(`record writes counted: ${sandbox.counters.snapshot().recordWrites.Contact ?? 0}`);
await sandbox.stop();

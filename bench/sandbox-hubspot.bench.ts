/**
 * Records per second through the HubSpot sandbox: batch upserts of 100 via the real
 * @hubspot/api-client, limits off. Run pinned to one core so client and sandbox share it:
 *   taskset -c 0 npx tsx bench/sandbox-hubspot.bench.ts
 */
import { Client } from '@hubspot/api-client';
import { startHubSpotSandbox } from '../src/sandbox/hubspot';

const TOTAL = Number(process.env.BENCH_RECORDS ?? 50_000);
const BATCH = 100;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

const sandbox = await startHubSpotSandbox({ limits: false });
const client = new Client({ accessToken: sandbox.credentials.accessToken, basePath: sandbox.url });
const batchApi = client.crm.contacts.batchApi;

const batches = Array.from({ length: TOTAL / BATCH }, (_, batch) =>
  Array.from({ length: BATCH }, (_, index) => {
    const n = batch * BATCH + index;
    return { id: `bench-${n}`, idProperty: 'crm_sync_id', properties: { email: `bench.${n}@example.com`, firstname: `First${n}`, lastname: `Last${n}` } };
  }),
);

async function run(label: string): Promise<void> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) {
        const inputs = batches[next++] as (typeof batches)[number];
        await batchApi.upsert({ inputs });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label}: ${TOTAL} records in ${seconds.toFixed(2)} s = ${Math.round(TOTAL / seconds)} records/s`);
}

await run('upsert (creates)');
await run('upsert (updates)');
console.log(`records stored: ${sandbox.admin.listRecords('contacts').length}`);
await sandbox.stop();

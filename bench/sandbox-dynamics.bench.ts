/**
 * Records per second through the Dynamics sandbox's $batch upserts (1,000 alternate-key PATCHes
 * per batch, one change set each so every batch is also a transaction), with service protection
 * off. Run pinned to one core: `taskset -c 0 npx tsx bench/sandbox-dynamics.bench.ts`.
 */
import { startDynamicsSandbox } from '../src/sandbox/dynamics/index';

const BATCH_SIZE = 1000;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);

function batchBody(batch: number): string {
  const parts: string[] = [];
  for (let i = 0; i < BATCH_SIZE; i += 1) {
    const n = batch * BATCH_SIZE + i;
    const body = JSON.stringify({ firstname: `First${n}`, lastname: `Last${n}`, emailaddress1: `person${n}@example.com`, jobtitle: 'Engineer' });
    parts.push(
      `--changeset_b${batch}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ${i + 1}\r\n\r\nPATCH /api/data/v9.2/contacts(crm_syncid='bench-${n % (BATCH_SIZE * Math.ceil(BATCHES / 2))}') HTTP/1.1\r\nContent-Type: application/json\r\n\r\n${body}\r\n`,
    );
  }
  return `--batch_b${batch}\r\nContent-Type: multipart/mixed; boundary=changeset_b${batch}\r\n\r\n${parts.join('')}--changeset_b${batch}--\r\n--batch_b${batch}--\r\n`;
}

async function main(): Promise<void> {
  const sandbox = await startDynamicsSandbox({ serviceProtection: { enabled: false } });
  const { clientId = '', clientSecret = '', scope = '' } = sandbox.credentials;
  const tokenResponse = await fetch(sandbox.tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }),
  });
  const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
  const bodies = Array.from({ length: BATCHES }, (_, batch) => batchBody(batch));

  const started = performance.now();
  for (const [batch, body] of bodies.entries()) {
    const response = await fetch(`${sandbox.serviceRoot}/$batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/mixed; boundary=batch_b${batch}` },
      body,
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`batch ${batch} failed with ${response.status}: ${text.slice(0, 500)}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const records = BATCHES * BATCH_SIZE;
  const stored = sandbox.admin.listRecords('contacts').length;
  await sandbox.stop();
  // Half the batches update records the other half created, so both upsert paths are measured.
  console.log(JSON.stringify({ batches: BATCHES, batchSize: BATCH_SIZE, records, stored, seconds: Number(seconds.toFixed(3)), recordsPerSecond: Math.round(records / seconds) }));
}

await main();

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ParkedRecord, SyncStatus } from '../../src/workflows/connection-sync-state';
import { parkedRecordsQuery } from '../../src/workflows/messages';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { cliEnvironment, CLI, oneLine, runCli } from './support';

const CONTACTS = 3_000;

/**
 * `crm-sync` sync status, parked and backfill commands through the real spawned binary, against
 * a worker running the real workflows with Salesforce and HubSpot sandboxes over HTTP.
 */
// Each spawn of the CLI costs seconds on a loaded 2-core machine: generous per-test budgets.
describe('crm-sync operator CLI: sync status, parked list/retry/skip, backfills', { timeout: 240_000 }, () => {
  const key = randomBytes(32);
  let h: SyncHarness;
  let env: NodeJS.ProcessEnv;
  let sf: string;
  let hs: string;
  /** Salesforce's contacts when the backfills run: the seeded ones and the two from the parked test. */
  let contacts: number;

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      encryptionKey: { id: 'k1', key },
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 },
      // Several export pages, so the progress display has something to show between start and end.
      providerConnectorOptions: { salesforce: { bulk: { exportPageSize: 500, pollIntervalMs: 50 } } },
    });
    env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` });
    sf = h.salesforce!.id;
    hs = h.hubspot!.id;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('lists parked records, skips one by key, retries the rest, shows them in sync status', async () => {
    // The workflow runs and has made its first poll before the bad records exist (a poll would
    // stop at them and retry; a change notice reads them one by one and parks what fails).
    await h.notify(sf);
    await expect.poll(async () => (await h.syncStatus(sf)).lastPolledAt, { timeout: 90_000, interval: 500 }).not.toBeNull();
    // Salesforce contacts whose lead source the connection's mapping does not know cannot be
    // read: each is parked against Salesforce itself while the connection keeps running.
    const settings = (await h.connectionsRepository.getConnection(sf))!.settings;
    // Back to the default mapping afterwards, whatever happens, for the backfills below.
    onTestFinished(() => h.connectionsRepository.updateSettings(sf, settings));
    await h.connectionsRepository.updateSettings(sf, {
      ...settings,
      mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.source', native: 'Lead_Source__c', type: 'picklist', values: { Web: 'web' } }] } } },
    });
    const odd = ['one', 'two'].map((name) => String(h.salesforce!.sandbox.admin.createAsUser('Contact', { LastName: `Odd ${name}`, Email: `${name}@odd.example`, Lead_Source__c: 'Trade Show' }).Id));
    await h.notify(sf, { events: odd.map((externalId, i) => ({ objectType: 'contact', externalId, eventId: `odd-${i}` })) });
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(sf));
    await expect.poll(async () => (await handle.query(parkedRecordsQuery)).length, { timeout: 90_000, interval: 500 }).toBe(2);

    const [listed, json, status] = await Promise.all([runCli(['parked', 'list', sf], env), runCli(['parked', 'list', sf, '--json'], env), runCli(['sync', 'status', sf], env)]);
    const parked = JSON.parse(json.stdout) as ParkedRecord[];
    expect(parked.map((record) => record.sourceExternalId).sort()).toEqual([...odd].sort());
    expect(parked.every((record) => record.error.errorClass === 'validation' && record.targetConnectionId === sf)).toBe(true);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^KEY\s+REASON\s+ATTEMPTS\s+PARKED AT\s+ERROR$/);
    for (const record of parked) expect(listed.stdout).toMatch(new RegExp(`^${record.key}\\s+failed\\s+1\\s+\\S+\\s+validation: .*Trade Show`, 'm'));
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^state\s+degraded$/m);
    expect(status.stdout).toMatch(new RegExp(`^parked\\s+2\\s+\\(crm-sync parked list ${sf}\\)$`, 'm'));

    const [skipped, typo, noKeys] = await Promise.all([
      runCli(['parked', 'skip', sf, parked[0]!.key], env),
      runCli(['parked', 'skip', sf, 'contact:nope:nowhere'], env),
      runCli(['parked', 'skip', sf], env),
    ]);
    expect(skipped).toMatchObject({ code: 0, stdout: '1 parked record skipped\n' });
    expect([typo.code, oneLine(typo)]).toEqual([3, 'crm-sync: not parked: contact:nope:nowhere (see: crm-sync parked list)']);
    expect([noKeys.code, oneLine(noKeys)]).toEqual([2, "crm-sync: missing required argument 'keys'"]);

    // Retried, it fails the same way and is parked again, one attempt more.
    expect(await runCli(['parked', 'retry', sf], env)).toMatchObject({ code: 0, stdout: '1 parked record re-queued\n' });
    await expect.poll(async () => handle.query(parkedRecordsQuery), { timeout: 90_000, interval: 500 }).toEqual([expect.objectContaining({ key: parked[1]!.key, attempts: 2 })]);
    const after = JSON.parse((await runCli(['sync', 'status', sf, '--json'], env)).stdout) as SyncStatus;
    expect(after).toMatchObject({ connectionId: sf, tenantId: h.tenantId, parked: 1, state: 'degraded' });

  });

  it('cancels a running backfill', async () => {
    // Seeded only now: records that were already there (no webhooks), for the backfills to copy.
    h.salesforce!.sandbox.admin.seed({ contacts: CONTACTS });
    contacts = h.salesforce!.sandbox.admin.listRecords('Contact').length;
    // No worker: the backfill cannot finish before the cancellation lands.
    await h.killWorker();
    try {
      expect(await runCli(['backfill', 'start', sf, 'contact'], env)).toMatchObject({ code: 0, stdout: `backfill backfill:${h.tenantId}:${sf}:contact started\n` });
      const twice = await runCli(['backfill', 'start', sf, 'contact'], env);
      expect([twice.code, oneLine(twice)]).toEqual([1, `crm-sync: a contact backfill from ${sf} is already running (crm-sync backfill status ${sf} contact --watch)`]);
      expect(await runCli(['backfill', 'cancel', sf, 'contact'], env)).toMatchObject({ code: 0, stdout: `cancellation of backfill:${h.tenantId}:${sf}:contact requested\n` });
    } finally {
      await h.startWorker();
    }
    const handle = h.client.workflow.getHandle(`backfill:${h.tenantId}:${sf}:contact`);
    await expect.poll(async () => (await handle.describe()).status.name, { timeout: 30_000, interval: 300 }).toBe('CANCELLED');
    const [status, again, missing] = await Promise.all([
      runCli(['backfill', 'status', sf, 'contact', '--json'], env),
      runCli(['backfill', 'cancel', sf, 'contact'], env),
      runCli(['backfill', 'status', sf, 'deal'], env),
    ]);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'CANCELLED' });
    expect(oneLine(status)).toMatch(new RegExp(`^crm-sync: backfill backfill:${h.tenantId}:${sf}:contact ended cancelled`));
    expect([again.code, oneLine(again)]).toEqual([1, `crm-sync: backfill backfill:${h.tenantId}:${sf}:contact is not running (cancelled)`]);
    expect([missing.code, oneLine(missing)]).toEqual([3, `crm-sync: no deal backfill from ${sf} (start one: crm-sync backfill start ${sf} deal)`]);
  });

  it('backfill start --watch shows live progress lines and the final count, and the records land in the target', async () => {
    const before = h.hubspot!.sandbox.admin.listRecords('contacts').length;
    const watched = await runCli(['backfill', 'start', sf, 'contact', '--targets', hs, '--watch', '--interval', '0.3'], env);
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`backfill backfill:${h.tenantId}:${sf}:contact started`);
    // Not a terminal: one plain line per sample (no carriage returns), the count never going back.
    // Rates are grouped in thousands ("1,075 rec/s") on a fast machine.
    expect(watched.stdout).not.toContain('\r');
    const samples = lines.slice(1, -1).map((line) => {
      const match = new RegExp(`^contact from ${sf}: (\\w[\\w-]*), (\\d+) records, (- |\\d{1,3}(?:,\\d{3})* )rec/s, elapsed \\d+:\\d\\d$`).exec(line);
      expect(match, line).not.toBeNull();
      return { state: match![1], done: Number(match![2]) };
    });
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.map((sample) => sample.done)).toEqual([...samples.map((sample) => sample.done)].sort((a, b) => a - b));
    expect(samples.at(-1)).toEqual({ state: 'completed', done: contacts });
    expect(lines.at(-1)).toMatch(new RegExp(`^contact from ${sf}: completed after \\d+\\.\\d s, ${contacts} records \\(\\d+ rec/s overall\\)$`));
    expect(h.hubspot!.sandbox.admin.listRecords('contacts').length - before).toBe(contacts);

    const status = await runCli(['backfill', 'status', sf, 'contact'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      new RegExp(`^backfill:${h.tenantId}:${sf}:contact: completed\\n  records read ${contacts} \\(pages \\d+, run \\d+\\); written: ${hs} ${contacts}; failed: 0\\n$`),
    );
  });

  it('draws the progress bar in place on a terminal', async () => {
    // `script` gives the CLI a pseudo-terminal, as an operator's shell would.
    const command = `script -qec '${CLI} backfill status ${sf} contact --watch' /dev/null`;
    const onTty = await runCli([], env, { command });
    expect(onTty.code).toBe(0);
    expect(onTty.stdout).toContain('\r\x1b[K');
    expect(onTty.stdout).toMatch(new RegExp(`contact from ${sf} \\[[ <=>]{24}\\] ${contacts.toLocaleString('en-US')} records  - rec/s  elapsed 0:0\\d  completed`));
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { parkedRecordsQuery, retryParkedUpdate } from '../../src/workflows/messages';
import { cliEnvironment, runCli } from '../cli/support';
import { hubspotLeadSource, salesforceLeadSource } from '../support/lead-source-mapping';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #17, self-healing: parked records come back without anyone asking. A target that fails
 * transiently (Salesforce answering UNABLE_TO_LOCK_ROW while another transaction holds the rows)
 * parks records, some beyond the in-state window in PostgreSQL; the workflow retries them on its
 * own growing timer (shortened here through the `selfHealing` settings: seconds instead of hours)
 * and they land once the locks are released. A record refused by the target's mapping waits
 * until `crm-sync mapping set` changes that mapping, then lands. No test step retries anything,
 * and nothing is asserted on elapsed time: only on what the CRMs and the workflow hold.
 */

const WINDOW = 3;
const within = { timeout: 120_000, interval: 500 };


describe('self-healing parked records', { timeout: 300_000 }, () => {
  const key = randomBytes(32);
  let h: SyncHarness;
  let env: NodeJS.ProcessEnv;
  const sync = { objects: ['contact' as const], pollIntervalMs: 3_600_000, debounceMs: 50, batchSize: 10, selfHealing: { firstRetryMs: 1000, maxRetryMs: 4000 } };

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync, encryptionKey: { id: 'k1', key } });
    env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` });
    h.hubspot!.sandbox.admin.defineProperty('contacts', 'lead_source', 'string');
    await setMapping(h.hubspot!.id, hubspotLeadSource({ web: 'web' }));
  });
  const setMapping = async (id: string, mappingOverride: unknown) => {
    const connection = await h.connectionsRepository.getConnection(id);
    await h.connectionsRepository.updateSettings(id, { ...connection!.settings, sync, mappingOverride });
  };
  afterAll(async () => h?.stop());

  /** Parked records of a connection: in its workflow's state and in PostgreSQL, with their attempts. */
  const parked = async (connectionId: string) => {
    const inState = await h.client.workflow.getHandle(h.syncWorkflowId(connectionId)).query(parkedRecordsQuery);
    const inStore = (await h.db.pool.query<{ key: string; attempts: number; error: { errorClass: string } }>('SELECT key, attempts, error FROM parked_records WHERE connection_id = $1', [connectionId])).rows;
    return [...inState.map((record) => ({ key: record.key, attempts: record.attempts, errorClass: record.error.errorClass, message: record.error.message, where: 'state' })), ...inStore.map((row) => ({ key: row.key, attempts: row.attempts, errorClass: row.error.errorClass, where: 'store' }))];
  };

  it('retries transiently failed records on its own timer until the target heals, in state and in PostgreSQL', async () => {
    const hs = h.hubspot!;
    const sf = h.salesforce!;
    const RECORDS = 8;
    for (let i = 0; i < RECORDS; i += 1) hs.sandbox.admin.createAsUser('contacts', { firstname: 'Locked', lastname: `Out ${i}`, email: `locked${i}@heal.example` });
    // Another transaction holds Salesforce's contact rows: every write of one fails on its own.
    sf.sandbox.admin.holdRowLocks('Contact', true);
    await h.notify(hs.id, { events: [] }, { parkedWindow: WINDOW });
    await expect.poll(async () => (await h.syncStatus(hs.id)).parked, within).toBe(RECORDS);
    await expect.poll(async () => (await parked(hs.id)).filter((record) => record.where === 'store').length, within).toBe(RECORDS - WINDOW);
    const firstParked = await parked(hs.id);
    expect(firstParked.filter((record) => record.errorClass !== 'transient'), JSON.stringify(firstParked)).toEqual([]);

    // Still locked: the workflow tries them all again by itself, those in state and those in PostgreSQL.
    await expect.poll(async () => (await parked(hs.id)).filter((record) => record.attempts >= 3).length, within).toBe(RECORDS);
    expect(sf.sandbox.admin.listRecords('Contact').filter((record) => String(record.Email).endsWith('@heal.example'))).toHaveLength(0);

    // The locks are released; nobody retries anything: the next automatic retry lands them all.
    sf.sandbox.admin.holdRowLocks('Contact', false);
    await expect.poll(() => sf.sandbox.admin.listRecords('Contact').filter((record) => String(record.Email).endsWith('@heal.example')).length, within).toBe(RECORDS);
    await expect.poll(async () => (await h.syncStatus(hs.id)).parked, within).toBe(0);
    expect(await parked(hs.id)).toEqual([]);
    expect(new Set(sf.sandbox.admin.listRecords('Contact').map((record) => record.Email)).size).toBe(sf.sandbox.admin.listRecords('Contact').length);

    // The automatic retries were the workflow's own timers, not updates from outside.
    const history = await h.client.workflow.getHandle(h.syncWorkflowId(hs.id)).fetchHistory();
    const updates = (history.events ?? []).filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === retryParkedUpdate.name);
    expect(updates).toHaveLength(0);
    if (process.env.RECORD_HISTORIES === '1') {
      const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product', 'connection-sync-self-healing.json');
      await writeFile(file, historyToJSON(await decodeHistoryPayloads(history, h.payloadCodec)));
    }
  });

  it('retries records the target refused once its mapping changes (crm-sync mapping set)', async () => {
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    const RECORDS = 6;
    const ids = Array.from({ length: RECORDS }, (_, i) => String(sf.sandbox.admin.createAsUser('Contact', { LastName: `Caller ${i}`, Email: `caller${i}@mapping.example`, Lead_Source__c: 'Phone Inquiry' }).Id));
    // Only from here does Salesforce's mapping name the custom field: the first test wrote contacts without it.
    await setMapping(sf.id, salesforceLeadSource);
    await h.notify(sf.id, { events: ids.map((externalId) => ({ objectType: 'contact', externalId, eventId: `created-${externalId}` })) }, { parkedWindow: WINDOW });
    await expect.poll(async () => (await parked(sf.id)).filter((record) => record.errorClass === 'validation').length, within).toBe(RECORDS);
    expect((await parked(sf.id)).filter((record) => record.where === 'store')).toHaveLength(RECORDS - WINDOW);
    const landed = () => hs.sandbox.admin.listRecords('contacts').filter((record) => String(record.properties.email).endsWith('@mapping.example')).length;
    expect(landed()).toBe(0);

    const dir = await mkdtemp(path.join(tmpdir(), 'mapping-'));
    const file = path.join(dir, 'hubspot.json');
    await writeFile(file, JSON.stringify(hubspotLeadSource({ web: 'web', phone: 'phone' })));
    const set = await runCli(['mapping', 'set', hs.id, file], env);
    expect(set).toMatchObject({ code: 0, stderr: '' });
    await expect.poll(landed, within).toBe(RECORDS);
    await expect.poll(async () => (await h.syncStatus(sf.id)).parked, within).toBe(0);
    expect(await parked(sf.id)).toEqual([]);
  });
});

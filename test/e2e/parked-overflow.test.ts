import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import type { ParkedRecord } from '../../src/workflows/connection-sync-state';
import { cliEnvironment, runCli } from '../cli/support';
import { hubspotLeadSource, salesforceLeadSource } from '../support/lead-source-mapping';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #17, acceptance 3 at CI scale: a target refusing every write parks every record; beyond
 * the in-state window (lowered to 5 here, 200 in production) they go to PostgreSQL, the workflow
 * continues as new with an input that does not grow with the backlog, and the CLI lists and
 * retries them all with nothing lost. The 50,000-record run is bench/parked-overflow.bench.ts.
 */

const RECORDS = 60;
const WINDOW = 5;
const { EventType } = proto.temporal.api.enums.v1;
const within = { timeout: 120_000, interval: 500 };


describe('parked records beyond the window', { timeout: 300_000 }, () => {
  const key = randomBytes(32);
  let h: SyncHarness;
  let env: NodeJS.ProcessEnv;
  const sync = { objects: ['contact' as const], pollIntervalMs: 3_600_000, debounceMs: 50, batchSize: 10 };

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync, encryptionKey: { id: 'k1', key } });
    env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` });
    h.hubspot!.sandbox.admin.defineProperty('contacts', 'lead_source', 'string');
    for (const [id, mappingOverride] of [
      [h.salesforce!.id, salesforceLeadSource],
      [h.hubspot!.id, hubspotLeadSource({ web: 'web' })],
    ] as const) {
      const connection = await h.connectionsRepository.getConnection(id);
      await h.connectionsRepository.updateSettings(id, { ...connection!.settings, sync, mappingOverride });
    }
  });
  afterAll(async () => h?.stop());

  const parkedRows = async () => Number((await h.db.pool.query<{ count: string }>('SELECT count(*) FROM parked_records WHERE connection_id = $1', [h.salesforce!.id])).rows[0]?.count);

  it('keeps a few in state, the rest in PostgreSQL; continues as new with a small input; the CLI lists and retries them all', async () => {
    const sf = h.salesforce!;
    const ids = Array.from({ length: RECORDS }, (_, i) => String(sf.sandbox.admin.createAsUser('Contact', { LastName: `Caller ${i}`, Email: `caller${i}@overflow.example`, Lead_Source__c: 'Phone Inquiry' }).Id));
    await h.notify(sf.id, { events: [] }, { continueAsNewAfterEvents: 60, parkedWindow: WINDOW });
    // The first poll finds them all; every write is refused (HubSpot's mapping lacks "phone").
    await expect.poll(async () => (await h.syncStatus(sf.id)).parked, within).toBe(RECORDS);
    // Notices for them all again: each batch fails again, and the run continues as new meanwhile.
    for (let i = 0; i < RECORDS; i += 10) {
      await h.notify(sf.id, { events: ids.slice(i, i + 10).map((externalId) => ({ objectType: 'contact', externalId, eventId: `again-${externalId}` })) });
    }
    await expect.poll(async () => (await h.syncStatus(sf.id)).pending, within).toBe(0);
    const status = await h.syncStatus(sf.id);
    expect(status).toMatchObject({ parked: RECORDS, parkedInStore: RECORDS - WINDOW, state: 'degraded' });
    expect(await parkedRows()).toBe(RECORDS - WINDOW);

    const listed = await runCli(['parked', 'list', sf.id, '--json'], env);
    expect(listed.code).toBe(0);
    const parked = JSON.parse(listed.stdout) as ParkedRecord[];
    expect(parked.map((record) => record.sourceExternalId).sort()).toEqual([...ids].sort());
    expect(parked.every((record) => record.targetConnectionId === h.hubspot!.id && record.error.errorClass === 'validation')).toBe(true);

    // Retried while still refused: every record is tried again, none lost, none listed twice. (Each
    // new run's first poll also reads the recent records again, so attempts only grow.)
    const attemptsBefore = new Map(parked.map((record) => [record.key, record.attempts]));
    const retried = await runCli(['parked', 'retry', sf.id], env);
    expect(retried.stdout).toBe(`${RECORDS} parked records re-queued\n`);
    const triedAgain = async () => {
      const now = JSON.parse((await runCli(['parked', 'list', sf.id, '--json'], env)).stdout) as ParkedRecord[];
      return { listed: now.length, keys: new Set(now.map((record) => record.key)).size, notYet: now.filter((record) => record.attempts <= (attemptsBefore.get(record.key) ?? 0)).length };
    };
    await expect.poll(triedAgain, within).toEqual({ listed: RECORDS, keys: RECORDS, notYet: 0 });

    // Every run handed over a small input: the window and counters, never the backlog.
    const runs: string[] = [];
    for await (const execution of h.client.workflow.list({ query: `WorkflowId = "${h.syncWorkflowId(sf.id)}"` })) runs.push(execution.runId);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const runId of runs) {
      const history = await h.client.workflow.getHandle(h.syncWorkflowId(sf.id), runId).fetchHistory();
      const started = history.events?.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
      const [payload] = started?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      expect(payload?.data?.length ?? 0).toBeLessThan(64 * 1024);
      const [decoded] = await h.payloadCodec.decode([payload!]);
      const input = JSON.parse(Buffer.from(decoded!.data!).toString()) as { carried?: { parked: unknown[] } };
      expect(input.carried?.parked.length ?? 0).toBeLessThanOrEqual(WINDOW);
    }

    // The target's mapping is fixed; the operator retries them all.
    const hs = await h.connectionsRepository.getConnection(h.hubspot!.id);
    await h.connectionsRepository.updateSettings(h.hubspot!.id, { ...hs!.settings, mappingOverride: hubspotLeadSource({ web: 'web', phone: 'phone' }) });
    expect((await runCli(['parked', 'retry', sf.id], env)).code).toBe(0);
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').length, within).toBe(RECORDS);
    await expect.poll(async () => (await h.syncStatus(sf.id)).parked, within).toBe(0);
    expect(await parkedRows()).toBe(0);
    expect(new Set(h.hubspot!.sandbox.admin.listRecords('contacts').map((record) => record.properties.email)).size).toBe(RECORDS);
    expect((await h.syncStatus(sf.id)).state).toBe('running');
    if (process.env.RECORD_HISTORIES === '1') {
      // A run that wrote overflowed records to PostgreSQL and read them back for a retry.
      for (const runId of runs) {
        const history = await h.client.workflow.getHandle(h.syncWorkflowId(sf.id), runId).fetchHistory();
        const activities = new Set((history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name));
        if (!activities.has('flushParkedRecords') || !activities.has('parkedRecordsPage')) continue;
        const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product', 'connection-sync-parked-overflow.json');
        await writeFile(file, historyToJSON(await decodeHistoryPayloads(history, h.payloadCodec)));
        break;
      }
    }
  });
});

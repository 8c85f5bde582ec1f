import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedRecordsQuery, retryParkedUpdate, startBackfillUpdate, type ChangeNotices } from '../../src/workflows/messages';
import type { backfill } from '../../src/workflows/backfill';
import { startSyncHarness, type SyncHarness, type SyncHarnessOptions } from '../support/sync-harness';

/** Engine behaviour beyond the happy path, on the real dev server against the sandboxes. */

function helpers(h: SyncHarness) {
  const start = (connectionId: string, notices: ChangeNotices = { events: [] }, continueAsNewAfterEvents?: number): Promise<void> =>
    h.notify(connectionId, notices, { continueAsNewAfterEvents });
  const handle = (connectionId: string) => h.client.workflow.getHandle(h.syncWorkflowId(connectionId));
  return { start, handle, status: (connectionId: string) => h.syncStatus(connectionId) };
}

async function harness(options: Partial<SyncHarnessOptions>): Promise<SyncHarness> {
  return startSyncHarness({ crms: ['salesforce', 'hubspot'], ...options });
}

describe('polling as the safety net', () => {
  let h: SyncHarness;
  const pollIntervalMs = 2000;
  beforeAll(async () => {
    h = await harness({ sync: { objects: ['contact'], pollIntervalMs, debounceMs: 50 } });
  });
  afterAll(async () => h?.stop());

  it('converges within one poll interval with no webhook at all', async () => {
    const { start } = helpers(h);
    await start(h.salesforce!.id);
    await start(h.hubspot!.id);
    h.salesforce!.sandbox.admin.createAsUser('Contact', { LastName: 'Hopper', Email: 'grace@navy.example' });
    h.hubspot!.sandbox.admin.createAsUser('contacts', { lastname: 'Turing', email: 'alan@bletchley.example' });
    // One interval plus the time a poll and a write take on a loaded 2-core machine.
    const within = { timeout: pollIntervalMs + 8000, interval: 200 };
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').map((r) => r.properties.email).sort(), within).toEqual(['alan@bletchley.example', 'grace@navy.example']);
    await expect.poll(() => h.salesforce!.sandbox.admin.listRecords('Contact').map((r) => r.Email).sort(), within).toEqual(['alan@bletchley.example', 'grace@navy.example']);
  });
});

describe('at-least-once webhooks', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await harness({ sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 300 } });
  });
  afterAll(async () => h?.stop());

  it('applies duplicated and reordered notices as one write per changed record', async () => {
    const { start, status } = helpers(h);
    await start(h.salesforce!.id); // its first poll finds nothing yet
    await expect.poll(async () => (await status(h.salesforce!.id)).watermarks.contact !== undefined, { timeout: 15_000 }).toBe(true);
    const ids = ['Babbage', 'Noether', 'Curie', 'Meitner', 'Franklin'].map((name, i) =>
      String(h.salesforce!.sandbox.admin.createAsUser('Contact', { LastName: name, Email: `${name.toLowerCase()}@science.example`, Title: `v${i}` }).Id),
    );
    const before = h.hubspot!.sandbox.counters.snapshot().recordWrites.contacts ?? 0;
    // Each notice twice, newest first, one of them from an older modification.
    const events = ids.flatMap((externalId, i) => [
      { objectType: 'contact' as const, externalId, eventId: `e-${i}` },
      { objectType: 'contact' as const, externalId, eventId: `e-${i}`, modifiedAt: '2020-01-01T00:00:00.000Z' },
    ]).reverse();
    await start(h.salesforce!.id, { events: events.slice(0, 5) });
    await start(h.salesforce!.id, { events: events.slice(5) });
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').length, { timeout: 30_000, interval: 200 }).toBe(5);
    await expect.poll(async () => (await status(h.salesforce!.id)).stats.duplicatesDropped, { timeout: 10_000 }).toBe(5);
    expect((h.hubspot!.sandbox.counters.snapshot().recordWrites.contacts ?? 0) - before).toBe(5);
    // The workflow counts an apply once its result is back, which on a busy machine can come well
    // after the vendor holds the records.
    await expect.poll(async () => (await status(h.salesforce!.id)).stats.synced, { timeout: 30_000, interval: 200 }).toBe(5);
    expect((h.hubspot!.sandbox.counters.snapshot().recordWrites.contacts ?? 0) - before).toBe(5);
  });
});

describe('parked records and continue-as-new', () => {
  let h: SyncHarness;
  const sourceOverride = { objects: { contact: { fields: [{ canonical: 'custom.source', native: 'Lead_Source__c', type: 'picklist', values: { Web: 'web', 'Phone Inquiry': 'phone' } }] } } };
  const targetOverride = (values: Record<string, string>) => ({ objects: { contact: { fields: [{ canonical: 'custom.source', native: 'lead_source', type: 'picklist', values }] } } });

  beforeAll(async () => {
    h = await harness({ sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    h.hubspot!.sandbox.admin.defineProperty('contacts', 'lead_source', 'string');
    const sync = { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 };
    const sf = await h.connectionsRepository.getConnection(h.salesforce!.id);
    await h.connectionsRepository.updateSettings(h.salesforce!.id, { ...sf!.settings, sync, mappingOverride: sourceOverride });
    const hs = await h.connectionsRepository.getConnection(h.hubspot!.id);
    await h.connectionsRepository.updateSettings(h.hubspot!.id, { ...hs!.settings, sync, mappingOverride: targetOverride({ web: 'web' }) });
  });
  afterAll(async () => h?.stop());

  it('parks the record the target cannot take, applies the rest, and applies it after the mapping is fixed', async () => {
    const { start, status, handle } = helpers(h);
    const sf = h.salesforce!;
    const records = [
      sf.sandbox.admin.createAsUser('Contact', { LastName: 'Web One', Email: 'one@web.example', Lead_Source__c: 'Web' }),
      sf.sandbox.admin.createAsUser('Contact', { LastName: 'Caller', Email: 'caller@phone.example', Lead_Source__c: 'Phone Inquiry' }),
      sf.sandbox.admin.createAsUser('Contact', { LastName: 'Web Two', Email: 'two@web.example', Lead_Source__c: 'Web' }),
    ];
    const caller = String(records[1]!.Id);
    await start(sf.id, { events: records.map((record, i) => ({ objectType: 'contact', externalId: String(record.Id), eventId: `p-${i}` })) }, 60);

    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').map((r) => r.properties.email).sort(), { timeout: 30_000, interval: 200 }).toEqual(['one@web.example', 'two@web.example']);
    await expect.poll(async () => (await handle(sf.id).query(parkedRecordsQuery)).length, { timeout: 10_000 }).toBe(1);
    const [parked] = await handle(sf.id).query(parkedRecordsQuery);
    expect(parked).toMatchObject({ sourceExternalId: caller, targetConnectionId: h.hubspot!.id, reason: 'failed', error: { errorClass: 'validation' } });
    expect(parked!.error.message).toContain('phone');
    expect((await status(sf.id)).state).toBe('degraded');

    // The operator fixes the target's mapping, then retries what was parked.
    const hs = await h.connectionsRepository.getConnection(h.hubspot!.id);
    await h.connectionsRepository.updateSettings(h.hubspot!.id, { ...hs!.settings, mappingOverride: targetOverride({ web: 'web', phone: 'phone' }) });
    await expect(handle(sf.id).executeUpdate(retryParkedUpdate, { args: [{}] })).resolves.toBe(1);
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').find((r) => r.properties.email === 'caller@phone.example')?.properties.lead_source, { timeout: 30_000, interval: 200 }).toBe('phone');
    await expect.poll(async () => (await status(sf.id)).parked, { timeout: 10_000 }).toBe(0);
    expect((await status(sf.id)).state).toBe('running');
  });

  it('carries watermark, seen event ids and parked records across continue-as-new', async () => {
    const { start, status, handle } = helpers(h);
    const sf = h.salesforce!;
    // A record Salesforce's own mapping cannot read (an unknown picklist value) is parked against
    // Salesforce itself; the connection keeps running. Then history is pushed past the threshold.
    const odd = sf.sandbox.admin.createAsUser('Contact', { LastName: 'Odd', Email: 'odd@web.example', Lead_Source__c: 'Trade Show' });
    await start(sf.id, { events: [{ objectType: 'contact', externalId: String(odd.Id), eventId: 'can-odd' }] });
    await expect.poll(async () => (await status(sf.id)).parked, { timeout: 30_000 }).toBe(1);
    expect((await handle(sf.id).query(parkedRecordsQuery))[0]).toMatchObject({ targetConnectionId: sf.id, error: { errorClass: 'validation' } });
    const firstRun = (await handle(sf.id).describe()).runId;
    const before = await status(sf.id);

    for (let i = 0; i < 8 && (await handle(sf.id).describe()).runId === firstRun; i += 1) {
      const extra = sf.sandbox.admin.createAsUser('Contact', { LastName: `Filler ${i}`, Email: `filler${i}@web.example`, Lead_Source__c: 'Web' });
      await start(sf.id, { events: [{ objectType: 'contact', externalId: String(extra.Id), eventId: `can-${i}` }] });
      await expect.poll(async () => (await status(sf.id)).stats.synced, { timeout: 30_000 }).toBeGreaterThan(before.stats.synced + i);
    }
    await expect.poll(async () => (await handle(sf.id).describe()).runId, { timeout: 30_000 }).not.toBe(firstRun);

    const after = await status(sf.id);
    expect(after.parked).toBe(1);
    expect(after.stats.synced).toBeGreaterThan(before.stats.synced);
    expect(after.watermarks).toEqual(before.watermarks);
    const [parked] = await handle(sf.id).query(parkedRecordsQuery);
    expect(parked?.sourceExternalId).toBe(String(odd.Id));
    // An event id from the first run is still recognised as a redelivery.
    const dropped = after.stats.duplicatesDropped;
    await start(sf.id, { events: [{ objectType: 'contact', externalId: String(odd.Id), eventId: 'can-odd' }] });
    await expect.poll(async () => (await status(sf.id)).stats.duplicatesDropped, { timeout: 10_000 }).toBe(dropped + 1);

    if (process.env.RECORD_HISTORIES === '1') {
      // The first run: signals, reads, applies, parking, the retryParked update, continue-as-new.
      const history = await h.client.workflow.getHandle(h.syncWorkflowId(sf.id), firstRun).fetchHistory();
      await writeFile(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product', 'connection-sync-first-run.json'), historyToJSON(await decodeHistoryPayloads(history, h.payloadCodec)));
    }
  });
});

describe('backfill started from the connection workflow', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await harness({ sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 50 } });
  });
  afterAll(async () => h?.stop());

  it('runs as a child of the connection, and rejects a request naming an unknown object type', async () => {
    const { start, handle } = helpers(h);
    const sf = h.salesforce!;
    sf.sandbox.admin.seed({ contacts: 40 });
    await start(sf.id);
    const started = await handle(sf.id).executeUpdate(startBackfillUpdate, { args: [{ objectType: 'contact' }] });
    expect(started).toEqual({ workflowId: `backfill:${h.tenantId}:${sf.id}:contact`, alreadyRunning: false });

    const child = h.client.workflow.getHandle<typeof backfill>(started.workflowId);
    const progress = await child.result();
    expect(progress).toMatchObject({ state: 'completed' });
    expect(h.hubspot!.sandbox.admin.listRecords('contacts')).toHaveLength(40);
    expect((await child.describe()).raw.workflowExecutionInfo?.parentExecution?.workflowId).toBe(h.syncWorkflowId(sf.id));

    // Refused by the update's validator: nothing is started, and the caller reads why.
    const rejection: unknown = await handle(sf.id).executeUpdate(startBackfillUpdate, { args: [{ objectType: 'lead' as never }] }).catch((error: unknown) => error);
    expect((rejection as { cause?: Error }).cause?.message).toMatch(/^startBackfill: objectType: Invalid option/);
  });
});

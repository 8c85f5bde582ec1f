import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributes } from '../../src/temporal/search-attributes';
import { expectChangeLogRow, recordChangeLogHistories } from '../support/change-log';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/** Changes made while the shim is down (500 as issue #16 asks; HUBSPOT_JOURNAL_CHANGES for fewer on a slow machine). */
const OFFLINE_CHANGES = Number(process.env.HUBSPOT_JOURNAL_CHANGES ?? 500);

/** The HubSpot connection reads its journal: with the public app's client-credentials token (the CRM with the private app's). */
async function chooseJournal(h: SyncHarness): Promise<void> {
  const hs = h.hubspot!;
  const credentials = await h.connectionsRepository.loadCredentials(hs.id);
  await h.connectionsRepository.replaceCredentials(hs.id, { ...credentials, journalApp: { clientId: hs.sandbox.credentials.clientId, clientSecret: hs.sandbox.credentials.clientSecret } });
  await h.connectionsRepository.updateSettings(hs.id, {
    basePath: hs.sandbox.url,
    journal: { portalId: hs.sandbox.portalId },
    sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100, changeEvents: 'journal' },
  });
}

/**
 * HubSpot heard through its webhooks journal only (issue #16): no v3 push reaches a shim (none
 * runs) and the poll comes once an hour, so every HubSpot change below arrives through the journal,
 * read from the offset the connection workflow keeps. Salesforce's side is driven by its notices.
 */
describe('HubSpot webhooks journal, end to end', () => {
  const key = randomBytes(32);
  let h: SyncHarness;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let sf: NonNullable<SyncHarness['salesforce']>;
  /** The HubSpot portal's clock, moved past the journal's retention by the last test. */
  let portalClockOffsetMs = 0;
  const status = (id: string) => h.syncStatus(id);
  const salesforceContacts = (prefix: string) => sf.sandbox.admin.listRecords('Contact').filter((record) => String(record.Email ?? '').startsWith(prefix));
  /** The run that starts reading the journal: its history is recorded for product-replay.test.ts. */
  let firstRunId: string | undefined;

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['hubspot', 'salesforce'],
      encryptionKey: { id: 'k1', key },
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 },
      hubspot: { now: () => Date.now() + portalClockOffsetMs },
      salesforce: { tokenLifetimeMs: 30 * 24 * 60 * 60_000 },
    });
    hs = h.hubspot!;
    sf = h.salesforce!;
    await chooseJournal(h);
    // A short first run: the offset must survive continue-as-new.
    await h.notify(hs.id, { events: [] }, { continueAsNewAfterEvents: 120 });
    await h.notify(sf.id, { events: [] });
    firstRunId = (await h.client.workflow.getHandle(h.syncWorkflowId(hs.id)).describe()).runId;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('subscribes through the v4 subscription API, takes the journal position, then polls once', async () => {
    for (const id of [hs.id, sf.id]) await expect.poll(async () => (await status(id)).watermarks.contact !== undefined, { timeout: 60_000, interval: 250 }).toBe(true);
    await expect.poll(async () => (await status(hs.id)).changeEvents?.replayId ?? null, { timeout: 60_000, interval: 250 }).not.toBeNull();
    expect((await status(hs.id)).changeEvents?.lastFallback).toBeNull();
    const subscriptions = hs.sandbox.journal.listSubscriptions(Number(hs.sandbox.credentials.publicAppId));
    expect(subscriptions).toEqual([expect.objectContaining({ subscriptionType: 'OBJECT', objectTypeId: '0-1', portalId: hs.sandbox.portalId, actions: expect.arrayContaining(['CREATE', 'UPDATE', 'DELETE']) as unknown })]);
    expect(subscriptions[0]?.properties).toEqual(expect.arrayContaining(['email', 'firstname', 'lastname']));
  });

  it('carries a HubSpot edit to Salesforce once, and the journal entry of our own write back writes nothing', async () => {
    const salesforceWrites = recordWrites(sf.sandbox, 'Contact');
    const person = hs.sandbox.admin.createAsUser('contacts', { firstname: 'Grace', lastname: 'Hopper', email: 'grace@journal.example' });
    await expect.poll(() => salesforceContacts('grace@journal.example')[0]?.LastName ?? null, { timeout: 60_000, interval: 250 }).toBe('Hopper');
    expect(recordWrites(sf.sandbox, 'Contact') - salesforceWrites).toBe(1);

    // Salesforce -> HubSpot: our API write lands in HubSpot's journal and comes back as an echo.
    const hubspotWrites = recordWrites(hs.sandbox, 'contacts');
    const before = await status(hs.id);
    const salesforceId = String(salesforceContacts('grace@journal.example')[0]?.Id);
    sf.sandbox.admin.editAsUser('Contact', salesforceId, { Title: 'Rear Admiral' });
    await h.notify(sf.id, { events: [{ objectType: 'contact', externalId: salesforceId, eventId: 'sf-journal-1' }] });
    await expect.poll(() => hs.sandbox.admin.getRecord('contacts', person.id)?.properties.jobtitle ?? null, { timeout: 60_000, interval: 250 }).toBe('Rear Admiral');
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWrites).toBe(1);
    const salesforceAfter = recordWrites(sf.sandbox, 'Contact');
    await expect.poll(async () => (await status(hs.id)).stats.echoes, { timeout: 60_000, interval: 250 }).toBeGreaterThan(before.stats.echoes);
    expect((await status(hs.id)).changeEvents?.received).toBeGreaterThan(before.changeEvents?.received ?? 0);
    expect(recordWrites(sf.sandbox, 'Contact')).toBe(salesforceAfter);
  });

  it(`applies ${OFFLINE_CHANGES} HubSpot changes made while no push could arrive and the worker was down, each once, from the stored offset`, async () => {
    const before = await status(hs.id);
    const salesforceWrites = recordWrites(sf.sandbox, 'Contact');
    await h.killWorker();
    // No shim runs: HubSpot's v3 pushes have nowhere to go; only the journal keeps these.
    expect(hs.sandbox.webhooks.target()).toBeUndefined();
    for (let i = 0; i < OFFLINE_CHANGES; i += 1) hs.sandbox.admin.createAsUser('contacts', { lastname: `Offline ${i}`, email: `offline-${i}@journal.example` });
    await h.startWorker();
    await expect.poll(() => salesforceContacts('offline-').length, { timeout: 300_000, interval: 500 }).toBe(OFFLINE_CHANGES);
    await expect.poll(async () => ((await status(hs.id)).changeEvents?.received ?? 0) - (before.changeEvents?.received ?? 0), { timeout: 120_000, interval: 500 }).toBeGreaterThanOrEqual(OFFLINE_CHANGES);
    // The writes land during the apply activities; the workflow counts them when each returns.
    await expect.poll(async () => (await status(hs.id)).stats.synced - before.stats.synced, { timeout: 120_000, interval: 500 }).toBeGreaterThanOrEqual(OFFLINE_CHANGES);
    const after = await status(hs.id);
    expect(recordWrites(sf.sandbox, 'Contact') - salesforceWrites).toBe(OFFLINE_CHANGES);
    expect(after.stats.synced - before.stats.synced).toBe(OFFLINE_CHANGES);
    expect(after.parked).toBe(0);
    // Read from the journal, not found by a poll: the hourly poll has not come round again.
    expect(after.changeEvents?.lastFallback).toBeNull();
  });

  it('falls back to a poll from the watermark when the offset is past the 3-day retention, and shows it', async () => {
    const person = hs.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === 'grace@journal.example')!;
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(hs.id));
    const polledBefore = (await handle.describe()).typedSearchAttributes.get(searchAttributes.LastPolledAt)?.toISOString();
    await h.killWorker();
    hs.sandbox.admin.changeAsUser('contacts', person.id, { company: 'Navy' });
    // Three days and a bit later the journal no longer has the offset the workflow kept.
    portalClockOffsetMs += 73 * 60 * 60_000;
    hs.sandbox.admin.changeAsUser('contacts', person.id, { jobtitle: 'Commodore' });
    await h.startWorker();
    await expect.poll(() => salesforceContacts('grace@journal.example')[0]?.Title ?? null, { timeout: 60_000, interval: 250 }).toBe('Commodore');
    await expect.poll(async () => (await status(hs.id)).changeEvents?.lastFallback?.reason ?? '', { timeout: 60_000, interval: 250 }).toMatch(/journal offset \S+ refused/);
    const after = await status(hs.id);
    expect(after.state).toBe('running');
    // The fallback shows in the ChangeLogFallbackAt search attribute, its poll in LastPolledAt, and `crm-sync sync status` names the fallback and why.
    await expect.poll(async () => (await handle.describe()).typedSearchAttributes.get(searchAttributes.LastPolledAt)?.toISOString(), { timeout: 60_000, interval: 250 }).not.toBe(polledBefore);
    await expect.poll(async () => (await handle.describe()).typedSearchAttributes.get(searchAttributes.ChangeLogFallbackAt)?.toISOString(), { timeout: 60_000, interval: 250 }).toBe(new Date(after.changeEvents!.lastFallback!.at).toISOString());
    await expectChangeLogRow(h, hs.id, key, /change log\s+\d+ events read, replay id \S+; last fell back to a poll at \S+: change log position refused: journal offset \S+ refused: .*expired/);

    // The first run (continued as new every 120 events, its position carried) and the run that fell back.
    await recordChangeLogHistories(h, hs.id, firstRunId, 'connection-sync-journal');
  });
});

describe('HubSpot pushes and journal both (the shim running, journal chosen)', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['hubspot', 'salesforce'], shim: true, sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    await chooseJournal(h);
    for (const id of [h.hubspot!.id, h.salesforce!.id]) await h.notify(id, { events: [] });
  });
  afterAll(() => h?.stop());

  it('hears a change from both channels and writes it once', { timeout: 180_000 }, async () => {
    const hs = h.hubspot!;
    const sf = h.salesforce!;
    await expect.poll(async () => (await h.syncStatus(hs.id)).changeEvents?.replayId ?? null, { timeout: 60_000, interval: 250 }).not.toBeNull();
    await expect.poll(async () => (await h.syncStatus(hs.id)).watermarks.contact !== undefined, { timeout: 60_000, interval: 250 }).toBe(true);

    const salesforceWrites = recordWrites(sf.sandbox, 'Contact');
    const delivered = hs.sandbox.counters.snapshot().webhooks.delivered;
    const received = (await h.syncStatus(hs.id)).changeEvents?.received ?? 0;
    hs.sandbox.admin.createAsUser('contacts', { firstname: 'Katherine', lastname: 'Johnson', email: 'katherine@both.example' });
    const inSalesforce = () => sf.sandbox.admin.listRecords('Contact').filter((record) => record.Email === 'katherine@both.example');
    await expect.poll(() => inSalesforce().length, { timeout: 60_000, interval: 250 }).toBe(1);
    // Both channels told the workflow: the shim took HubSpot's v3 push, and the journal was read.
    await expect.poll(() => hs.sandbox.counters.snapshot().webhooks.delivered, { timeout: 60_000, interval: 250 }).toBeGreaterThan(delivered);
    await expect.poll(async () => (await h.syncStatus(hs.id)).changeEvents?.received ?? 0, { timeout: 60_000, interval: 250 }).toBeGreaterThan(received);
    await expect.poll(async () => (await h.syncStatus(hs.id)).pending, { timeout: 60_000, interval: 250 }).toBe(0);
    expect(recordWrites(sf.sandbox, 'Contact') - salesforceWrites).toBe(1);
    expect(inSalesforce()).toHaveLength(1);
  });
});

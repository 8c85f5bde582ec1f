import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeNotices } from '../../src/workflows/messages';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * The connection workflows on the real dev server, driving the real connectors against the
 * Salesforce and HubSpot sandboxes. The test plays the webhook shim's part (signalWithStart with
 * change notices) until the shim lands.
 */
describe('live sync between Salesforce and HubSpot', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;

  const notify = (connectionId: string, notices: ChangeNotices): Promise<void> => h.notify(connectionId, notices);
  const status = (connectionId: string) => h.syncStatus(connectionId);

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    sf = h.salesforce!;
    hs = h.hubspot!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('carries a Salesforce change to HubSpot with one write, and stops the echo', async () => {
    // Both workflows first-poll before anything exists: a first poll still under way on a busy
    // machine would read the contact once more (an echo) whenever it lands, and the counts below
    // are exact.
    for (const id of [sf.id, hs.id]) await notify(id, { events: [] });
    for (const id of [sf.id, hs.id]) await expect.poll(async () => (await status(id)).watermarks.contact !== undefined, { timeout: 60_000, interval: 250 }).toBe(true);
    const created = sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@analytical.example' });
    const contactId = String(created.Id);
    const hubspotWritesBefore = recordWrites(hs.sandbox, 'contacts');

    await notify(sf.id, { events: [{ objectType: 'contact', externalId: contactId, eventId: 'sf-evt-1' }] });
    await expect
      .poll(() => hs.sandbox.admin.listRecords('contacts').map((record) => record.properties), { timeout: 30_000, interval: 250 })
      .toEqual([expect.objectContaining({ firstname: 'Ada', lastname: 'Lovelace', email: 'ada@analytical.example' })]);
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWritesBefore).toBe(1);

    // HubSpot's webhook for our own write comes back: it must write nothing to Salesforce.
    const [hubspotContact] = hs.sandbox.admin.listRecords('contacts');
    const salesforceWritesBefore = recordWrites(sf.sandbox, 'Contact');
    await notify(hs.id, { events: [{ objectType: 'contact', externalId: hubspotContact!.id, eventId: 'hs-evt-1' }] });
    await expect.poll(async () => (await status(hs.id)).stats.echoes, { timeout: 30_000, interval: 250 }).toBe(1);
    expect(recordWrites(sf.sandbox, 'Contact')).toBe(salesforceWritesBefore);
    expect((await status(hs.id)).stats.synced).toBe(0);

    // The same notice delivered again (at-least-once delivery) is dropped by its event id.
    const before = (await status(sf.id)).stats;
    await notify(sf.id, { events: [{ objectType: 'contact', externalId: contactId, eventId: 'sf-evt-1' }] });
    await expect.poll(async () => (await status(sf.id)).stats.duplicatesDropped, { timeout: 10_000, interval: 100 }).toBe(1);
    expect((await status(sf.id)).stats).toEqual({ ...before, duplicatesDropped: 1 });
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWritesBefore).toBe(1);
  });

  it('carries a HubSpot edit back to Salesforce, exactly once', async () => {
    const [hubspotContact] = hs.sandbox.admin.listRecords('contacts');
    const salesforceWritesBefore = recordWrites(sf.sandbox, 'Contact');
    hs.sandbox.admin.changeAsUser('contacts', hubspotContact!.id, { jobtitle: 'Analyst' });

    await notify(hs.id, { events: [{ objectType: 'contact', externalId: hubspotContact!.id, eventId: 'hs-evt-2' }] });
    await expect
      .poll(() => sf.sandbox.admin.listRecords('Contact').map((record) => record.Title), { timeout: 30_000, interval: 250 })
      .toEqual(['Analyst']);
    expect(recordWrites(sf.sandbox, 'Contact') - salesforceWritesBefore).toBe(1);

    // And Salesforce's notice of that write is an echo: HubSpot is not written again.
    const hubspotWritesBefore = recordWrites(hs.sandbox, 'contacts');
    const [salesforceContact] = sf.sandbox.admin.listRecords('Contact');
    const echoesBefore = (await status(sf.id)).stats.echoes;
    await notify(sf.id, { events: [{ objectType: 'contact', externalId: String(salesforceContact!.Id), eventId: 'sf-evt-2' }] });
    await expect.poll(async () => (await status(sf.id)).stats.echoes, { timeout: 30_000, interval: 250 }).toBe(echoesBefore + 1);
    expect(recordWrites(hs.sandbox, 'contacts')).toBe(hubspotWritesBefore);
  });
});

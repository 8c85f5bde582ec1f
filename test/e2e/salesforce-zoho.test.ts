import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * The connection workflows on the real dev server, driving the real Salesforce and Zoho
 * connectors (from stored, sealed connections) against their sandboxes: a change on either side
 * reaches the other with one write, and the other side's notice of that write is an echo.
 */
describe('live sync between Salesforce and Zoho', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let zoho: NonNullable<SyncHarness['zoho']>;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'zoho'], zoho: { region: 'eu' }, sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    sf = h.salesforce!;
    zoho = h.zoho!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('carries a Salesforce change to Zoho (EU) with one write, and stops the echo', async () => {
    const created = sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@analytical.example' });
    const zohoWritesBefore = recordWrites(zoho.sandbox, 'Contacts');
    await h.notify(sf.id, { events: [{ objectType: 'contact', externalId: String(created.Id), eventId: 'sf-evt-1' }] });
    await expect
      .poll(() => zoho.sandbox.admin.listRecords('Contacts'), { timeout: 30_000, interval: 250 })
      .toEqual([expect.objectContaining({ First_Name: 'Ada', Last_Name: 'Lovelace', Email: 'ada@analytical.example', CRM_Sync_Id: expect.any(String) as unknown })]);
    expect(recordWrites(zoho.sandbox, 'Contacts') - zohoWritesBefore).toBe(1);
    // Only the account's data centre was called.
    expect(zoho.sandbox.admin.hostCounts()['www.zohoapis.com'] ?? 0).toBe(0);

    // Zoho's notification of our own write comes back: nothing is written to Salesforce.
    const [zohoContact] = zoho.sandbox.admin.listRecords('Contacts');
    const salesforceWritesBefore = recordWrites(sf.sandbox, 'Contact');
    await h.notify(zoho.id, { events: [{ objectType: 'contact', externalId: String(zohoContact!.id), eventId: 'zoho-evt-1' }] });
    await expect.poll(async () => (await h.syncStatus(zoho.id)).stats.echoes, { timeout: 30_000, interval: 250 }).toBe(1);
    expect(recordWrites(sf.sandbox, 'Contact')).toBe(salesforceWritesBefore);
    expect((await h.syncStatus(zoho.id)).stats.synced).toBe(0);
  });

  it('carries a Zoho edit back to Salesforce exactly once, and Salesforce’s notice of it is an echo', async () => {
    const [zohoContact] = zoho.sandbox.admin.listRecords('Contacts');
    const salesforceWritesBefore = recordWrites(sf.sandbox, 'Contact');
    zoho.sandbox.admin.changeAsUser('Contacts', String(zohoContact!.id), { Title: 'Analyst' });
    await h.notify(zoho.id, { events: [{ objectType: 'contact', externalId: String(zohoContact!.id), eventId: 'zoho-evt-2' }] });
    await expect
      .poll(() => sf.sandbox.admin.listRecords('Contact').map((record) => record.Title), { timeout: 30_000, interval: 250 })
      .toEqual(['Analyst']);
    expect(recordWrites(sf.sandbox, 'Contact') - salesforceWritesBefore).toBe(1);

    const zohoWritesBefore = recordWrites(zoho.sandbox, 'Contacts');
    const [salesforceContact] = sf.sandbox.admin.listRecords('Contact');
    const echoesBefore = (await h.syncStatus(sf.id)).stats.echoes;
    await h.notify(sf.id, { events: [{ objectType: 'contact', externalId: String(salesforceContact!.Id), eventId: 'sf-evt-2' }] });
    await expect.poll(async () => (await h.syncStatus(sf.id)).stats.echoes, { timeout: 30_000, interval: 250 }).toBe(echoesBefore + 1);
    expect(recordWrites(zoho.sandbox, 'Contacts')).toBe(zohoWritesBefore);
  });
});

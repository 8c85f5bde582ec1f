import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * The connection workflows on the real dev server, driving the real HubSpot and Pipedrive
 * connectors (from stored, sealed connections) against their sandboxes: a change on either side
 * reaches the other with one write, and the other side's notice of that write is an echo.
 */
describe('live sync between HubSpot and Pipedrive', () => {
  let h: SyncHarness;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let pd: NonNullable<SyncHarness['pipedrive']>;

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['hubspot', 'pipedrive'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    hs = h.hubspot!;
    pd = h.pipedrive!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('carries a HubSpot change to Pipedrive with one write, and stops the echo', async () => {
    const created = hs.sandbox.admin.createAsUser('contacts', { firstname: 'Ada', lastname: 'Lovelace', email: 'ada@analytical.example' });
    const pipedriveWritesBefore = recordWrites(pd.sandbox, 'persons');
    await h.notify(hs.id, { events: [{ objectType: 'contact', externalId: created.id, eventId: 'hs-evt-1' }] });
    const syncIdKey = pd.sandbox.admin.syncIdFieldKey('persons');
    await expect
      .poll(() => pd.sandbox.admin.listRecords('persons'), { timeout: 30_000, interval: 250 })
      .toEqual([
        expect.objectContaining({
          first_name: 'Ada',
          last_name: 'Lovelace',
          emails: [expect.objectContaining({ value: 'ada@analytical.example', primary: true })],
          custom_fields: expect.objectContaining({ [syncIdKey]: expect.any(String) as unknown }) as unknown,
        }),
      ]);
    expect(recordWrites(pd.sandbox, 'persons') - pipedriveWritesBefore).toBe(1);

    // Pipedrive's webhook for our own write comes back: nothing is written to HubSpot.
    const [person] = pd.sandbox.admin.listRecords('persons');
    const hubspotWritesBefore = recordWrites(hs.sandbox, 'contacts');
    await h.notify(pd.id, { events: [{ objectType: 'contact', externalId: String(person!.id), eventId: 'pd-evt-1' }] });
    await expect.poll(async () => (await h.syncStatus(pd.id)).stats.echoes, { timeout: 30_000, interval: 250 }).toBe(1);
    expect(recordWrites(hs.sandbox, 'contacts')).toBe(hubspotWritesBefore);
    expect((await h.syncStatus(pd.id)).stats.synced).toBe(0);
  });

  it('carries a Pipedrive edit back to HubSpot exactly once, and HubSpot’s notice of it is an echo', async () => {
    const [person] = pd.sandbox.admin.listRecords('persons');
    const hubspotWritesBefore = recordWrites(hs.sandbox, 'contacts');
    pd.sandbox.admin.changeAsUser('persons', person!.id as number, { job_title: 'Analyst' });
    await h.notify(pd.id, { events: [{ objectType: 'contact', externalId: String(person!.id), eventId: 'pd-evt-2' }] });
    await expect
      .poll(() => hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.jobtitle), { timeout: 30_000, interval: 250 })
      .toEqual(['Analyst']);
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWritesBefore).toBe(1);

    const pipedriveWritesBefore = recordWrites(pd.sandbox, 'persons');
    const [contact] = hs.sandbox.admin.listRecords('contacts');
    const echoesBefore = (await h.syncStatus(hs.id)).stats.echoes;
    await h.notify(hs.id, { events: [{ objectType: 'contact', externalId: contact!.id, eventId: 'hs-evt-2' }] });
    await expect.poll(async () => (await h.syncStatus(hs.id)).stats.echoes, { timeout: 30_000, interval: 250 }).toBe(echoesBefore + 1);
    expect(recordWrites(pd.sandbox, 'persons')).toBe(pipedriveWritesBefore);
  });
});

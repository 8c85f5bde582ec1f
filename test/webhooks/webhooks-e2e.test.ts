import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

type Counted = { counters: { snapshot(): { recordWrites: Record<string, number>; webhooks: { delivered: number; failedAttempts: number } } } };
const writes = (sandbox: Counted, type: string): number => sandbox.counters.snapshot().recordWrites[type] ?? 0;
const delivered = (sandbox: Counted): number => sandbox.counters.snapshot().webhooks.delivered;

/**
 * End to end through real webhooks: each sandbox delivers its signed webhooks to the shim, the
 * shim signals the connection workflows, the worker syncs. No test code calls notify().
 */
describe('webhooks end to end (Salesforce, HubSpot, Dynamics -> shim -> Temporal)', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let dyn: NonNullable<SyncHarness['dynamics']>;
  const within = { timeout: 30_000, interval: 200 };

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot', 'dynamics'], shim: true, sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    sf = h.salesforce!;
    hs = h.hubspot!;
    dyn = h.dynamics!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** Waits until every sandbox has delivered all its webhooks and the workflows have drained them. */
  async function settle(): Promise<void> {
    await Promise.all([sf.sandbox.webhooks.idle(), hs.sandbox.webhooks.idle(), dyn.sandbox.webhooks.idle()]);
    for (const id of [sf.id, hs.id, dyn.id]) {
      await expect.poll(async () => (await h.syncStatus(id).catch(() => undefined))?.pending ?? 0, within).toBe(0);
    }
  }

  it('carries a Salesforce user change to HubSpot and Dynamics with one write each; the echoes write nothing', async () => {
    const before = { sf: writes(sf.sandbox, 'Contact'), hs: writes(hs.sandbox, 'contacts'), dyn: writes(dyn.sandbox, 'contact') };
    const created = sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@analytical.example' });

    await expect.poll(() => hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.email), within).toEqual(['ada@analytical.example']);
    await expect.poll(() => dyn.sandbox.admin.listRecords('contacts').map((row) => row.emailaddress1), within).toEqual(['ada@analytical.example']);
    // The writes to HubSpot and Dynamics come back as webhooks; they must be recognised as echoes.
    await expect.poll(async () => (await h.syncStatus(hs.id)).stats.echoes, within).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await h.syncStatus(dyn.id)).stats.echoes, within).toBeGreaterThanOrEqual(1);
    await settle();

    expect(writes(hs.sandbox, 'contacts') - before.hs).toBe(1);
    expect(writes(dyn.sandbox, 'contact') - before.dyn).toBe(1);
    // Salesforce counts the user's own (UI) create too: one, so nothing was written back.
    expect(writes(sf.sandbox, 'Contact') - before.sf).toBe(1);
    expect((await h.syncStatus(hs.id)).stats.synced).toBe(0);
    expect((await h.syncStatus(dyn.id)).stats.synced).toBe(0);
    expect(sf.sandbox.admin.listRecords('Contact').map((record) => record.Id)).toEqual([created.Id]);
    for (const sandbox of [sf.sandbox, hs.sandbox, dyn.sandbox]) expect(sandbox.counters.snapshot().webhooks.failedAttempts).toBe(0);
    expect(delivered(sf.sandbox)).toBeGreaterThanOrEqual(1);
    expect(delivered(hs.sandbox)).toBeGreaterThanOrEqual(1);
    expect(delivered(dyn.sandbox)).toBeGreaterThanOrEqual(1);
  });

  it('carries a HubSpot user change to Salesforce and Dynamics with one write each; the echoes write nothing', async () => {
    const [contact] = hs.sandbox.admin.listRecords('contacts');
    const before = { sf: writes(sf.sandbox, 'Contact'), hs: writes(hs.sandbox, 'contacts'), dyn: writes(dyn.sandbox, 'contact') };
    const echoes = { sf: (await h.syncStatus(sf.id)).stats.echoes, dyn: (await h.syncStatus(dyn.id)).stats.echoes };
    hs.sandbox.admin.changeAsUser('contacts', contact!.id, { jobtitle: 'Analyst' });

    await expect.poll(() => sf.sandbox.admin.listRecords('Contact').map((record) => record.Title), within).toEqual(['Analyst']);
    await expect.poll(() => dyn.sandbox.admin.listRecords('contacts').map((row) => row.jobtitle), within).toEqual(['Analyst']);
    await expect.poll(async () => (await h.syncStatus(sf.id)).stats.echoes, within).toBeGreaterThan(echoes.sf);
    await expect.poll(async () => (await h.syncStatus(dyn.id)).stats.echoes, within).toBeGreaterThan(echoes.dyn);
    await settle();

    expect(writes(sf.sandbox, 'Contact') - before.sf).toBe(1);
    expect(writes(dyn.sandbox, 'contact') - before.dyn).toBe(1);
    // HubSpot counts API writes only (the user's UI edit is not one): nothing was written back.
    expect(writes(hs.sandbox, 'contacts') - before.hs).toBe(0);
    for (const sandbox of [sf.sandbox, hs.sandbox, dyn.sandbox]) expect(sandbox.counters.snapshot().webhooks.failedAttempts).toBe(0);
  });
});

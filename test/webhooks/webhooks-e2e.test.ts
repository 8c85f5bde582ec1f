import { describe, expect, it } from 'vitest';
import { recordWrites } from '../support/sandbox-counters';
import { useWebhookDrivenSync } from './support';

const delivered = (sandbox: { counters: { snapshot(): { webhooks: { delivered: number } } } }): number => sandbox.counters.snapshot().webhooks.delivered;

/**
 * End to end through real webhooks: each sandbox delivers its signed webhooks to the shim, the
 * shim signals the connection workflows, the worker syncs. No test code calls notify().
 */
describe('webhooks end to end (Salesforce, HubSpot, Dynamics -> shim -> Temporal)', () => {
  const sync = useWebhookDrivenSync();
  const within = { timeout: 30_000, interval: 200 };

  /** Waits until every sandbox has delivered all its webhooks and the workflows have drained them. */
  async function settle(): Promise<void> {
    await Promise.all([sync.sf.sandbox.webhooks.idle(), sync.hs.sandbox.webhooks.idle(), sync.dyn.sandbox.webhooks.idle()]);
    for (const id of [sync.sf.id, sync.hs.id, sync.dyn.id]) {
      await expect.poll(async () => (await sync.h.syncStatus(id).catch(() => undefined))?.pending ?? 0, within).toBe(0);
    }
  }

  it('carries a Salesforce user change to HubSpot and Dynamics with one write each; the echoes write nothing', async () => {
    const before = { sf: recordWrites(sync.sf.sandbox, 'Contact'), hs: recordWrites(sync.hs.sandbox, 'contacts'), dyn: recordWrites(sync.dyn.sandbox, 'contact') };
    const created = sync.sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@analytical.example' });

    await expect.poll(() => sync.hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.email), within).toEqual(['ada@analytical.example']);
    await expect.poll(() => sync.dyn.sandbox.admin.listRecords('contacts').map((row) => row.emailaddress1), within).toEqual(['ada@analytical.example']);
    // The writes to HubSpot and Dynamics come back as webhooks; they must be recognised as echoes.
    await expect.poll(async () => (await sync.h.syncStatus(sync.hs.id)).stats.echoes, within).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await sync.h.syncStatus(sync.dyn.id)).stats.echoes, within).toBeGreaterThanOrEqual(1);
    await settle();

    expect(recordWrites(sync.hs.sandbox, 'contacts') - before.hs).toBe(1);
    expect(recordWrites(sync.dyn.sandbox, 'contact') - before.dyn).toBe(1);
    // Salesforce counts the user's own (UI) create too: one, so nothing was written back.
    expect(recordWrites(sync.sf.sandbox, 'Contact') - before.sf).toBe(1);
    expect((await sync.h.syncStatus(sync.hs.id)).stats.synced).toBe(0);
    expect((await sync.h.syncStatus(sync.dyn.id)).stats.synced).toBe(0);
    expect(sync.sf.sandbox.admin.listRecords('Contact').map((record) => record.Id)).toEqual([created.Id]);
    for (const sandbox of [sync.sf.sandbox, sync.hs.sandbox, sync.dyn.sandbox]) expect(sandbox.counters.snapshot().webhooks.failedAttempts).toBe(0);
    expect(delivered(sync.sf.sandbox)).toBeGreaterThanOrEqual(1);
    expect(delivered(sync.hs.sandbox)).toBeGreaterThanOrEqual(1);
    expect(delivered(sync.dyn.sandbox)).toBeGreaterThanOrEqual(1);
  });

  it('carries a HubSpot user change to Salesforce and Dynamics with one write each; the echoes write nothing', async () => {
    const [contact] = sync.hs.sandbox.admin.listRecords('contacts');
    const before = { sf: recordWrites(sync.sf.sandbox, 'Contact'), hs: recordWrites(sync.hs.sandbox, 'contacts'), dyn: recordWrites(sync.dyn.sandbox, 'contact') };
    const echoes = { sf: (await sync.h.syncStatus(sync.sf.id)).stats.echoes, dyn: (await sync.h.syncStatus(sync.dyn.id)).stats.echoes };
    sync.hs.sandbox.admin.changeAsUser('contacts', contact!.id, { jobtitle: 'Analyst' });

    await expect.poll(() => sync.sf.sandbox.admin.listRecords('Contact').map((record) => record.Title), within).toEqual(['Analyst']);
    await expect.poll(() => sync.dyn.sandbox.admin.listRecords('contacts').map((row) => row.jobtitle), within).toEqual(['Analyst']);
    await expect.poll(async () => (await sync.h.syncStatus(sync.sf.id)).stats.echoes, within).toBeGreaterThan(echoes.sf);
    await expect.poll(async () => (await sync.h.syncStatus(sync.dyn.id)).stats.echoes, within).toBeGreaterThan(echoes.dyn);
    await settle();

    expect(recordWrites(sync.sf.sandbox, 'Contact') - before.sf).toBe(1);
    expect(recordWrites(sync.dyn.sandbox, 'contact') - before.dyn).toBe(1);
    // HubSpot counts API writes only (the user's UI edit is not one): nothing was written back.
    expect(recordWrites(sync.hs.sandbox, 'contacts') - before.hs).toBe(0);
    for (const sandbox of [sync.sf.sandbox, sync.hs.sandbox, sync.dyn.sandbox]) expect(sandbox.counters.snapshot().webhooks.failedAttempts).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Salesforce's zero-code push end to end: the Salesforce sandbox posts real SOAP Outbound
 * Messages (every one twice: at-least-once at its worst) to the shim on a real port, the shim
 * acks them and signals the connection workflow on a real Temporal server, the worker reads the
 * record from Salesforce over HTTP and writes it to HubSpot, state in real PostgreSQL. Polling is
 * hourly, so only the Outbound Messages can carry the change in time.
 */
describe('Salesforce Outbound Messages end to end', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let otherOrg: SalesforceSandbox | undefined;
  const within = { timeout: 45_000, interval: 250 };

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      shim: true,
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 },
      salesforce: { webhooks: { chaos: { duplicateRate: 1 } }, outboundMessages: { autoRetry: false } },
    });
    sf = h.salesforce!;
    hs = h.hubspot!;
  });
  afterAll(async () => {
    await otherOrg?.stop();
    await h?.stop();
  });

  async function settle(): Promise<void> {
    await Promise.all([sf.sandbox.webhooks.idle(), hs.sandbox.webhooks.idle()]);
    for (const id of [sf.id, hs.id]) await expect.poll(async () => (await h.syncStatus(id).catch(() => undefined))?.pending ?? 0, within).toBe(0);
  }

  it('a Salesforce user change reaches HubSpot with one write; the message is acked and its second copy writes nothing', async () => {
    const hsWritesBefore = recordWrites(hs.sandbox, 'contacts');
    const created = sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace@cobol.example' });

    await expect.poll(() => hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.email), within).toEqual(['grace@cobol.example']);
    await settle();
    // Both copies of the message were acked, so nothing waits in Salesforce's queue.
    expect(sf.sandbox.outboundMessages.list()).toEqual([]);
    expect(sf.sandbox.counters.snapshot().webhooks).toMatchObject({ delivered: 2, duplicated: 1, failedAttempts: 0 });
    const status = await h.syncStatus(sf.id);
    expect(status.stats.duplicatesDropped).toBe(1);
    expect(recordWrites(hs.sandbox, 'contacts') - hsWritesBefore).toBe(1);

    // An edit travels the same way; HubSpot's echo of our own write is recognised, nothing comes back.
    const sfWritesBefore = recordWrites(sf.sandbox, 'Contact');
    sf.sandbox.admin.editAsUser('Contact', String(created.Id), { Title: 'Rear Admiral' });
    await expect.poll(() => hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.jobtitle), within).toEqual(['Rear Admiral']);
    await settle();
    expect(recordWrites(hs.sandbox, 'contacts') - hsWritesBefore).toBe(2);
    expect(recordWrites(sf.sandbox, 'Contact') - sfWritesBefore).toBe(1); // the user's edit only
    expect((await h.syncStatus(sf.id)).stats.duplicatesDropped).toBe(2);
  });

  it("another org's Outbound Messages to this connection's URL are refused 401, stay in that org's queue and signal nothing", async () => {
    await settle();
    const history = async (): Promise<number> => ((await h.client.workflow.getHandle(h.syncWorkflowId(sf.id)).fetchHistory()).events ?? []).length;
    const historyBefore = await history();
    const hsBefore = hs.sandbox.admin.listRecords('contacts').length;

    otherOrg = await startSalesforceSandbox({ dailyApiRequests: false, organizationId: '00D5g0000000002EAA', outboundMessages: { autoRetry: false } });
    expect(otherOrg.credentials.organizationId).not.toBe(sf.sandbox.credentials.organizationId);
    // Ids are per org: the other org's first contact can even share an id with one of ours.
    otherOrg.webhooks.setTarget(`${h.shimUrl!}/webhooks/salesforce/${sf.id}`);
    otherOrg.admin.createAsUser('Contact', { LastName: 'Intruder', Email: 'intruder@other-org.example' });
    await otherOrg.webhooks.idle();

    expect(otherOrg.counters.snapshot().webhooks).toMatchObject({ delivered: 0, failedAttempts: 1 });
    expect(otherOrg.outboundMessages.list()).toEqual([expect.objectContaining({ attempts: 1 })]);
    expect(await history()).toBe(historyBefore);
    expect(hs.sandbox.admin.listRecords('contacts')).toHaveLength(hsBefore);
  });
});

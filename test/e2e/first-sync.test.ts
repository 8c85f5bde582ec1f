import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedRecordsQuery } from '../../src/workflows/messages';
import type { ChangeNotices } from '../../src/workflows/messages';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * First-sync matching end to end: two sandboxes that already share 500 people by email (in
 * different casing, with different other fields) and each hold 500 others. Both connection
 * workflows start at once and poll, as when a tenant connects its second CRM: the two directions
 * race, each linking its own records first, and matching has to merge them into one pair.
 */
describe('first sync between Salesforce and HubSpot matches existing contacts by email', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  const SHARED = 500;
  const ONLY = 500;
  const sharedHubSpotIds: string[] = [];
  const sharedSalesforceIds: string[] = [];

  const emailsOf = (emails: unknown[]): string[] => emails.map((email) => String(email).toLowerCase());
  const linkCounts = async (): Promise<{ canonical: number; links: number; complete: number }> => {
    const result = await h.db.pool.query<{ canonical: string; links: string; complete: string }>(
      `SELECT count(DISTINCT canonical_id) AS canonical, count(*) AS links,
              (SELECT count(*) FROM (SELECT canonical_id FROM record_links WHERE tenant_id = $1 GROUP BY canonical_id HAVING count(DISTINCT connection_id) = 2) c) AS complete
         FROM record_links WHERE tenant_id = $1 AND object_type = 'contact'`,
      [h.tenantId],
    );
    const row = result.rows[0]!;
    return { canonical: Number(row.canonical), links: Number(row.links), complete: Number(row.complete) };
  };
  const notify = (connectionId: string, notices: ChangeNotices): Promise<void> => h.notify(connectionId, notices);

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      sync: { objects: ['contact'], pollIntervalMs: 1_000, debounceMs: 100, batchSize: 200 },
      // The sandboxes share this machine's clock, so no skew to cover: with the default 5-minute
      // lookback every poll would re-read all 1,500 records created moments ago.
      connectorDefaults: { lookbackMs: 2_000 },
    });
    sf = h.salesforce!;
    hs = h.hubspot!;
    for (let i = 0; i < SHARED; i += 1) {
      sharedSalesforceIds.push(String(sf.sandbox.admin.createAsUser('Contact', { FirstName: `Sf${i}`, LastName: `Shared${i}`, Email: `Shared${i}@Both.Example` }).Id));
      sharedHubSpotIds.push(hs.sandbox.admin.createAsUser('contacts', { firstname: `Hs${i}`, lastname: `Shared${i}`, email: `shared${i}@both.example`, jobtitle: `Title ${i}` }).id);
    }
    for (let i = 0; i < ONLY; i += 1) {
      sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Only', LastName: `Sf${i}`, Email: `sf-only${i}@sf.example` });
      hs.sandbox.admin.createAsUser('contacts', { firstname: 'Only', lastname: `Hs${i}`, email: `hs-only${i}@hs.example` });
    }
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('ends with 1,500 linked contacts on both sides, every email once, matched pairs updated not created', async () => {
    const started = Date.now();
    const hubspotWritesBefore = recordWrites(hs.sandbox, 'contacts');
    // Both directions start together, as the supervisor starts them: each first poll reads every
    // record of the last day and matches it in the other CRM while the other direction does the same.
    const startSync = (connectionId: string) =>
      h.client.workflow.start('connectionSync', { workflowId: h.syncWorkflowId(connectionId), taskQueue: h.taskQueue, args: [{ tenantId: h.tenantId, connectionId }] });
    await Promise.all([startSync(sf.id), startSync(hs.id)]);

    const total = SHARED + 2 * ONLY;
    await expect.poll(async () => (await linkCounts()).complete, { timeout: 60_000, interval: 500 }).toBe(total);
    const elapsed = Date.now() - started;

    const sfEmails = emailsOf(sf.sandbox.admin.listRecords('Contact').map((record) => record.Email));
    const hsEmails = emailsOf(hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.email));
    expect(sfEmails).toHaveLength(total);
    expect(hsEmails).toHaveLength(total);
    expect(new Set(sfEmails).size).toBe(total);
    expect(new Set(hsEmails).size).toBe(total);
    expect(new Set(sfEmails)).toEqual(new Set(hsEmails));
    expect(await linkCounts()).toEqual({ canonical: total, links: 2 * total, complete: total });
    // HubSpot got 500 creates (Salesforce-only people) and at most one write per matched pair.
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWritesBefore).toBeLessThanOrEqual(ONLY + SHARED);

    // The shared people are the records that were there before, each now carrying its pair's
    // sync id on both sides: updated in place, not created again.
    const links = await h.db.pool.query<{ canonical_id: string; connection_id: string; external_id: string }>(`SELECT canonical_id, connection_id, external_id FROM record_links WHERE tenant_id = $1`, [h.tenantId]);
    const canonicalOf = new Map(links.rows.map((row) => [`${row.connection_id}:${row.external_id}`, row.canonical_id]));
    for (let i = 0; i < SHARED; i += 1) {
      const sfRecord = sf.sandbox.admin.getRecord('Contact', sharedSalesforceIds[i]!);
      const hsRecord = hs.sandbox.admin.getRecord('contacts', sharedHubSpotIds[i]!);
      expect(String(sfRecord?.Email).toLowerCase()).toBe(`shared${i}@both.example`);
      expect(hsRecord?.properties.email).toBe(`shared${i}@both.example`);
      const canonical = canonicalOf.get(`${sf.id}:${sharedSalesforceIds[i]}`);
      expect(canonical).toBeDefined();
      expect(canonicalOf.get(`${hs.id}:${sharedHubSpotIds[i]}`)).toBe(canonical);
      // Whichever side was written carries the pair's sync id, never another one.
      expect([null, canonical]).toContain(sfRecord?.Sync_Id__c ?? null);
      expect([null, canonical]).toContain(hsRecord?.properties.crm_sync_id ?? null);
    }
    // Both sides come to agree (no swap of values when both directions match at once), and a
    // field one side lacked is carried across (HubSpot's job title into Salesforce). A side that
    // skipped a stale read picks the newer version up on its next poll, so this converges within
    // a few poll intervals rather than at the instant the links complete.
    const disagreements = (): number[] =>
      sharedSalesforceIds.flatMap((salesforceId, i) => {
        const sfRecord = sf.sandbox.admin.getRecord('Contact', salesforceId);
        const hsRecord = hs.sandbox.admin.getRecord('contacts', sharedHubSpotIds[i]!);
        return sfRecord?.FirstName === hsRecord?.properties.firstname && sfRecord?.Title === `Title ${i}` ? [] : [i];
      });
    // Generous: on a loaded 2-core CI machine one poll of 1,500 records each way takes seconds.
    await expect.poll(disagreements, { timeout: 60_000, interval: 500 }).toEqual([]);
    const parked = await Promise.all([sf.id, hs.id].map((id) => h.client.workflow.getHandle(h.syncWorkflowId(id)).query(parkedRecordsQuery)));
    expect(parked.flat()).toEqual([]);
    console.info(`first sync of ${total} contacts each side: linked on both in ${elapsed} ms`);
  }, 150_000);

  it('re-running the sync for every record writes no duplicate (idempotent)', async () => {
    const total = SHARED + 2 * ONLY;
    // Let the echoes of the first sync settle (polls every second), then replay every record as a change notice.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const sfIds = sf.sandbox.admin.listRecords('Contact').map((record) => String(record.Id));
    const hsIds = hs.sandbox.admin.listRecords('contacts').map((record) => record.id);
    // Every record applied counts once in its workflow's stats (an echo here, or a write): the
    // replay is over when both counts have grown by the records replayed, however slow the machine.
    const applied = async (connectionId: string): Promise<number> => {
      const { stats } = await h.syncStatus(connectionId);
      return stats.synced + stats.echoes + stats.refusedByPolicy + stats.staleReads;
    };
    const before = { sf: await applied(sf.id), hs: await applied(hs.id) };
    await notify(sf.id, { events: sfIds.map((externalId) => ({ objectType: 'contact', externalId, eventId: `replay-sf-${externalId}` })) });
    await notify(hs.id, { events: hsIds.map((externalId) => ({ objectType: 'contact', externalId, eventId: `replay-hs-${externalId}` })) });
    await expect
      .poll(async () => ({ sf: (await applied(sf.id)) - before.sf >= sfIds.length, hs: (await applied(hs.id)) - before.hs >= hsIds.length }), { timeout: 60_000, interval: 500 })
      .toEqual({ sf: true, hs: true });

    expect(sf.sandbox.admin.listRecords('Contact')).toHaveLength(total);
    expect(hs.sandbox.admin.listRecords('contacts')).toHaveLength(total);
    expect(await linkCounts()).toEqual({ canonical: total, links: 2 * total, complete: total });
  }, 90_000);
});

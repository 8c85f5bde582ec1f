import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { chaosCount, chaosLarge, fieldChecksum, hubspotContactLine, salesforceContactLine } from './chaos-size';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';

const REDUCED = 300;
const CHANGES = chaosCount('PG_CHANGES', REDUCED, 5_000);
const large = chaosLarge(CHANGES, REDUCED);

/**
 * Chaos 3 (issue #7): live sync Salesforce -> HubSpot while the PostgreSQL server holding links and
 * snapshots restarts (`pg_ctl restart -m fast`: every session killed mid-transaction). A private
 * cluster, so the shared test database of the other files is left alone. Afterwards every source
 * record is linked and in HubSpot exactly once.
 */
describe('chaos: PostgreSQL restarted while live changes are applied', () => {
  let postgres: PrivatePostgres;
  let h: SyncHarness;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      databaseUrl: postgres.url,
      // Changes are found by polling every second (no webhooks): the restart hits steady apply work.
      sync: { objects: ['contact'], pollIntervalMs: 1_000, debounceMs: 100 },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await postgres?.stop();
  });

  it(`applies ${CHANGES.toLocaleString('en')} Salesforce creates with no lost link and no duplicate`, async () => {
    const started = Date.now();
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    await h.notify(sf.id);
    await h.notify(hs.id);
    const inTarget = (): number => hs.sandbox.admin.listRecords('contacts').length;

    // Users create contacts in batches; the database restarts once some but not all are applied.
    const batches = 10;
    let restartedAt: number | undefined;
    for (let batch = 0; batch < batches; batch += 1) {
      for (let i = 0; i < CHANGES / batches; i += 1) {
        const n = batch * (CHANGES / batches) + i;
        sf.sandbox.admin.createAsUser('Contact', { FirstName: `Chaos${n}`, LastName: `Restart${n}`, Email: `chaos.restart.${n}@example.com`, Title: `T${n % 7}` });
      }
      if (batch === 3) {
        await expect.poll(inTarget, { timeout: large ? 600_000 : 60_000, interval: 50 }).toBeGreaterThan(0);
        restartedAt = inTarget();
        await postgres.restart();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(restartedAt).toBeGreaterThan(0);
    expect(restartedAt).toBeLessThan(CHANGES);

    await expect.poll(inTarget, { timeout: large ? 1_800_000 : 90_000, interval: 500 }).toBeGreaterThanOrEqual(CHANGES);
    // Let in-flight polls finish, then check nothing more arrives (a duplicate would show up here).
    await expect.poll(async () => (await h.syncStatus(sf.id)).pending, { timeout: 60_000, interval: 250 }).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2_500));

    const source = sf.sandbox.admin.listRecords('Contact');
    const target = hs.sandbox.admin.listRecords('contacts');
    console.log(`[chaos postgres] ${CHANGES} creates in ${Date.now() - started} ms; PostgreSQL restarted with ${restartedAt} of them in HubSpot`);
    expect(source).toHaveLength(CHANGES);
    expect(target).toHaveLength(CHANGES);
    expect(new Set(target.map((record) => record.properties.email)).size).toBe(CHANGES);
    expect(new Set(target.map((record) => record.properties.crm_sync_id)).size).toBe(CHANGES);
    expect(fieldChecksum(target.map(hubspotContactLine))).toBe(fieldChecksum(source.map(salesforceContactLine)));

    // No lost link: every Salesforce contact and every HubSpot contact linked, one canonical id per pair.
    const links = await h.db.pool.query<{ connection_id: string; external_id: string; canonical_id: string }>(`SELECT connection_id, external_id, canonical_id FROM record_links`);
    const linked = (connectionId: string): Map<string, string> => new Map(links.rows.filter((row) => row.connection_id === connectionId).map((row) => [row.external_id, row.canonical_id]));
    const sfLinks = linked(sf.id);
    const hsLinks = linked(hs.id);
    expect(new Set(source.map((record) => String(record.Id))).size).toBe(CHANGES);
    expect([...sfLinks.keys()].sort()).toEqual(source.map((record) => String(record.Id)).sort());
    expect([...hsLinks.keys()].sort()).toEqual(target.map((record) => record.id).sort());
    expect(new Set(sfLinks.values())).toEqual(new Set(hsLinks.values()));
    expect(new Set(target.map((record) => record.properties.crm_sync_id))).toEqual(new Set(hsLinks.values()));
  }, large ? 4 * 3_600_000 : 240_000);
});

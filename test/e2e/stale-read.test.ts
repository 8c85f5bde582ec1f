import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord } from '../../src/activities/apply-to-target';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Two directions racing: Salesforce -> HubSpot has read a contact, then HubSpot -> Salesforce
 * writes a newer value into Salesforce before the first direction applies its (now stale) read.
 * Interleaving is forced by calling the activity directly, so the race is deterministic.
 */
describe('a stale source read', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'] });
  });
  afterAll(async () => h?.stop());

  it('is not applied: the value the other direction just wrote is not replaced by the old one', async () => {
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    const deps = applyDependencies(h);
    const { connectors, links } = deps;
    const policies = objectConflictPoliciesSchema.parse({});
    const salesforce = await connectors.forConnection(sf.id);
    const hubspot = await connectors.forConnection(hs.id);
    const linked = async (connectionId: string, records: Awaited<ReturnType<typeof salesforce.readRecords>>): Promise<LinkedRecord[]> => {
      const ids = await links.ensureLinks(h.tenantId, connectionId, 'contact', records.map((r) => ({ externalId: r.externalId, proposedCanonicalId: crypto.randomUUID() })));
      return records.map((record) => ({ ...record, canonicalId: ids.get(record.externalId)! }));
    };
    const apply = (sourceConnectionId: string, targetConnectionId: string, records: LinkedRecord[]) =>
      applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId, targetConnectionId, records, policies });

    // Synced once: both CRMs hold "Old".
    const id = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Old', LastName: 'Race', Email: 'race@condition.example' }).Id);
    await apply(sf.id, hs.id, await linked(sf.id, await salesforce.readRecords('contact', [id])));
    const hubspotId = hs.sandbox.admin.listRecords('contacts')[0]!.id;

    // Salesforce -> HubSpot reads the contact ("Old") and is then delayed.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const staleRead = await linked(sf.id, await salesforce.readRecords('contact', [id]));

    // Meanwhile someone renames the contact in HubSpot, and HubSpot -> Salesforce applies it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    hs.sandbox.admin.changeAsUser('contacts', hubspotId, { firstname: 'New' });
    const toSalesforce = await apply(hs.id, sf.id, await linked(hs.id, await hubspot.readRecords('contact', [hubspotId])));
    expect(toSalesforce.outcomes.map((outcome) => outcome.status)).toEqual(['updated']);
    expect(sf.sandbox.admin.getRecord('Contact', id)?.FirstName).toBe('New');

    // The delayed direction now applies its stale read: it must not write "Old" back.
    const writesBefore = hs.sandbox.counters.snapshot().recordWrites.contacts ?? 0;
    const fromStale = await apply(sf.id, hs.id, staleRead);
    expect(fromStale.outcomes.map((outcome) => outcome.status)).toEqual(['stale']);
    expect(hs.sandbox.admin.getRecord('contacts', hubspotId)?.properties.firstname).toBe('New');
    expect(hs.sandbox.counters.snapshot().recordWrites.contacts ?? 0).toBe(writesBefore);
  });
});

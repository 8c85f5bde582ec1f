import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord } from '../../src/activities/apply-to-target';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * p0530 of the seed-2 Salesforce + HubSpot + Zoho convergence run, made deterministic: a copy
 * holding an old value, met at first contact under the stamp of a later edit of another field,
 * must not beat a later edit of that value elsewhere. Vendors stamp records, not fields; Zoho's
 * record timeline tells that the value is as old as the record [Z64]. The sandboxes share one
 * clock, moved on by whole seconds between the people's edits.
 */
describe('a copy met at first contact under a later record stamp', () => {
  let h: SyncHarness;
  let skewMs = 0;
  const now = (): number => Date.now() + skewMs;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'zoho'], salesforce: { now }, zoho: { now } });
  });
  afterAll(async () => h?.stop());

  it('competes under its field\'s own edit time: an untouched value loses to the later edit elsewhere', async () => {
    const sf = h.salesforce!;
    const zoho = h.zoho!;
    const deps = applyDependencies(h);
    const policies = objectConflictPoliciesSchema.parse({ default: { kind: 'latest', priority: [sf.id, zoho.id] } });
    const salesforce = await deps.connectors.forConnection(sf.id);

    // Before the sync: a person creates Ada in Zoho; two seconds later another creates her in
    // Salesforce as Barbara; two seconds later again, someone edits only her phone in Zoho.
    const email = 'ada.wilson.530@initech.example';
    const zohoId = String(zoho.sandbox.admin.createAsUser('Contacts', { First_Name: 'Ada', Last_Name: 'Wilson', Email: email }).id);
    skewMs += 2_000;
    const sfId = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Barbara', LastName: 'Wilson', Email: email }).Id);
    skewMs += 2_000;
    const phoneEdit = zoho.sandbox.admin.changeAsUser('Contacts', zohoId, { Phone: '+1 555 90617 530' });

    // Salesforce -> Zoho meets Zoho's copy for the first time (matched by email), stamped after
    // Salesforce's edit by the phone edit.
    const [read] = await salesforce.readRecords('contact', [sfId]);
    expect(Date.parse(String(phoneEdit.Modified_Time))).toBeGreaterThan(Date.parse(read!.modifiedAt));
    const ids = await deps.links.ensureLinks(h.tenantId, sf.id, 'contact', [{ externalId: sfId, proposedCanonicalId: crypto.randomUUID() }]);
    const records: LinkedRecord[] = [{ ...read!, canonicalId: ids.get(sfId)! }];
    const result = await applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId: sf.id, targetConnectionId: zoho.id, records, policies });
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['updated']);

    // Barbara (edited after Ada was written) stands everywhere; the phone edit is kept.
    expect(zoho.sandbox.admin.getRecord('Contacts', zohoId)).toMatchObject({ First_Name: 'Barbara', Phone: '+1 555 90617 530' });
    const conflicts = await deps.conflicts.listForRecord(h.tenantId, ids.get(sfId)!);
    const firstName = conflicts.find((conflict) => conflict.field === 'firstName');
    expect(firstName).toMatchObject({ winnerConnectionId: sf.id, decidedValue: 'Barbara' });
    // Zoho's candidate carries the time its value was written (the record's creation), not the phone edit's stamp.
    const zohoCandidate = firstName?.candidates.find((candidate) => candidate.connectionId === zoho.id);
    expect(Date.parse(String(zohoCandidate?.modifiedAt))).toBeLessThan(Date.parse(read!.modifiedAt));
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord } from '../../src/activities/apply-to-target';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * p0530 of the seed-2 Salesforce + HubSpot + Dynamics convergence run (latestLost, timing-dependent),
 * made deterministic: the Zoho case of first-contact-field-history.test.ts with Dataverse as the
 * copy met at first contact. Dataverse stamps records (`modifiedon`), so a value untouched since
 * the record was created would compete under the stamp of a later edit of another field and beat
 * a later edit of that field elsewhere. Where the organisation audits (the sandbox's default), the
 * connector's field history (audit rows and their details, vendor-facts D82/D84) dates the value
 * to the record's creation, and the later edit wins. Without it, Dataverse's "Ada" won under the
 * phone edit's stamp.
 */
describe('a Dataverse copy met at first contact under a later record stamp', () => {
  let h: SyncHarness;
  let skewMs = 0;
  const now = (): number => Date.now() + skewMs;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'dynamics'], salesforce: { now }, dynamics: { now } });
  });
  afterAll(async () => h?.stop());

  it("loses to the later edit of that field elsewhere (the audit history dates Dataverse's value to the record's creation)", async () => {
    const sf = h.salesforce!;
    const dyn = h.dynamics!;
    const deps = applyDependencies(h);
    const policies = objectConflictPoliciesSchema.parse({ default: { kind: 'latest', priority: [sf.id, dyn.id] } });
    const salesforce = await deps.connectors.forConnection(sf.id);

    // Before the sync: a person creates Ada in Dataverse; two seconds later another creates her in
    // Salesforce as Barbara; two seconds later again, someone edits only her phone in Dataverse.
    const email = 'ada.wilson.530@initech.example';
    const dynId = String(dyn.sandbox.admin.uiCreate('contacts', { firstname: 'Ada', lastname: 'Wilson', emailaddress1: email }).contactid);
    skewMs += 2_000;
    const sfId = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Barbara', LastName: 'Wilson', Email: email }).Id);
    skewMs += 2_000;
    const phoneEdit = dyn.sandbox.admin.uiUpdate('contacts', dynId, { telephone1: '+1 555 90617 530' });

    // Salesforce -> Dataverse meets Dataverse's copy for the first time (matched by email), its
    // record stamped after Salesforce's edit by the phone edit.
    const [read] = await salesforce.readRecords('contact', [sfId]);
    expect(Date.parse(String(phoneEdit.modifiedon))).toBeGreaterThan(Date.parse(read!.modifiedAt) + 1_000);
    const ids = await deps.links.ensureLinks(h.tenantId, sf.id, 'contact', [{ externalId: sfId, proposedCanonicalId: crypto.randomUUID() }]);
    const records: LinkedRecord[] = [{ ...read!, canonicalId: ids.get(sfId)! }];
    const auditQueries = dyn.sandbox.admin.queryCount('audits');
    const result = await applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId: sf.id, targetConnectionId: dyn.id, records, policies });
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['updated']);

    // The phone edit is kept either way.
    expect(dyn.sandbox.admin.getRecord('contacts', dynId)).toMatchObject({ telephone1: '+1 555 90617 530' });
    // Dataverse's field history was asked (its audit table), and Barbara, written after Ada was, stands.
    expect(dyn.sandbox.admin.queryCount('audits')).toBeGreaterThan(auditQueries);
    const conflicts = await deps.conflicts.listForRecord(h.tenantId, ids.get(sfId)!);
    expect(conflicts.find((conflict) => conflict.field === 'firstName')).toMatchObject({ winnerConnectionId: sf.id, decidedValue: 'Barbara' });
    expect(dyn.sandbox.admin.getRecord('contacts', dynId)).toMatchObject({ firstname: 'Barbara' });
  });
});

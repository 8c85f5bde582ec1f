import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord } from '../../src/activities/apply-to-target';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * The reverse order of first-contact-field-history.test.ts: the copy holding the old value is met
 * first, enters the empty canonical record under the stamp of a later edit of another field, and
 * the later edit of that value elsewhere arrives after it. Vendors stamp records, not fields;
 * Zoho's record timeline tells that the value is as old as the record [Z64]. The sandboxes share
 * one clock, moved on by whole seconds between the people's edits.
 */
describe('a value that entered the canonical record under a later record stamp', () => {
  let h: SyncHarness;
  let skewMs = 0;
  const now = (): number => Date.now() + skewMs;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'zoho'], salesforce: { now }, zoho: { now } });
  });
  afterAll(async () => h?.stop());

  it.fails('competes under its field\'s own edit time when a later edit of that field arrives from another CRM', async () => {
    const sf = h.salesforce!;
    const zoho = h.zoho!;
    const deps = applyDependencies(h);
    const policies = objectConflictPoliciesSchema.parse({ default: { kind: 'latest', priority: [sf.id, zoho.id] } });
    const zohoConnector = await deps.connectors.forConnection(zoho.id);

    // Before the sync: Ada is created in Zoho and in Salesforce (T0); two seconds later someone
    // renames her Augusta in Salesforce (T1); two seconds later again, someone edits only her
    // phone in Zoho (T2), which moves Zoho's record stamp past Salesforce's edit.
    const email = 'ada.lovelace.first-entry@initech.example';
    const zohoId = String(zoho.sandbox.admin.createAsUser('Contacts', { First_Name: 'Ada', Last_Name: 'Lovelace', Email: email }).id);
    const sfId = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: email }).Id);
    skewMs += 2_000;
    const rename = sf.sandbox.admin.editAsUser('Contact', sfId, { FirstName: 'Augusta' });
    skewMs += 2_000;
    zoho.sandbox.admin.changeAsUser('Contacts', zohoId, { Phone: '+1 555 01815 1852' });

    // Zoho -> Salesforce: Zoho's copy is met first and enters the empty canonical record under
    // its record stamp (the phone edit's, later than the rename); Salesforce's copy, matched by
    // email, is merged after it.
    const [read] = await zohoConnector.readRecords('contact', [zohoId]);
    expect(Date.parse(read!.modifiedAt)).toBeGreaterThan(Date.parse(String(rename.SystemModstamp)));
    const ids = await deps.links.ensureLinks(h.tenantId, zoho.id, 'contact', [{ externalId: zohoId, proposedCanonicalId: crypto.randomUUID() }]);
    const records: LinkedRecord[] = [{ ...read!, canonicalId: ids.get(zohoId)! }];
    const result = await applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId: zoho.id, targetConnectionId: sf.id, records, policies });
    expect(result.outcomes).toMatchObject([{ status: 'updated', targetExternalId: sfId, matched: true }]);

    // Augusta (the later edit of the first name) stands; Zoho's phone reaches Salesforce.
    expect(sf.sandbox.admin.getRecord('Contact', sfId)).toMatchObject({ FirstName: 'Augusta', Phone: '+1 555 01815 1852' });
    const canonicalId = result.outcomes[0]!.canonicalId;
    const conflicts = await deps.conflicts.listForRecord(h.tenantId, canonicalId);
    const firstName = conflicts.find((conflict) => conflict.field === 'firstName');
    expect(firstName).toMatchObject({ winnerConnectionId: sf.id, decidedValue: 'Augusta' });
    // Zoho's candidate carries the time its value was written (the record's creation), not the phone edit's stamp.
    const zohoCandidate = firstName?.candidates.find((candidate) => candidate.connectionId === zoho.id);
    expect(Date.parse(String(zohoCandidate?.modifiedAt))).toBeLessThan(Date.parse(String(rename.SystemModstamp)));
  });
});

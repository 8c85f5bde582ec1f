import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord } from '../../src/activities/apply-to-target';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/** Zoho record-timeline calls (the connector's field history) made so far. */
const timelineCalls = (h: SyncHarness): number =>
  Object.entries(h.zoho!.sandbox.admin.counters().requests)
    .filter(([route]) => route.endsWith('/__timeline'))
    .reduce((sum, [, count]) => sum + count, 0);

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

  it('competes under its field\'s own edit time when a later edit of that field arrives from another CRM', async () => {
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
    const asked = timelineCalls(h);
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
    // One call to Zoho's timeline, for the one record with such a conflict.
    expect(timelineCalls(h) - asked).toBe(1);
  });
});

describe('a value that entered the canonical record under a later record stamp, from neither side of the apply', () => {
  let h: SyncHarness;
  let skewMs = 0;
  const now = (): number => Date.now() + skewMs;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'zoho', 'hubspot'], salesforce: { now }, zoho: { now } });
  });
  afterAll(async () => h?.stop());

  it('asks the history of the connection the value came from', async () => {
    const sf = h.salesforce!;
    const zoho = h.zoho!;
    const hs = h.hubspot!;
    const deps = applyDependencies(h);
    const policies = objectConflictPoliciesSchema.parse({ default: { kind: 'latest', priority: [sf.id, zoho.id, hs.id] } });
    const [zohoConnector, salesforce] = await Promise.all([deps.connectors.forConnection(zoho.id), deps.connectors.forConnection(sf.id)]);

    // As above: Ada in Zoho and Salesforce (T0), renamed Augusta in Salesforce (T1), her phone
    // edited in Zoho (T2). HubSpot has no copy.
    const email = 'ada.byron.first-entry@initech.example';
    const zohoId = String(zoho.sandbox.admin.createAsUser('Contacts', { First_Name: 'Ada', Last_Name: 'Byron', Email: email }).id);
    const sfId = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Byron', Email: email }).Id);
    skewMs += 2_000;
    sf.sandbox.admin.editAsUser('Contact', sfId, { FirstName: 'Augusta' });
    skewMs += 2_000;
    zoho.sandbox.admin.changeAsUser('Contacts', zohoId, { Phone: '+1 555 01815 1853' });

    // Zoho -> HubSpot: Zoho's copy enters the empty canonical record, with nothing to compete
    // with: nothing is asked of its history.
    const [zohoRead] = await zohoConnector.readRecords('contact', [zohoId]);
    // Salesforce's record, matched to HubSpot's copy below, merges into this canonical record (the smaller id survives).
    const canonicalId = `0${crypto.randomUUID().slice(1)}`;
    await deps.links.ensureLinks(h.tenantId, zoho.id, 'contact', [{ externalId: zohoId, proposedCanonicalId: canonicalId }]);
    const before = timelineCalls(h);
    const first = await applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId: zoho.id, targetConnectionId: hs.id, records: [{ ...zohoRead!, canonicalId }], policies });
    expect(first.outcomes).toMatchObject([{ status: 'created' }]);
    expect(timelineCalls(h)).toBe(before);
    const hsId = (first.outcomes[0] as { targetExternalId: string }).targetExternalId;

    // Salesforce -> HubSpot: Salesforce's copy, matched to HubSpot's by email, meets Ada under
    // Zoho's record stamp; Zoho is neither the source nor the target of this apply.
    const [sfRead] = await salesforce.readRecords('contact', [sfId]);
    const sfIds = await deps.links.ensureLinks(h.tenantId, sf.id, 'contact', [{ externalId: sfId, proposedCanonicalId: `f${crypto.randomUUID().slice(1)}` }]);
    const second = await applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId: sf.id, targetConnectionId: hs.id, records: [{ ...sfRead!, canonicalId: sfIds.get(sfId)! }], policies });
    expect(second.outcomes).toMatchObject([{ status: 'updated', canonicalId, targetExternalId: hsId, matched: true }]);

    expect(hs.sandbox.admin.getRecord('contacts', hsId)?.properties).toMatchObject({ firstname: 'Augusta', phone: '+1 555 01815 1853' });
    const firstName = (await deps.conflicts.listForRecord(h.tenantId, canonicalId)).find((conflict) => conflict.field === 'firstName');
    expect(firstName).toMatchObject({ winnerConnectionId: sf.id, decidedValue: 'Augusta' });
    // One call to Zoho's timeline, for the one record with such a conflict.
    expect(timelineCalls(h) - before).toBe(1);
  });
});

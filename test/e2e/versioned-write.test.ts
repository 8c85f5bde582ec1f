import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord, type TargetWrite } from '../../src/activities/apply-to-target';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/** Reading a record of `sourceId` as the poll would (linked), and applying it to `targetId` directly. */
async function syncPath(h: SyncHarness, sourceId: string, targetId: string) {
  const deps = applyDependencies(h);
  const policies = objectConflictPoliciesSchema.parse({});
  const source = await deps.connectors.forConnection(sourceId);
  const readLinked = async (id: string): Promise<LinkedRecord[]> => {
    const records = await source.readRecords('contact', [id]);
    const ids = await deps.links.ensureLinks(h.tenantId, sourceId, 'contact', records.map((r) => ({ externalId: r.externalId, proposedCanonicalId: crypto.randomUUID() })));
    return records.map((record) => ({ ...record, canonicalId: ids.get(record.externalId)! }));
  };
  const apply = (records: LinkedRecord[], write?: TargetWrite) =>
    applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId: sourceId, targetConnectionId: targetId, records, policies }, { write });
  /**
   * Applies with a person's edit made at the exact moment our first write is about to reach the
   * target; then the person's value must stand there, written by nobody after them, and be the
   * canonical one (`latest`, decision recorded), to go back to the source.
   */
  const applyRacing = async (records: LinkedRecord[], personEdits: () => void, expected: { title: string; held: () => unknown }) => {
    let writes = 0;
    const result = await apply(records, async (target, objectType, inputs) => {
      writes += 1;
      if (writes === 1) personEdits();
      return target.upsertRecords(objectType, inputs);
    });
    const [canonicalId] = records.map((record) => record.canonicalId);
    expect(expected.held()).toBe(expected.title);
    expect(writes).toBe(1);
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['echo']);
    expect(result.contributed).toEqual([canonicalId]);
    const decisions = await deps.conflicts.listForRecord(h.tenantId, canonicalId!);
    expect(decisions.filter((decision) => decision.field === 'title')).toEqual([expect.objectContaining({ policy: 'latest', winnerConnectionId: targetId, decidedValue: expected.title })]);
  };
  return { readLinked, apply, applyRacing };
}

/**
 * A person edits a Dataverse record between our read of it and our write to it. Dataverse refuses
 * a write made against an older version (`If-Match` with the ETag read), so the edit must survive:
 * the write is refused, the record is read again and merged (the person's later edit wins by
 * `latest`), and nothing overwrites it. The person's edit is made at that exact moment by the
 * write step the activity is given, before it calls the real connector: the race is deterministic.
 * Dataverse's clock runs 5 s ahead once the person edits, so their edit is later by its own
 * whole-second stamp whatever the wall clock does.
 */
describe("a person's edit made between our read and our write", () => {
  let h: SyncHarness;
  let skewMs = 0;
  // Salesforce's clock: its modstamps and the `Date` of its answers.
  let salesforceNow = (): number => Date.now();
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'dynamics'], dynamics: { now: () => Date.now() + skewMs }, salesforce: { now: () => salesforceNow() } });
  });
  afterAll(async () => h?.stop());

  it('in Dataverse is not overwritten: the write is refused, and the record read again keeps the later edit', async () => {
    const sf = h.salesforce!;
    const dyn = h.dynamics!;
    const { readLinked, apply, applyRacing } = await syncPath(h, sf.id, dyn.id);

    // Synced once: both CRMs hold the title "Engineer".
    const id = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Versioned', Email: 'versioned@race.example', Title: 'Engineer' }).Id);
    expect((await apply(await readLinked(id))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    const dynamicsId = String(dyn.sandbox.admin.listRecords('contacts')[0]?.contactid);

    // Someone makes the title "CTO" in Salesforce; we read it and go to write it to Dynamics...
    sf.sandbox.admin.editAsUser('Contact', id, { Title: 'CTO' });
    // ...and just before our write lands, someone else makes it "Chief" in Dynamics. Our write is
    // refused, not repeated over it, and Dynamics holds the canonical value (its own).
    await applyRacing(
      await readLinked(id),
      () => {
        skewMs = 5_000;
        dyn.sandbox.admin.uiUpdate('contacts', dynamicsId, { jobtitle: 'Chief' });
      },
      { title: 'Chief', held: () => dyn.sandbox.admin.getRecord('contacts', dynamicsId)?.jobtitle },
    );
  });

  /**
   * Salesforce refuses an update of a record modified since the HTTP date given in
   * `If-Unmodified-Since` (whole seconds), sent per record through the Composite resource. The
   * person's edit lands in a later second than the record's last save (the record was saved with
   * Salesforce's clock 5 s behind; it runs 10 s ahead once they edit): the write is refused and
   * the edit survives. With collections (no condition) the test fails: the person's title is
   * overwritten.
   */
  it('in Salesforce is not overwritten either: refused by If-Unmodified-Since, read again, the later edit kept', async () => {
    const sf = h.salesforce!;
    const dyn = h.dynamics!;
    const { readLinked, apply, applyRacing } = await syncPath(h, dyn.id, sf.id);

    // Synced once: both CRMs hold the title "Buyer".
    const dynamicsId = String(dyn.sandbox.admin.uiCreate('contacts', { firstname: 'Grace', lastname: 'Conditional', emailaddress1: 'conditional@race.example', jobtitle: 'Buyer' }).contactid);
    salesforceNow = () => Date.now() - 5_000;
    expect((await apply(await readLinked(dynamicsId))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    salesforceNow = () => Date.now();
    const salesforceId = String(sf.sandbox.admin.listRecords('Contact').find((record) => record.Email === 'conditional@race.example')?.Id);

    // Someone makes the title "Head of Buying" in Dynamics; we read it and go to write it to Salesforce...
    dyn.sandbox.admin.uiUpdate('contacts', dynamicsId, { jobtitle: 'Head of Buying' });
    // ...and just before our write lands, someone else makes it "Procurement Lead" in Salesforce.
    await applyRacing(
      await readLinked(dynamicsId),
      () => {
        salesforceNow = () => Date.now() + skewMs + 10_000;
        sf.sandbox.admin.editAsUser('Contact', salesforceId, { Title: 'Procurement Lead' });
      },
      { title: 'Procurement Lead', held: () => sf.sandbox.admin.getRecord('Contact', salesforceId)?.Title },
    );
  });

  /**
   * The date `If-Unmodified-Since` holds is whole seconds: a person's save in the same second as
   * the record's previous one passes it. Here Salesforce's clock stands still inside one second
   * while we read the record and they edit it; the connector holds a write against a version read
   * in the second of its last save, waits that second out and has the record read again. Writing
   * at once with the condition, the test fails: the person's title is overwritten.
   */
  it('in Salesforce, in the same second as the previous save, is not overwritten: the write waits the second out and reads again', async () => {
    const sf = h.salesforce!;
    const dyn = h.dynamics!;
    const { readLinked, apply, applyRacing } = await syncPath(h, dyn.id, sf.id);
    const frozen = Date.now() + 60_000;
    salesforceNow = () => frozen;

    const dynamicsId = String(dyn.sandbox.admin.uiCreate('contacts', { firstname: 'Barbara', lastname: 'SameSecond', emailaddress1: 'same-second@race.example', jobtitle: 'Analyst' }).contactid);
    expect((await apply(await readLinked(dynamicsId))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    const salesforceId = String(sf.sandbox.admin.listRecords('Contact').find((record) => record.Email === 'same-second@race.example')?.Id);

    dyn.sandbox.admin.uiUpdate('contacts', dynamicsId, { jobtitle: 'Senior Analyst' });
    await applyRacing(
      await readLinked(dynamicsId),
      () => {
        sf.sandbox.admin.editAsUser('Contact', salesforceId, { Title: 'Head of Analysis' });
        salesforceNow = () => Date.now() + 70_000;
      },
      { title: 'Head of Analysis', held: () => sf.sandbox.admin.getRecord('Contact', salesforceId)?.Title },
    );
  });
});

/**
 * HubSpot takes no condition on a write at all, so a person's edit landing between our read and
 * our write is overwritten; it is still in the property's history, from which the connector puts
 * it back and reports the write `version-changed`: the record is read again and the person's
 * edit (the later one) merged and kept. Without that check the test fails: HubSpot ends with our
 * value and the person's edit is gone everywhere.
 */
describe("a person's HubSpot edit made between our read and our write", () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'] });
  });
  afterAll(async () => h?.stop());

  it('is put back from its history, read again and kept', async () => {
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    const { readLinked, apply, applyRacing } = await syncPath(h, sf.id, hs.id);

    const id = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Edsger', LastName: 'History', Email: 'history@race.example', Title: 'Engineer' }).Id);
    expect((await apply(await readLinked(id))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    const hubspotId = String(hs.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === 'history@race.example')?.id);

    sf.sandbox.admin.editAsUser('Contact', id, { Title: 'CTO' });
    await applyRacing(await readLinked(id), () => hs.sandbox.admin.changeAsUser('contacts', hubspotId, { jobtitle: 'Chief' }), {
      title: 'Chief',
      held: () => hs.sandbox.admin.getRecord('contacts', hubspotId)?.properties.jobtitle,
    });
  });

  it('is put back even when putting it back meets a 429 (our write has landed: a second run of the activity would find nothing to write)', async () => {
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    const { readLinked, apply, applyRacing } = await syncPath(h, sf.id, hs.id);

    const id = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Barbara', LastName: 'Retry', Email: 'retry@race.example', Title: 'Engineer' }).Id);
    expect((await apply(await readLinked(id))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    const hubspotId = String(hs.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === 'retry@race.example')?.id);

    sf.sandbox.admin.editAsUser('Contact', id, { Title: 'CTO' });
    // Our update (the first batch update) lands; the one putting the person's edit back gets a 429.
    hs.sandbox.faults.configure({ rateLimitRate: 1, route: 'POST /crm/v3/objects/:type/batch/update', after: 1, times: 1 });
    try {
      await applyRacing(await readLinked(id), () => hs.sandbox.admin.changeAsUser('contacts', hubspotId, { jobtitle: 'Principal' }), {
        title: 'Principal',
        held: () => hs.sandbox.admin.getRecord('contacts', hubspotId)?.properties.jobtitle,
      });
      expect(hs.sandbox.counters.rateLimited).toBeGreaterThanOrEqual(1);
    } finally {
      hs.sandbox.faults.configure({});
    }
  });
});

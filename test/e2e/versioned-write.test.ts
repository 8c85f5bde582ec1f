import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord, type TargetWrite } from '../../src/activities/apply-to-target';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * A person edits a Dataverse record between our read of it and our write to it. Dataverse refuses
 * a write made against an older version (`If-Match` with the ETag read), so the edit must survive:
 * the write is refused, the record is read again and merged (the person's later edit wins by
 * `latest`), and nothing overwrites it. The person's edit is made at that exact moment by the
 * write step the activity is given, before it calls the real connector: the race is deterministic.
 * Dataverse's clock runs 5 s ahead once the person edits, so their edit is later by its own
 * whole-second stamp whatever the wall clock does.
 */
describe("a person's Dataverse edit made between our read and our write", () => {
  let h: SyncHarness;
  let skewMs = 0;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'dynamics'], dynamics: { now: () => Date.now() + skewMs } });
  });
  afterAll(async () => h?.stop());

  it('is not overwritten: the write is refused, and the record read again keeps the later edit', async () => {
    const sf = h.salesforce!;
    const dyn = h.dynamics!;
    const deps = applyDependencies(h);
    const { connectors, links, conflicts } = deps;
    const policies = objectConflictPoliciesSchema.parse({});
    const salesforce = await connectors.forConnection(sf.id);
    const readLinked = async (id: string): Promise<LinkedRecord[]> => {
      const records = await salesforce.readRecords('contact', [id]);
      const ids = await links.ensureLinks(h.tenantId, sf.id, 'contact', records.map((r) => ({ externalId: r.externalId, proposedCanonicalId: crypto.randomUUID() })));
      return records.map((record) => ({ ...record, canonicalId: ids.get(record.externalId)! }));
    };
    const apply = (records: LinkedRecord[], write?: TargetWrite) =>
      applyToTarget(deps, { tenantId: h.tenantId, objectType: 'contact', sourceConnectionId: sf.id, targetConnectionId: dyn.id, records, policies }, { write });

    // Synced once: both CRMs hold the title "Engineer".
    const id = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Versioned', Email: 'versioned@race.example', Title: 'Engineer' }).Id);
    expect((await apply(await readLinked(id))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    const dynamicsId = String(dyn.sandbox.admin.listRecords('contacts')[0]?.contactid);

    // Someone makes the title "CTO" in Salesforce; we read it and go to write it to Dynamics...
    sf.sandbox.admin.editAsUser('Contact', id, { Title: 'CTO' });
    const changed = await readLinked(id);
    const [canonicalId] = changed.map((record) => record.canonicalId);
    // ...and just before our write lands, someone else makes it "Chief" in Dynamics.
    let writes = 0;
    const personEditsFirst: TargetWrite = async (target, objectType, inputs) => {
      writes += 1;
      if (writes === 1) {
        skewMs = 5_000;
        dyn.sandbox.admin.uiUpdate('contacts', dynamicsId, { jobtitle: 'Chief' });
      }
      return target.upsertRecords(objectType, inputs);
    };
    const result = await apply(changed, personEditsFirst);

    // The later edit stands in Dynamics; our write was refused and not repeated over it.
    expect(dyn.sandbox.admin.getRecord('contacts', dynamicsId)?.jobtitle).toBe('Chief');
    expect(writes).toBe(1);
    // Nothing left to write: Dynamics holds the canonical value (its own).
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['echo']);
    // It is now the canonical value, to be pushed back to Salesforce, and the decision is recorded.
    expect(result.contributed).toEqual([canonicalId]);
    const decisions = await conflicts.listForRecord(h.tenantId, canonicalId!);
    expect(decisions.filter((decision) => decision.field === 'title')).toEqual([expect.objectContaining({ policy: 'latest', winnerConnectionId: dyn.id, decidedValue: 'Chief' })]);
  });
});

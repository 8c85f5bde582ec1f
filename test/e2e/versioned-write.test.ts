import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToTarget, type LinkedRecord, type TargetWrite } from '../../src/activities/apply-to-target';
import type { ObjectType } from '../../src/model/identifiers';
import { objectConflictPoliciesSchema } from '../../src/model/sync';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Reading a record of `sourceId` as the poll would (linked), and applying it to `targetId` directly;
 * a race is judged on the canonical field `field` (a contact's title, an activity's subject).
 */
async function syncPath(h: SyncHarness, sourceId: string, targetId: string, objectType: ObjectType = 'contact', field = 'title') {
  const deps = applyDependencies(h);
  const policies = objectConflictPoliciesSchema.parse({});
  const source = await deps.connectors.forConnection(sourceId);
  const readLinked = async (id: string): Promise<LinkedRecord[]> => {
    const records = await source.readRecords(objectType, [id]);
    const ids = await deps.links.ensureLinks(h.tenantId, sourceId, objectType, records.map((r) => ({ externalId: r.externalId, proposedCanonicalId: crypto.randomUUID() })));
    return records.map((record) => ({ ...record, canonicalId: ids.get(record.externalId)! }));
  };
  const apply = (records: LinkedRecord[], write?: TargetWrite) =>
    applyToTarget(deps, { tenantId: h.tenantId, objectType, sourceConnectionId: sourceId, targetConnectionId: targetId, records, policies }, { write });
  /**
   * Applies with a person's edit made at the exact moment our first write is about to reach the
   * target; then the person's value (`expected.value`, of `field`) must stand there, written by nobody after them, and be the
   * canonical one (`latest`, decision recorded), to go back to the source.
   */
  const applyRacing = async (records: LinkedRecord[], personEdits: () => void, expected: { value: string; held: () => unknown }) => {
    let writes = 0;
    const result = await apply(records, async (target, objectType, inputs) => {
      writes += 1;
      if (writes === 1) personEdits();
      return target.upsertRecords(objectType, inputs);
    });
    const [canonicalId] = records.map((record) => record.canonicalId);
    expect(expected.held()).toBe(expected.value);
    expect(writes).toBe(1);
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['echo']);
    expect(result.contributed).toEqual([canonicalId]);
    const decisions = await deps.conflicts.listForRecord(h.tenantId, canonicalId!);
    expect(decisions.filter((decision) => decision.field === field)).toEqual([expect.objectContaining({ policy: 'latest', winnerConnectionId: targetId, decidedValue: expected.value })]);
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

  /**
   * A contact created in Dynamics with the title `contact.title` and synced to Salesforce
   * (`syncClock` standing for Salesforce's clock during that first write), then given the title
   * `promotion` in Dynamics. `race(title, personEdits)` applies the promotion while a person gives
   * the Salesforce copy `title` just before our write lands: `personEdits` receives that edit and
   * makes it, moving Salesforce's clock before or after it as the case needs.
   */
  async function promotedInDynamics(contact: { firstname: string; lastname: string; email: string; title: string }, promotion: string, syncClock?: () => number) {
    const sf = h.salesforce!;
    const dyn = h.dynamics!;
    const path = await syncPath(h, dyn.id, sf.id);
    const dynamicsId = String(dyn.sandbox.admin.uiCreate('contacts', { firstname: contact.firstname, lastname: contact.lastname, emailaddress1: contact.email, jobtitle: contact.title }).contactid);
    const clock = salesforceNow;
    if (syncClock) salesforceNow = syncClock;
    expect((await path.apply(await path.readLinked(dynamicsId))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    salesforceNow = clock;
    const salesforceId = String(sf.sandbox.admin.listRecords('Contact').find((record) => record.Email === contact.email)?.Id);
    dyn.sandbox.admin.uiUpdate('contacts', dynamicsId, { jobtitle: promotion });
    const race = async (title: string, personEdits: (edit: () => void) => void) =>
      path.applyRacing(await path.readLinked(dynamicsId), () => personEdits(() => sf.sandbox.admin.editAsUser('Contact', salesforceId, { Title: title })), {
        value: title,
        held: () => sf.sandbox.admin.getRecord('Contact', salesforceId)?.Title,
      });
    return { race };
  }

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
      { value: 'Chief', held: () => dyn.sandbox.admin.getRecord('contacts', dynamicsId)?.jobtitle },
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
    // Synced once (Salesforce's clock 5 s behind): both CRMs hold the title "Buyer". Someone makes
    // it "Head of Buying" in Dynamics; we read it and go to write it to Salesforce, and just before
    // our write lands, someone else makes it "Procurement Lead" in Salesforce, its clock 10 s ahead.
    const { race } = await promotedInDynamics({ firstname: 'Grace', lastname: 'Conditional', email: 'conditional@race.example', title: 'Buyer' }, 'Head of Buying', () => Date.now() - 5_000);
    await race('Procurement Lead', (edit) => {
      salesforceNow = () => Date.now() + skewMs + 10_000;
      edit();
    });
  });

  /**
   * The date `If-Unmodified-Since` holds is whole seconds: a person's save in the same second as
   * the record's previous one passes it. Here Salesforce's clock stands still inside one second
   * while we read the record and they edit it; the connector holds a write against a version read
   * in the second of its last save, waits that second out and has the record read again. Writing
   * at once with the condition, the test fails: the person's title is overwritten.
   */
  it('in Salesforce, in the same second as the previous save, is not overwritten: the write waits the second out and reads again', async () => {
    const frozen = Date.now() + 60_000;
    salesforceNow = () => frozen;
    const { race } = await promotedInDynamics({ firstname: 'Barbara', lastname: 'SameSecond', email: 'same-second@race.example', title: 'Analyst' }, 'Senior Analyst');
    await race('Head of Analysis', (edit) => {
      edit();
      salesforceNow = () => Date.now() + 70_000;
    });
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

  /**
   * A contact created in Salesforce as an engineer and synced to HubSpot, then made "CTO" in
   * Salesforce: what the next apply reads and goes to write over HubSpot's copy.
   */
  async function syncedThenPromoted(firstName: string, lastName: string) {
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    const path = await syncPath(h, sf.id, hs.id);
    const email = `${lastName.toLowerCase()}@race.example`;
    const id = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: firstName, LastName: lastName, Email: email, Title: 'Engineer' }).Id);
    expect((await path.apply(await path.readLinked(id))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    const hubspotId = String(hs.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === email)?.id);
    sf.sandbox.admin.editAsUser('Contact', id, { Title: 'CTO' });
    /** Applies the promotion with a person retitling the HubSpot copy just before our write lands; their title must stay. */
    const racedBy = async (title: string) =>
      path.applyRacing(await path.readLinked(id), () => hs.sandbox.admin.changeAsUser('contacts', hubspotId, { jobtitle: title }), {
        value: title,
        held: () => hs.sandbox.admin.getRecord('contacts', hubspotId)?.properties.jobtitle,
      });
    return { racedBy };
  }

  it('is put back from its history, read again and kept', async () => {
    const { racedBy } = await syncedThenPromoted('Edsger', 'History');
    await racedBy('Chief');
  });

  it('is put back even when putting it back meets a 429 (our write has landed: a second run of the activity would find nothing to write)', async () => {
    const hs = h.hubspot!;
    const { racedBy } = await syncedThenPromoted('Barbara', 'Retry');
    // Our update (the first batch update) lands; the one putting the person's edit back gets a 429.
    hs.sandbox.faults.configure({ rateLimitRate: 1, route: 'POST /crm/v3/objects/:type/batch/update', after: 1, times: 1 });
    try {
      await racedBy('Principal');
      expect(hs.sandbox.counters.rateLimited).toBeGreaterThanOrEqual(1);
    } finally {
      hs.sandbox.faults.configure({});
    }
  });
});

/**
 * Zoho refuses an update of a record modified after the date in `If-Unmodified-Since` (one date a
 * call, whole seconds): the connector sends "not modified after the second before Zoho answered
 * our read", so a person's edit of the Zoho copy landing between our read and our write is
 * refused, read again and kept. Zoho's clock is moved so the person's edit is later by its own
 * whole-second stamp whatever the wall clock does. Writing without the condition, every test fails:
 * the person's title (a task's subject) is overwritten.
 */
describe("a person's Zoho edit made between our read and our write", () => {
  let h: SyncHarness;
  let zohoNow = (): number => Date.now();
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'zoho'], zoho: { now: () => zohoNow() } });
  });
  afterAll(async () => h?.stop());

  /**
   * A contact created in Salesforce and synced to Zoho (Zoho's clock as `syncClock` gives it), then
   * given the title `promotion` in Salesforce; `race(title, personEdits)` applies the promotion while
   * a person retitles the Zoho copy just before our write lands.
   */
  async function promotedInSalesforce(contact: { FirstName: string; LastName: string; Email: string; Title: string }, promotion: string, syncClock: () => number) {
    const sf = h.salesforce!;
    const zoho = h.zoho!;
    const path = await syncPath(h, sf.id, zoho.id);
    const salesforceId = String(sf.sandbox.admin.createAsUser('Contact', contact).Id);
    const clock = zohoNow;
    zohoNow = syncClock;
    expect((await path.apply(await path.readLinked(salesforceId))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    zohoNow = clock;
    const zohoId = String(zoho.sandbox.admin.listRecords('Contacts').find((record) => record.Email === contact.Email)?.id);
    sf.sandbox.admin.editAsUser('Contact', salesforceId, { Title: promotion });
    const race = async (title: string, personEdits: (edit: () => void) => void) =>
      path.applyRacing(await path.readLinked(salesforceId), () => personEdits(() => zoho.sandbox.admin.changeAsUser('Contacts', zohoId, { Title: title })), {
        value: title,
        held: () => zoho.sandbox.admin.getRecord('Contacts', zohoId)?.Title,
      });
    return { race };
  }

  it('is refused by If-Unmodified-Since, read again, and the later edit kept', async () => {
    // Synced with Zoho's clock 5 s behind; the person edits with it 10 s ahead.
    const { race } = await promotedInSalesforce({ FirstName: 'Grace', LastName: 'ZohoConditional', Email: 'zoho-conditional@race.example', Title: 'Buyer' }, 'Head of Buying', () => Date.now() - 5_000);
    await race('Procurement Lead', (edit) => {
      zohoNow = () => Date.now() + 10_000;
      edit();
    });
  });

  it('in the same second as the copy was written and read, is not overwritten: the write waits the second out and reads again', async () => {
    // Zoho's clock stands still while the copy is written, read and edited by the person.
    const frozen = Date.now() + 60_000;
    const { race } = await promotedInSalesforce({ FirstName: 'Barbara', LastName: 'ZohoSameSecond', Email: 'zoho-same-second@race.example', Title: 'Analyst' }, 'Senior Analyst', () => frozen);
    zohoNow = () => frozen;
    await race('Head of Analysis', (edit) => {
      edit();
      zohoNow = () => Date.now() + 70_000;
    });
  });

  /**
   * A task created in Salesforce and synced to Zoho (Zoho's clock as `syncClock` gives it), then
   * given the subject `retitled` in Salesforce; `race(subject, personEdits)` applies that while a
   * person retitles the Zoho task just before our write lands, and `onward()` then applies the Zoho
   * task to Salesforce, answering the outcomes and the subject Salesforce holds after.
   */
  async function taskRetitledInSalesforce(subject: string, retitled: string, syncClock: () => number) {
    const sf = h.salesforce!;
    const zoho = h.zoho!;
    const path = await syncPath(h, sf.id, zoho.id, 'activity', 'subject');
    const salesforceId = String(sf.sandbox.admin.createAsUser('Task', { Subject: subject, Status: 'Not Started', Priority: 'Normal' }).Id);
    const clock = zohoNow;
    zohoNow = syncClock;
    expect((await path.apply(await path.readLinked(salesforceId))).outcomes.map((outcome) => outcome.status)).toEqual(['created']);
    zohoNow = clock;
    const zohoId = String(zoho.sandbox.admin.listRecords('Tasks').find((record) => record.Subject === subject)?.id);
    sf.sandbox.admin.editAsUser('Task', salesforceId, { Subject: retitled });
    const race = async (value: string, personEdits: (edit: () => void) => void) =>
      path.applyRacing(await path.readLinked(salesforceId), () => personEdits(() => zoho.sandbox.admin.changeAsUser('Tasks', zohoId, { Subject: value })), {
        value,
        held: () => zoho.sandbox.admin.getRecord('Tasks', zohoId)?.Subject,
      });
    const onward = async () => {
      const back = await syncPath(h, zoho.id, sf.id, 'activity', 'subject');
      const result = await back.apply(await back.readLinked(zohoId));
      return { statuses: result.outcomes.map((outcome) => outcome.status), subject: sf.sandbox.admin.getRecord('Task', salesforceId)?.Subject };
    };
    return { race, onward };
  }

  /**
   * Activities are written conditionally too (Tasks here; Calls and Events take the same path,
   * test/connectors/zoho/activity-versions.test.ts). Writing tasks without the condition, the
   * person's subject is overwritten and the test fails.
   */
  it("on a task is refused by If-Unmodified-Since, read again, kept, and synced onward to Salesforce", async () => {
    // Clocks past the cases above: synced 5 s behind Zoho's clock, the person edits 10 s ahead.
    zohoNow = () => Date.now() + 100_000;
    const { race, onward } = await taskRetitledInSalesforce('Send contract', 'Send contract today', () => Date.now() + 95_000);
    await race('Send contract Monday', (edit) => {
      zohoNow = () => Date.now() + 110_000;
      edit();
    });
    expect(await onward()).toEqual({ statuses: ['updated'], subject: 'Send contract Monday' });
  });

  it('on a task in the same second as the task was written and read, is not overwritten: the write waits the second out and reads again', async () => {
    const frozen = Date.now() + 200_000;
    const { race, onward } = await taskRetitledInSalesforce('Book venue', 'Book venue now', () => frozen);
    zohoNow = () => frozen;
    await race('Book venue in May', (edit) => {
      edit();
      zohoNow = () => Date.now() + 210_000;
    });
    expect(await onward()).toEqual({ statuses: ['updated'], subject: 'Book venue in May' });
  });
});

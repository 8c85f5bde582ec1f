import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord } from '../../../src/connectors/connector';
import type { PipedriveConnector } from '../../../src/connectors/pipedrive';
import type { ObjectType } from '../../../src/model/identifiers';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';

/**
 * Reference slots over real HTTP against the Pipedrive sandbox (BEHAVIOR.md, "Associations"):
 * contact.company = person org_id; deal.company / primaryContact = org_id / person_id; deal.contacts
 * = the deal's person plus its v1 participants; activity.company / deal = org_id / deal_id;
 * activity.contacts = its v2 participants (primary first).
 */
describe('Pipedrive connector: associations', () => {
  let pd: PipedriveSandbox;
  let connector: PipedriveConnector;
  // The company's clock, moved on where a change must fall in a later second than the watermark.
  let skewMs = 0;
  const companyNow = (): number => Date.now() + skewMs;

  const PARTICIPANTS = 'GET /v1/deals/:id/participants';
  const requests = (route: string): number => pd.admin.counters().requests[route] ?? 0;

  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false, now: companyNow });
    connector = await connectorFor(pd, { lookbackMs: 0 });
  });
  afterAll(async () => {
    await connector.close();
    await pd.stop();
  });

  const person = (name: string): string => String(pd.admin.createAsUser('persons', { name }).id);
  const org = (name: string): string => String(pd.admin.createAsUser('organizations', { name }).id);

  async function upsertOne(objectType: ObjectType, input: Parameters<PipedriveConnector['upsertRecords']>[1][number]): Promise<string> {
    const [outcome] = await connector.upsertRecords(objectType, [input]);
    if (outcome?.status !== 'created' && outcome?.status !== 'updated') throw new Error(`not written: ${JSON.stringify(outcome)}`);
    return outcome.externalId;
  }

  async function readOne(objectType: ObjectType, id: string): Promise<ExternalRecord> {
    const [record] = await connector.readRecords(objectType, [id]);
    if (!record) throw new Error(`${objectType} ${id} not read`);
    return record;
  }

  async function changed(objectType: ObjectType, since: string, id: string): Promise<ExternalRecord | undefined> {
    const found: ExternalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await connector.listChanges(objectType, { since, cursor });
      found.push(...page.records.filter((record) => record.externalId === id));
      cursor = page.nextCursor;
    } while (cursor);
    return found.at(-1);
  }

  async function exported(objectType: ObjectType, id: string): Promise<ExternalRecord | undefined> {
    let cursor: string | undefined = await connector.bulk.startExport(objectType);
    let hit: ExternalRecord | undefined;
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      hit = page.records.find((record) => record.externalId === id) ?? hit;
      cursor = page.nextCursor;
    }
    return hit;
  }

  const sorted = (record: ExternalRecord | undefined): Record<string, unknown> => {
    const references = { ...record?.references };
    for (const [slot, value] of Object.entries(references)) if (Array.isArray(value)) references[slot] = [...value].sort();
    return references;
  };

  it('reads every slot on readRecords, listChanges and the bulk export (findByUniqueKeys may leave them out)', async () => {
    const since = new Date(companyNow() - 1_000).toISOString();
    const [acme, ada, grace, edsger, barbara] = [org('Acme'), person('Ada'), person('Grace'), person('Edsger'), person('Barbara')];
    const adaContact = await upsertOne('contact', { syncId: randomUUID(), externalId: ada, fields: { email: 'ada@acme.example' }, references: { company: acme } });
    const deal = await upsertOne('deal', { syncId: randomUUID(), fields: { name: 'Renewal' }, references: { company: acme, primaryContact: ada, contacts: [ada, grace, edsger] } });
    const activity = await upsertOne('activity', { syncId: randomUUID(), fields: { subject: 'Kick-off' }, references: { company: acme, deal, contacts: [barbara, ada] } });

    const dealSlots = { company: acme, primaryContact: ada, contacts: [ada, edsger, grace].sort() };
    const activitySlots = { company: acme, deal, contacts: [ada, barbara].sort() };
    for (const read of [() => readOne('deal', deal), () => changed('deal', since, deal), () => exported('deal', deal)]) expect(sorted(await read())).toEqual(dealSlots);
    for (const read of [() => readOne('activity', activity), () => changed('activity', since, activity), () => exported('activity', activity)]) expect(sorted(await read())).toEqual(activitySlots);
    for (const read of [() => readOne('contact', adaContact), () => changed('contact', since, adaContact), () => exported('contact', adaContact)]) expect((await read())?.references).toEqual({ company: acme });
    // The activity's first contact written is its primary participant, and comes first on read.
    expect((await readOne('activity', activity)).references.contacts).toEqual([barbara, ada]);
    expect(pd.admin.getRecord('activities', Number(activity))).toMatchObject({ person_id: Number(barbara) });
    // Matching reads no participants: the deal's contacts slot is absent (not read), never empty.
    const [matched] = await connector.findByUniqueKeys('contact', { field: 'email', values: ['ada@acme.example'] });
    expect(matched?.references).toEqual({ company: acme });
  });

  it('writes add, remove, replace and clear each slot exactly; a slot left out is untouched', async () => {
    const [acme, globex, ada, grace, edsger, barbara] = [org('Acme'), org('Globex'), person('Ada'), person('Grace'), person('Edsger'), person('Barbara')];
    const syncId = randomUUID();
    const deal = await upsertOne('deal', { syncId, fields: { name: 'Pilot' }, references: { company: acme, primaryContact: ada, contacts: [ada, grace] } });
    const participants = (): string[] => pd.admin.dealParticipants(Number(deal)).map(String).sort();
    expect(participants()).toEqual([grace]);

    // Add one, remove one.
    await upsertOne('deal', { syncId, externalId: deal, fields: {}, references: { contacts: [ada, edsger, barbara] } });
    expect(participants()).toEqual([barbara, edsger].sort());
    expect(sorted(await readOne('deal', deal))).toEqual({ company: acme, primaryContact: ada, contacts: [ada, barbara, edsger].sort() });

    // A field-only write leaves every slot as it was.
    await upsertOne('deal', { syncId, externalId: deal, fields: { amount: 10 } });
    expect(sorted(await readOne('deal', deal))).toEqual({ company: acme, primaryContact: ada, contacts: [ada, barbara, edsger].sort() });

    // Replace the company and the primary contact; the old primary is no longer a contact.
    await upsertOne('deal', { syncId, externalId: deal, fields: {}, references: { company: globex, primaryContact: grace, contacts: [grace, barbara] } });
    expect(sorted(await readOne('deal', deal))).toEqual({ company: globex, primaryContact: grace, contacts: [barbara, grace].sort() });
    expect(participants()).toEqual([barbara]);

    // Contacts that leave out the deal's person (primaryContact not written): the set wins, the person is cleared.
    await upsertOne('deal', { syncId, externalId: deal, fields: {}, references: { contacts: [edsger] } });
    expect(sorted(await readOne('deal', deal))).toEqual({ company: globex, primaryContact: null, contacts: [edsger] });

    // Clear everything.
    await upsertOne('deal', { syncId, externalId: deal, fields: {}, references: { company: null, primaryContact: null, contacts: [] } });
    expect(sorted(await readOne('deal', deal))).toEqual({ company: null, primaryContact: null, contacts: [] });
    expect(participants()).toEqual([]);

    // Activities: the participants list is the set; replace, then clear; deal and company too.
    const activitySync = randomUUID();
    const activity = await upsertOne('activity', { syncId: activitySync, fields: { subject: 'Call' }, references: { deal, company: acme, contacts: [ada] } });
    await upsertOne('activity', { syncId: activitySync, externalId: activity, fields: {}, references: { contacts: [grace, edsger] } });
    expect(sorted(await readOne('activity', activity))).toEqual({ company: acme, deal, contacts: [edsger, grace].sort() });
    await upsertOne('activity', { syncId: activitySync, externalId: activity, fields: {}, references: { contacts: [], deal: null, company: null } });
    expect(await readOne('activity', activity)).toMatchObject({ references: { company: null, deal: null, contacts: [] } });
    expect(pd.admin.getRecord('activities', Number(activity))).toMatchObject({ person_id: null, participants: [] });

    // A contact's company: set, replace, clear.
    const contact = await upsertOne('contact', { syncId: randomUUID(), fields: { lastName: 'Hopper' }, references: { company: acme } });
    await upsertOne('contact', { syncId: randomUUID(), externalId: contact, fields: {}, references: { company: globex } });
    expect((await readOne('contact', contact)).references).toEqual({ company: globex });
    await upsertOne('contact', { syncId: randomUUID(), externalId: contact, fields: {}, references: { company: null } });
    expect((await readOne('contact', contact)).references).toEqual({ company: null });
  });

  it('writes slots on the bulk path too', async () => {
    const [acme, ada, grace] = [org('Acme'), person('Ada'), person('Grace')];
    const outcomes = await connector.bulk.upsert('deal', [
      { syncId: randomUUID(), fields: { name: 'Bulk 1' }, references: { company: acme, primaryContact: ada, contacts: [ada, grace] } },
      { syncId: randomUUID(), fields: { name: 'Bulk 2' }, references: { contacts: [grace] } },
    ]);
    const ids = outcomes.map((outcome) => (outcome.status === 'created' ? outcome.externalId : ''));
    expect(sorted(await readOne('deal', ids[0] as string))).toEqual({ company: acme, primaryContact: ada, contacts: [ada, grace].sort() });
    expect(sorted(await readOne('deal', ids[1] as string))).toEqual({ company: null, primaryContact: null, contacts: [grace] });
  });

  it('finds association changes made on the record by polling; a deal participant change alone is not (documented), the next read or export carries it', async () => {
    const [acme, globex, ada, grace] = [org('Acme'), org('Globex'), person('Ada'), person('Grace')];
    const deal = await upsertOne('deal', { syncId: randomUUID(), fields: { name: 'Quiet' }, references: { company: acme, primaryContact: ada, contacts: [ada] } });
    const activity = await upsertOne('activity', { syncId: randomUUID(), fields: { subject: 'Quiet call' }, references: { contacts: [ada] } });
    skewMs += 1_100;
    const watermark = new Date(companyNow()).toISOString();
    skewMs += 1_100;

    // A person in the web app moves the deal to another organization and adds a participant to the activity: both stamp update_time.
    pd.admin.changeAsUser('deals', Number(deal), { org_id: Number(globex) });
    pd.admin.changeAsUser('activities', Number(activity), { participants: [{ person_id: Number(ada), primary: true }, { person_id: Number(grace), primary: false }] });
    expect((await changed('deal', watermark, deal))?.references).toMatchObject({ company: globex });
    expect(sorted(await changed('activity', watermark, activity))).toMatchObject({ contacts: [ada, grace].sort() });

    // A deal participant added in the app leaves the deal's update_time (sandbox choice, UNCONFIRMED at Pipedrive): polling does not see it...
    skewMs += 1_100;
    const later = new Date(companyNow()).toISOString();
    skewMs += 1_100;
    pd.admin.addDealParticipant(Number(deal), Number(grace));
    expect(await changed('deal', later, deal)).toBeUndefined();
    // ...the record read and the export do, whole.
    expect(sorted(await readOne('deal', deal))).toMatchObject({ contacts: [ada, grace].sort() });
    expect(sorted(await exported('deal', deal))).toMatchObject({ contacts: [ada, grace].sort() });
  });

  it('lists participants only for deals that have any: calls per page are the list plus one per such deal', async () => {
    skewMs += 2_000;
    const ada = person('Ada');
    const since = new Date(companyNow() - 1_000).toISOString();
    const ids = Array.from({ length: 12 }, (_, index) => String(pd.admin.createAsUser('deals', { title: `Deal ${index}`, person_id: Number(ada) }).id));
    const withParticipants = ids.slice(0, 3);
    for (const id of withParticipants) pd.admin.addDealParticipant(Number(id), Number(person(`P${id}`)));

    const before = { list: requests('GET /api/v2/:entity'), participants: requests(PARTICIPANTS) };
    const seen: ExternalRecord[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await connector.listChanges('deal', { since, cursor, limit: 500 });
      seen.push(...page.records.filter((record) => ids.includes(record.externalId)));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen).toHaveLength(12);
    expect(requests('GET /api/v2/:entity') - before.list).toBe(pages);
    // The window holds only this test's deals (earlier ones are stamped seconds before `since`): three have participants.
    expect(requests(PARTICIPANTS) - before.participants).toBe(withParticipants.length);
    for (const record of seen) expect(record.references.contacts).toHaveLength(withParticipants.includes(record.externalId) ? 2 : 1);

    // readRecords of deals without participants makes no participant call at all.
    const quiet = ids.slice(3);
    const beforeRead = requests(PARTICIPANTS);
    const read = await connector.readRecords('deal', quiet);
    expect(read.map((record) => record.references.contacts)).toEqual(quiet.map(() => [ada]));
    expect(requests(PARTICIPANTS)).toBe(beforeRead);
  });
});

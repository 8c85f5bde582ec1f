import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

const BATCH_READ = 'POST /crm/v4/associations/:fromType/:toType/batch/read';
const BATCH_CREATE = 'POST /crm/v4/associations/:fromType/:toType/batch/create';
const BATCH_ARCHIVE = 'POST /crm/v4/associations/:fromType/:toType/batch/archive';
const PER_RECORD_READ = 'GET /crm/v4/objects/:type/:id/associations/:toType';

/** Reference slots over real HTTP: v4 batch reads on every read path, batch archive/create on every write path. */
describe('HubSpot connector: associations', () => {
  let hs: HubSpotSandbox;
  let connector: HubSpotConnector;

  beforeAll(async () => {
    // Three associations per page of a batch read, so a deal with five contacts pages.
    hs = await startHubSpotSandbox({ limits: false, associationsPageSize: 3 });
    connector = await createHubSpotConnector({ connectionId: `hs-assoc-${randomUUID()}`, basePath: hs.url, auth: { kind: 'private-app', accessToken: hs.credentials.accessToken } });
  });
  afterAll(async () => hs.stop());

  const calls = (endpoint: string): number => hs.counters.snapshot().requests[endpoint] ?? 0;

  async function create(objectType: 'contact' | 'company' | 'deal' | 'activity', inputs: Omit<UpsertInput, 'syncId'>[]): Promise<string[]> {
    const outcomes = await connector.upsertRecords(objectType, inputs.map((input) => ({ syncId: randomUUID(), ...input })));
    return outcomes.map((outcome) => {
      if (outcome.status !== 'created') throw new Error(`not created: ${JSON.stringify(outcome)}`);
      return outcome.externalId;
    });
  }

  async function exported(objectType: 'contact' | 'deal' | 'activity'): Promise<ExternalRecord[]> {
    const records: ExternalRecord[] = [];
    let cursor: string | undefined = await connector.bulk.startExport(objectType);
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      records.push(...page.records);
      cursor = page.nextCursor;
    }
    return records;
  }

  async function changed(objectType: 'contact' | 'deal' | 'activity'): Promise<ExternalRecord[]> {
    const records: ExternalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await connector.listChanges(objectType, { since: '2000-01-01T00:00:00.000Z', cursor });
      records.push(...page.records);
      cursor = page.nextCursor;
    } while (cursor);
    return records;
  }

  it('reads every slot on readRecords, listChanges pages and export pages; single slots take the primary association', async () => {
    const [acme, beta] = await create('company', [{ fields: { name: 'Acme' } }, { fields: { name: 'Beta' } }]) as [string, string];
    const contacts = await create('contact', [1, 2, 3, 4, 5].map((n) => ({ fields: { lastName: `C${n}`, email: `c${n}-${randomUUID()}@x.example` } })));
    const [first] = contacts as [string];
    // A person links the contact to Acme (lower id) and makes Beta its primary company: the slot is Beta.
    hs.admin.associateAsUser('contacts', first, 'companies', acme);
    hs.admin.associateAsUser('contacts', first, 'companies', beta, { primary: true });
    const [deal] = (await create('deal', [{ fields: { name: 'Big deal' }, references: { company: beta, contacts } }])) as [string];
    // Acme joins the deal unlabelled: Beta stays the deal's (primary) company.
    hs.admin.associateAsUser('deals', deal, 'companies', acme);
    const [task] = (await create('activity', [{ fields: { subject: 'Call' }, references: { contacts: [first], deal } }])) as [string];
    const [loner] = (await create('contact', [{ fields: { lastName: 'Alone' } }])) as [string];

    const expected = new Map<string, Record<string, unknown>>([
      [first, { company: beta }],
      [loner, { company: null }],
      [deal, { company: beta, contacts: [...contacts].sort((a, b) => Number(a) - Number(b)) }],
      [task, { contacts: [first], company: null, deal }],
    ]);
    const check = (records: ExternalRecord[]): void => {
      for (const [id, references] of expected) {
        const record = records.find((candidate) => candidate.externalId === id);
        if (!record) continue;
        // toEqual: HubSpot has no primary contact on a deal, so that slot is absent (not read), never null.
        expect(record.references, `${record.objectType} ${id}`).toEqual(references);
      }
    };
    const read = [...(await connector.readRecords('contact', [first, loner])), ...(await connector.readRecords('deal', [deal])), ...(await connector.readRecords('activity', [task]))];
    expect(read).toHaveLength(4);
    check(read);
    const fromChanges = [...(await changed('contact')), ...(await changed('deal')), ...(await changed('activity'))];
    expect(fromChanges.filter((record) => expected.has(record.externalId))).toHaveLength(4);
    check(fromChanges);
    const fromExport = [...(await exported('contact')), ...(await exported('deal')), ...(await exported('activity'))];
    expect(fromExport.filter((record) => expected.has(record.externalId))).toHaveLength(4);
    check(fromExport);
    expect(calls(PER_RECORD_READ)).toBe(0);
  });

  it('bounds association reads to one batch call per page and target type (plus paging of many links), not per record', async () => {
    const [company] = (await create('company', [{ fields: { name: 'Many' } }])) as [string];
    const contacts = await create('contact', Array.from({ length: 60 }, (_, n) => ({ fields: { lastName: `M${n}` }, references: { company } })));
    const before = calls(BATCH_READ);
    const records = await connector.readRecords('contact', contacts);
    expect(records.every((record) => record.references.company === company)).toBe(true);
    // One target type (companies) for contacts, 60 records, one call.
    expect(calls(BATCH_READ) - before).toBe(1);
    const tasksBefore = calls(BATCH_READ);
    const tasks = await create('activity', Array.from({ length: 30 }, (_, n) => ({ fields: { subject: `T${n}` }, references: { contacts: contacts.slice(n, n + 2), company } })));
    // Creates read nothing (HubSpot just made them: no links yet).
    expect(calls(BATCH_READ) - tasksBefore).toBe(0);
    const readBefore = calls(BATCH_READ);
    expect((await connector.readRecords('activity', tasks)).every((record) => (record.references.contacts as string[]).length === 2)).toBe(true);
    // Three target types for tasks (contacts, companies, deals): three calls for 30 tasks.
    expect(calls(BATCH_READ) - readBefore).toBe(3);
  });

  it('writes add and remove links so a slot holds exactly the set given; a single company slot is replaced, as the primary; [] clears a many slot, null a single one', async () => {
    const [a, b] = (await create('company', [{ fields: { name: 'A' } }, { fields: { name: 'B' } }])) as [string, string];
    const [x, y, z] = (await create('contact', [{ fields: { lastName: 'X' } }, { fields: { lastName: 'Y' } }, { fields: { lastName: 'Z' } }])) as [string, string, string];
    const syncId = randomUUID();
    const [created] = await connector.upsertRecords('deal', [{ syncId, fields: { name: 'D' }, references: { company: a, contacts: [x, y] } }]);
    if (created?.status !== 'created') throw new Error('deal not created');
    const deal = created.externalId;
    expect(hs.admin.listAssociations('deals', deal, 'companies')).toEqual([{ toObjectId: a, associationTypes: expect.arrayContaining([expect.objectContaining({ typeId: 5 }), expect.objectContaining({ typeId: 341 })]) as unknown }]);

    const createsBefore = calls(BATCH_CREATE);
    const archivesBefore = calls(BATCH_ARCHIVE);
    const [moved] = await connector.upsertRecords('deal', [{ syncId, externalId: deal, fields: {}, references: { company: b, contacts: [y, z] } }]);
    expect(moved).toMatchObject({ status: 'updated' });
    // Per target type: one archive (A; X) and one create (B as primary; Z).
    expect(calls(BATCH_ARCHIVE) - archivesBefore).toBe(2);
    expect(calls(BATCH_CREATE) - createsBefore).toBe(2);
    expect(hs.admin.listAssociations('deals', deal, 'companies').map((link) => link.toObjectId)).toEqual([b]);
    expect(hs.admin.listAssociations('deals', deal, 'companies')[0]?.associationTypes.some((type) => type.typeId === 5)).toBe(true);
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toEqual({ company: b, contacts: [y, z] });

    // An unlabelled company the deal already has becomes its company: the label is added, the other removed.
    hs.admin.associateAsUser('deals', deal, 'companies', a);
    await connector.upsertRecords('deal', [{ syncId, externalId: deal, fields: {}, references: { company: a } }]);
    expect(hs.admin.listAssociations('deals', deal, 'companies')).toEqual([{ toObjectId: a, associationTypes: expect.arrayContaining([expect.objectContaining({ typeId: 5 })]) as unknown }]);

    // A slot left out is untouched; [] clears a many slot, null a single one.
    await connector.upsertRecords('deal', [{ syncId, externalId: deal, fields: {}, references: { contacts: [] } }]);
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toEqual({ company: a, contacts: [] });
    await connector.upsertRecords('deal', [{ syncId, externalId: deal, fields: {}, references: { company: null } }]);
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toEqual({ company: null, contacts: [] });
  });

  it('bulk.upsert writes references too, and a record whose links HubSpot refused is not reported written', async () => {
    const [company] = (await create('company', [{ fields: { name: 'Bulk' } }])) as [string];
    const inputs: UpsertInput[] = Array.from({ length: 150 }, (_, n) => ({ syncId: randomUUID(), fields: { lastName: `B${n}` }, references: { company: n === 7 ? '987654321' : company } }));
    const outcomes = await connector.bulk.upsert('contact', inputs);
    expect(outcomes.filter((outcome) => outcome.status === 'created')).toHaveLength(149);
    // Written, but its company does not exist: failed (not-found), so the engine does not take it as done.
    expect(outcomes[7]).toMatchObject({ status: 'failed', error: { errorClass: 'not-found' } });
    const ids = outcomes.flatMap((outcome) => (outcome.status === 'created' ? [outcome.externalId] : []));
    const read = await connector.readRecords('contact', ids);
    expect(read.every((record) => record.references.company === company)).toBe(true);
  });
});

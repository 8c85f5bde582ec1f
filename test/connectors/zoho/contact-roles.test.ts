import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import type { ObjectType } from '../../../src/model/identifiers';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

/**
 * deal.contacts over real HTTP against the Zoho sandbox (BEHAVIOR.md, "Associations"): the
 * deal's Contact_Name plus its Contact Roles (`/Deals/{id}/Contact_Roles`), read on every read
 * path, one role-list call per deal; written exactly (roles added with the org's first role,
 * removed, Contact_Name cleared when outside the set).
 */
describe('Zoho connector: deal contacts (Contact Roles)', () => {
  let zoho: ZohoSandbox;
  let connector: ZohoConnector;
  // The sandbox's clock: moved forward instead of waiting.
  let skewMs = 0;

  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false, now: () => Date.now() + skewMs });
    connector = await connectTo(zoho);
  });
  afterAll(async () => {
    await connector.close();
    await zoho.stop();
  });

  async function write(objectType: ObjectType, input: UpsertInput): Promise<string> {
    const [outcome] = await connector.upsertRecords(objectType, [input]);
    if (outcome?.status !== 'created' && outcome?.status !== 'updated') throw new Error(`not written: ${JSON.stringify(outcome)}`);
    return outcome.externalId;
  }
  const contact = (lastName: string): Promise<string> => write('contact', { syncId: randomUUID(), fields: { lastName } });

  async function everyPath(id: string, since: string): Promise<ExternalRecord[]> {
    const [read] = await connector.readRecords('deal', [id]);
    const changed = (await connector.listChanges('deal', { since })).records.find((record) => record.externalId === id);
    let exported: ExternalRecord | undefined;
    for (let cursor: string | undefined = await connector.bulk.startExport('deal'); cursor && !exported; ) {
      const page = await connector.bulk.readExportPage(cursor);
      exported = page.records.find((record) => record.externalId === id);
      cursor = page.nextCursor;
    }
    const sinceExport = (await connector.bulk.readExportPage(await connector.bulk.startExport('deal', { since }))).records.find((record) => record.externalId === id);
    return [read, changed, exported, sinceExport].map((record, index) => {
      if (!record) throw new Error(`deal ${id} missing on read path ${index}`);
      return record;
    });
  }

  it('reads Contact_Name ∪ Contact Roles as deal.contacts on readRecords, listChanges and both exports', async () => {
    const since = new Date(Date.now() - 5_000).toISOString();
    const [ada, grace, alan] = [await contact('Lovelace'), await contact('Hopper'), await contact('Turing')];
    const deal = await write('deal', { syncId: randomUUID(), fields: { name: 'Pilot', stage: 'proposal' }, references: { primaryContact: ada } });
    zoho.admin.setContactRoleAsUser(deal, grace, 'Evaluator');
    zoho.admin.setContactRoleAsUser(deal, alan);
    for (const record of await everyPath(deal, since)) {
      expect(record.references.primaryContact).toBe(ada);
      expect([...(record.references.contacts as string[])].sort()).toEqual([ada, grace, alan].sort());
    }
    const bare = await write('deal', { syncId: randomUUID(), fields: { name: 'Bare', stage: 'proposal' } });
    expect((await connector.readRecords('deal', [bare]))[0]?.references).toEqual({ company: null, primaryContact: null, contacts: [] });
  });

  it('writes the set exactly: add with the first org role, replace, keep a role a person chose, clear, and drop a Contact_Name outside the set', async () => {
    const [ada, grace, alan, linus] = [await contact('Lovelace'), await contact('Hopper'), await contact('Turing'), await contact('Torvalds')];
    const syncId = randomUUID();
    const deal = await write('deal', { syncId, fields: { name: 'Roles', stage: 'proposal' }, references: { primaryContact: ada, contacts: [ada, grace] } });
    // Purchasing is the org's first role by sequence number.
    expect(zoho.admin.dealContactRoles(deal)).toEqual({ [ada]: 'Purchasing', [grace]: 'Purchasing' });

    zoho.admin.setContactRoleAsUser(deal, grace, 'Evaluator');
    await write('deal', { syncId, externalId: deal, fields: {}, references: { contacts: [ada, grace, alan] } });
    expect(zoho.admin.dealContactRoles(deal)).toEqual({ [ada]: 'Purchasing', [grace]: 'Evaluator', [alan]: 'Purchasing' });

    // A slot absent is untouched.
    await write('deal', { syncId, externalId: deal, fields: { amount: 5 } });
    expect(Object.keys(zoho.admin.dealContactRoles(deal)).sort()).toEqual([ada, grace, alan].sort());

    // Replace: the set without Contact_Name's contact clears it (the set is the whole truth).
    await write('deal', { syncId, externalId: deal, fields: {}, references: { contacts: [linus] } });
    expect(zoho.admin.dealContactRoles(deal)).toEqual({ [linus]: 'Purchasing' });
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toMatchObject({ primaryContact: null, contacts: [linus] });

    // Upsert by sync id (no external id) also reads Contact_Name to decide.
    await write('deal', { syncId, fields: { name: 'Roles' }, references: { primaryContact: grace } });
    await write('deal', { syncId, fields: { name: 'Roles' }, references: { contacts: [grace, linus] } });
    const read = (await connector.readRecords('deal', [deal]))[0];
    expect(read?.references.primaryContact).toBe(grace);
    expect([...(read?.references.contacts as string[])].sort()).toEqual([grace, linus].sort());

    await write('deal', { syncId, externalId: deal, fields: {}, references: { contacts: [] } });
    expect(zoho.admin.dealContactRoles(deal)).toEqual({});
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toMatchObject({ primaryContact: null, contacts: [] });
  });

  it('an unknown contact fails that deal only, with the vendor refusal', async () => {
    const ada = await contact('Lovelace');
    const outcomes = await connector.upsertRecords('deal', [
      { syncId: randomUUID(), fields: { name: 'Good', stage: 'proposal' }, references: { contacts: [ada] } },
      { syncId: randomUUID(), fields: { name: 'Bad', stage: 'proposal' }, references: { contacts: ['5843104999999999999'] } },
    ]);
    expect(outcomes[0]?.status).toBe('created');
    expect(outcomes[1]).toMatchObject({ status: 'failed', error: { errorClass: 'validation' } });
  });

  it('costs one role-list call per deal read, beside the records call', async () => {
    const ada = await contact('Lovelace');
    const deals: string[] = [];
    for (let i = 0; i < 5; i += 1) deals.push(await write('deal', { syncId: randomUUID(), fields: { name: `Deal ${i}`, stage: 'proposal' }, references: { contacts: [ada] } }));
    const before = connector.requestCount;
    const records = await connector.readRecords('deal', deals);
    expect(records.every((record) => (record.references.contacts as string[]).includes(ada))).toBe(true);
    expect(connector.requestCount - before).toBe(1 + deals.length);
  });

  it('a role-only change does not move Modified_Time (sandbox choice, UNCONFIRMED): polling misses it, a read sees it', async () => {
    const ada = await contact('Lovelace');
    const deal = await write('deal', { syncId: randomUUID(), fields: { name: 'Quiet', stage: 'proposal' } });
    const [before] = await connector.readRecords('deal', [deal]);
    skewMs += 3_600_000;
    const since = new Date(Date.now() + skewMs).toISOString();
    zoho.admin.setContactRoleAsUser(deal, ada);
    const [after] = await connector.readRecords('deal', [deal]);
    expect(after?.modifiedAt).toBe(before?.modifiedAt);
    expect(after?.references.contacts).toEqual([ada]);
    const polled = await connector.listChanges('deal', { since, limit: 200 });
    expect(polled.records.map((record) => record.externalId)).not.toContain(deal);
  });
});

import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

let sandbox: SalesforceSandbox;
let conn: Connection;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ dailyApiRequests: false });
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  conn = new Connection({ instanceUrl, accessToken, version });
});
afterAll(async () => sandbox.stop());

interface Role {
  Id: string;
  OpportunityId: string;
  ContactId: string;
  IsPrimary: boolean;
  IsDeleted: boolean;
  SystemModstamp: string;
}

async function opportunityWithContacts(contacts: number): Promise<{ opportunityId: string; contactIds: string[] }> {
  const seeded = sandbox.admin.seed({ deals: 1, contacts });
  return { opportunityId: String(seeded.Opportunity?.[0]), contactIds: (seeded.Contact ?? []).map(String) };
}

const rolesOf = async (opportunityId: string, all = false): Promise<Role[]> =>
  (await conn.query<Role>(`SELECT Id, OpportunityId, ContactId, IsPrimary, IsDeleted, SystemModstamp FROM OpportunityContactRole WHERE OpportunityId = '${opportunityId}' ORDER BY Id`, { scanAll: all })).records;

describe('OpportunityContactRole', () => {
  it('is created through collections with the 00K prefix, IsPrimary defaulting to false, and described as Salesforce does', async () => {
    const { opportunityId, contactIds } = await opportunityWithContacts(2);
    const results = await conn.sobject('OpportunityContactRole').create(contactIds.map((ContactId) => ({ OpportunityId: opportunityId, ContactId, Role: 'Decision Maker' })), { allOrNone: false });
    expect(results.every((result) => result.success && String(result.id).startsWith('00K'))).toBe(true);
    const roles = await rolesOf(opportunityId);
    expect(roles.map((role) => [role.ContactId, role.IsPrimary])).toEqual(contactIds.map((id) => [id, false]));
    const described = await conn.sobject('OpportunityContactRole').describe();
    const field = (name: string) => described.fields.find((candidate) => candidate.name === name);
    expect(field('OpportunityId')).toMatchObject({ createable: true, updateable: false, nillable: false });
    expect(field('ContactId')).toMatchObject({ createable: true, updateable: true });
    expect(field('OwnerId')).toBeUndefined();
    expect(described.keyPrefix).toBe('00K');
  });

  it('keeps one primary per opportunity: marking another primary clears the first', async () => {
    const { opportunityId, contactIds } = await opportunityWithContacts(2);
    const [first] = await conn.sobject('OpportunityContactRole').create([{ OpportunityId: opportunityId, ContactId: contactIds[0], IsPrimary: true }], { allOrNone: false });
    await conn.sobject('OpportunityContactRole').create([{ OpportunityId: opportunityId, ContactId: contactIds[1], IsPrimary: true }], { allOrNone: false });
    const roles = await rolesOf(opportunityId);
    expect(roles.filter((role) => role.IsPrimary).map((role) => role.ContactId)).toEqual([contactIds[1]]);
    expect(roles.find((role) => role.Id === first?.id)?.IsPrimary).toBe(false);
  });

  it('lets one contact hold two roles on one opportunity, refuses an OpportunityId change and a reference of the wrong type', async () => {
    const { opportunityId, contactIds } = await opportunityWithContacts(1);
    const other = await opportunityWithContacts(0);
    const twice = await conn.sobject('OpportunityContactRole').create(
      [
        { OpportunityId: opportunityId, ContactId: contactIds[0], Role: 'Evaluator' },
        { OpportunityId: opportunityId, ContactId: contactIds[0], Role: 'Economic Buyer' },
      ],
      { allOrNone: false },
    );
    expect(twice.every((result) => result.success)).toBe(true);
    const [moved] = await conn.sobject('OpportunityContactRole').update([{ Id: String(twice[0]?.id), OpportunityId: other.opportunityId }], { allOrNone: false });
    expect(moved).toMatchObject({ success: false, errors: [expect.objectContaining({ statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['OpportunityId'] })] });
    const [wrongType] = await conn.sobject('OpportunityContactRole').create([{ OpportunityId: opportunityId, ContactId: opportunityId }], { allOrNone: false });
    expect(wrongType).toMatchObject({ success: false, errors: [expect.objectContaining({ statusCode: 'FIELD_INTEGRITY_EXCEPTION', fields: ['ContactId'] })] });
  });

  it('a role deleted on its own skips the Recycle Bin but is in getDeleted; a role change leaves the opportunity stamp alone', async () => {
    const { opportunityId, contactIds } = await opportunityWithContacts(1);
    const stampBefore = sandbox.admin.getRecord('Opportunity', opportunityId)?.SystemModstamp;
    const start = new Date(Date.now() - 60_000);
    const [created] = await conn.sobject('OpportunityContactRole').create([{ OpportunityId: opportunityId, ContactId: contactIds[0] }], { allOrNone: false });
    await conn.sobject('OpportunityContactRole').destroy([String(created?.id)], { allOrNone: false });
    expect(await rolesOf(opportunityId, true)).toEqual([]);
    const deleted = await conn.sobject('OpportunityContactRole').deleted(start, new Date(Date.now() + 60_000));
    expect(deleted.deletedRecords.map((record) => record.id)).toEqual([created?.id]);
    expect(sandbox.admin.getRecord('Opportunity', opportunityId)?.SystemModstamp).toBe(stampBefore);
  });

  it('goes to the Recycle Bin with its opportunity (IsDeleted visible to queryAll) and comes back on undelete', async () => {
    const { opportunityId, contactIds } = await opportunityWithContacts(1);
    await conn.sobject('OpportunityContactRole').create([{ OpportunityId: opportunityId, ContactId: contactIds[0] }], { allOrNone: false });
    sandbox.admin.deleteRecord('Opportunity', opportunityId);
    expect(await rolesOf(opportunityId)).toEqual([]);
    expect((await rolesOf(opportunityId, true)).map((role) => role.IsDeleted)).toEqual([true]);
    sandbox.admin.undeleteRecord('Opportunity', opportunityId);
    expect((await rolesOf(opportunityId)).map((role) => role.ContactId)).toEqual(contactIds);
  });
});

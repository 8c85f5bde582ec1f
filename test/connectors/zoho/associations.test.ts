import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import type { ObjectType } from '../../../src/model/identifiers';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

/**
 * Record-level reference slots over real HTTP against the Zoho sandbox (BEHAVIOR.md,
 * "Associations"): contact.company = Account_Name; deal.company / primaryContact = Account_Name /
 * Contact_Name; a task's What_Id is its deal or its company by `$se_module`; Who_Id one contact.
 * A deal's contacts are Contact_Name plus its Contact Roles (contact-roles.test.ts).
 */
describe('Zoho connector: associations', () => {
  let zoho: ZohoSandbox;
  let connector: ZohoConnector;
  let skewMs = 0;

  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false, now: () => Date.now() + skewMs });
    connector = await connectTo(zoho);
  });
  afterAll(async () => {
    await connector.close();
    await zoho.stop();
  });

  async function write(objectType: ObjectType, input: UpsertInput): Promise<{ externalId: string; adjusted?: string[] | undefined }> {
    const [outcome] = await connector.upsertRecords(objectType, [input]);
    if (outcome?.status !== 'created' && outcome?.status !== 'updated') throw new Error(`not written: ${JSON.stringify(outcome)}`);
    return outcome;
  }

  async function everyPath(objectType: ObjectType, id: string, since: string): Promise<ExternalRecord[]> {
    const [read] = await connector.readRecords(objectType, [id]);
    const changed = (await connector.listChanges(objectType, { since })).records.find((record) => record.externalId === id);
    const cursor = await connector.bulk.startExport(objectType);
    const exported = (await connector.bulk.readExportPage(cursor)).records.find((record) => record.externalId === id);
    return [read, changed, exported].map((record) => {
      if (!record) throw new Error(`${objectType} ${id} missing on a read path`);
      return record;
    });
  }

  it('reads each slot on readRecords, listChanges and the export; a deal reports Contact_Name among its contacts', async () => {
    const since = new Date(Date.now() - 5_000).toISOString();
    const account = (await write('company', { syncId: randomUUID(), fields: { name: 'Zylker' } })).externalId;
    const contact = (await write('contact', { syncId: randomUUID(), fields: { lastName: 'Boyle' }, references: { company: account } })).externalId;
    const deal = (await write('deal', { syncId: randomUUID(), fields: { name: 'Renewal', stage: 'proposal' }, references: { company: account, primaryContact: contact } })).externalId;
    const onDeal = (await write('activity', { syncId: randomUUID(), fields: { subject: 'Call' }, references: { deal, contacts: [contact] } })).externalId;
    const onAccount = (await write('activity', { syncId: randomUUID(), fields: { subject: 'Visit' }, references: { company: account } })).externalId;

    for (const record of await everyPath('contact', contact, since)) expect(record.references).toEqual({ company: account });
    for (const record of await everyPath('deal', deal, since)) expect(record.references).toEqual({ company: account, primaryContact: contact, contacts: [contact] });
    for (const record of await everyPath('activity', onDeal, since)) expect(record.references).toEqual({ deal, contacts: [contact] });
    for (const record of await everyPath('activity', onAccount, since)) expect(record.references).toEqual({ company: account, contacts: [] });
    expect(zoho.admin.getRecord('Tasks', onDeal)).toMatchObject({ $se_module: 'Deals', What_Id: { id: deal } });
  });

  it('writes replace and clear; a deal takes What_Id over a company, and what a task cannot hold is reported in adjusted', async () => {
    const [acme, globex] = [(await write('company', { syncId: randomUUID(), fields: { name: 'Acme' } })).externalId, (await write('company', { syncId: randomUUID(), fields: { name: 'Globex' } })).externalId];
    const [ada, grace] = [(await write('contact', { syncId: randomUUID(), fields: { lastName: 'Lovelace' } })).externalId, (await write('contact', { syncId: randomUUID(), fields: { lastName: 'Hopper' } })).externalId];
    const deal = (await write('deal', { syncId: randomUUID(), fields: { name: 'Pilot', stage: 'proposal' }, references: { company: acme, primaryContact: ada } })).externalId;
    const dealSync = randomUUID();
    await write('deal', { syncId: dealSync, externalId: deal, fields: {}, references: { company: globex, primaryContact: grace } });
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toEqual({ company: globex, primaryContact: grace, contacts: [grace] });
    await write('deal', { syncId: dealSync, externalId: deal, fields: { amount: 1 } });
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toEqual({ company: globex, primaryContact: grace, contacts: [grace] });
    await write('deal', { syncId: dealSync, externalId: deal, fields: {}, references: { company: null, primaryContact: null } });
    expect((await connector.readRecords('deal', [deal]))[0]?.references).toEqual({ company: null, primaryContact: null, contacts: [] });

    const taskSync = randomUUID();
    const both = await write('activity', { syncId: taskSync, fields: { subject: 'Both' }, references: { deal, company: acme, contacts: [ada, grace] } });
    expect(both.adjusted).toEqual(['references.contacts', 'references.company']);
    expect((await connector.readRecords('activity', [both.externalId]))[0]?.references).toEqual({ deal, contacts: [ada] });
    const toCompany = await write('activity', { syncId: taskSync, externalId: both.externalId, fields: {}, references: { deal: null, company: globex, contacts: [grace] } });
    expect(toCompany.adjusted).toBeUndefined();
    expect((await connector.readRecords('activity', [both.externalId]))[0]?.references).toEqual({ company: globex, contacts: [grace] });
    await write('activity', { syncId: taskSync, externalId: both.externalId, fields: {}, references: { deal: null, company: null, contacts: [] } });
    expect((await connector.readRecords('activity', [both.externalId]))[0]?.references).toEqual({ deal: null, company: null, contacts: [] });
  });

  it('finds a lookup-only change by polling (a lookup edit stamps Modified_Time)', async () => {
    const [acme, globex] = [(await write('company', { syncId: randomUUID(), fields: { name: 'Initech' } })).externalId, (await write('company', { syncId: randomUUID(), fields: { name: 'Umbrella' } })).externalId];
    const contact = (await write('contact', { syncId: randomUUID(), fields: { lastName: 'Gibbons' }, references: { company: acme } })).externalId;
    const watermark = (await connector.readRecords('contact', [contact]))[0]?.modifiedAt as string;
    // The organisation's clock moves on two seconds: the edit falls after the watermark's second.
    skewMs += 2_000;
    zoho.admin.changeAsUser('Contacts', contact, { Account_Name: { id: globex } });
    const page = await connector.listChanges('contact', { since: watermark });
    expect(page.records.find((record) => record.externalId === contact)?.references).toEqual({ company: globex });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import { startHarness, stopAll, type Harness } from './sandbox-connector';

afterEach(stopAll);

const sorted = (ids: unknown): string[] => [...(ids as string[])].sort();

async function dealWithContacts(harness: Harness, contacts: number): Promise<{ dealId: string; contactIds: string[] }> {
  const seeded = harness.sandbox.admin.seed({ deals: 1, contacts });
  return { dealId: String(seeded.Opportunity?.[0]), contactIds: (seeded.Contact ?? []).map(String) };
}

const addRole = (harness: Harness, dealId: string, contactId: string, primary = false): string =>
  String(harness.sandbox.admin.createAsUser('OpportunityContactRole', { OpportunityId: dealId, ContactId: contactId, IsPrimary: primary }).Id);

async function readDeal(harness: Harness, dealId: string): Promise<ExternalRecord> {
  const [record] = await harness.connector.readRecords('deal', [dealId]);
  if (!record) throw new Error(`deal ${dealId} not read`);
  return record;
}

async function allChanges(harness: Harness, since: string, limit?: number): Promise<ExternalRecord[]> {
  const records: ExternalRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await harness.connector.listChanges('deal', { since, cursor, limit });
    records.push(...page.records);
    cursor = page.nextCursor;
  } while (cursor);
  return records;
}

const dealInput = (syncId: string, externalId: string, references: UpsertInput['references']): UpsertInput => ({ syncId, externalId, fields: {}, references });

describe('Salesforce associations: deal contacts through OpportunityContactRole', () => {
  it('reads deal.contacts (distinct) and deal.primaryContact on readRecords, with modifiedAt covering the roles', async () => {
    const harness = await startHarness();
    const { dealId, contactIds } = await dealWithContacts(harness, 3);
    const [a, b] = contactIds as [string, string, string];
    const bare = await readDeal(harness, dealId);
    expect(bare.references).toMatchObject({ contacts: [], primaryContact: null });
    addRole(harness, dealId, a);
    addRole(harness, dealId, a); // the same contact in a second role
    const roleId = addRole(harness, dealId, b, true);
    const read = await readDeal(harness, dealId);
    expect(sorted(read.references.contacts)).toEqual(sorted([a, b]));
    expect(read.references.primaryContact).toBe(b);
    const roleStamp = new Date(String(harness.sandbox.admin.getRecord('OpportunityContactRole', roleId)?.SystemModstamp)).toISOString();
    expect(read.modifiedAt).toBe(roleStamp);
    expect(read.modifiedAt > bare.modifiedAt).toBe(true);
  });

  it('writes add, remove, replace and clear the role set, and set, move and clear the primary (collections path)', async () => {
    const harness = await startHarness();
    const { dealId, contactIds } = await dealWithContacts(harness, 3);
    const [a, b, c] = contactIds as [string, string, string];
    const write = async (references: UpsertInput['references']): Promise<ExternalRecord> => {
      const [outcome] = await harness.connector.upsertRecords('deal', [dealInput('deal-1', dealId, references)]);
      expect(outcome?.status).toBe('updated');
      return readDeal(harness, dealId);
    };
    let read = await write({ contacts: [a, b], primaryContact: a });
    expect([sorted(read.references.contacts), read.references.primaryContact]).toEqual([sorted([a, b]), a]);
    read = await write({ contacts: [b, c], primaryContact: c }); // replace one, move the primary
    expect([sorted(read.references.contacts), read.references.primaryContact]).toEqual([sorted([b, c]), c]);
    const roles = harness.sandbox.admin.listRecords('OpportunityContactRole').filter((role) => role.OpportunityId === dealId);
    expect(roles.filter((role) => role.IsPrimary === true).map((role) => role.ContactId)).toEqual([c]);
    read = await write({ primaryContact: null }); // contacts absent: untouched
    expect([sorted(read.references.contacts), read.references.primaryContact]).toEqual([sorted([b, c]), null]);
    read = await write({ contacts: [] });
    expect([read.references.contacts, read.references.primaryContact]).toEqual([[], null]);
    read = await write({ company: null }); // no role slot: roles untouched, no role call
    expect(read.references.contacts).toEqual([]);
  });

  it('writes roles on the Composite path of versioned updates and on create, and the outcome stamp covers them', async () => {
    const harness = await startHarness();
    const { dealId, contactIds } = await dealWithContacts(harness, 2);
    const [a, b] = contactIds as [string, string];
    // A version read before this second, so the write is not held back as unsettled.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const version = (await readDeal(harness, dealId)).version as string;
    const [versioned] = await harness.connector.upsertRecords('deal', [{ ...dealInput('deal-v', dealId, { contacts: [a], primaryContact: a }), ifVersion: version }]);
    expect(versioned?.status).toBe('updated');
    const read = await readDeal(harness, dealId);
    expect([read.references.contacts, read.references.primaryContact]).toEqual([[a], a]);
    expect(versioned?.status === 'updated' && versioned.modifiedAt).toBe(read.modifiedAt);

    const [created] = await harness.connector.upsertRecords('deal', [
      { syncId: 'deal-new', fields: { name: 'New', stage: 'prospecting', closeDate: '2026-12-31' }, references: { contacts: [a, b], primaryContact: b } },
    ]);
    expect(created?.status).toBe('created');
    const createdRead = await readDeal(harness, created?.status === 'created' ? created.externalId : '');
    expect([sorted(createdRead.references.contacts), createdRead.references.primaryContact]).toEqual([sorted([a, b]), b]);
  });

  it('reports a deal whose roles could not be written as failed, not written', async () => {
    const harness = await startHarness();
    const { dealId, contactIds } = await dealWithContacts(harness, 1);
    const deletedContact = String(harness.sandbox.admin.seed({ contacts: 1 }).Contact?.[0]);
    harness.sandbox.admin.deleteRecord('Contact', deletedContact);
    const [outcome] = await harness.connector.upsertRecords('deal', [dealInput('deal-1', dealId, { contacts: [contactIds[0] as string, deletedContact] })]);
    expect(outcome).toMatchObject({ status: 'failed', error: { fieldErrors: [expect.objectContaining({ field: 'contacts' })] } });
  });

  it('listChanges returns a deal whose only change is a role added or removed, with an advanced modifiedAt, and our own write echoes unchanged', async () => {
    const harness = await startHarness({}, { lookbackMs: 0 });
    const { dealId, contactIds } = await dealWithContacts(harness, 2);
    const [a, b] = contactIds as [string, string];
    const first = await readDeal(harness, dealId);
    const since = new Date(Date.parse(first.modifiedAt) + 1).toISOString();
    expect(await allChanges(harness, since)).toEqual([]);

    const roleId = addRole(harness, dealId, a); // someone adds a role: the opportunity itself is untouched
    const added = await allChanges(harness, since);
    expect(added.map((record) => record.externalId)).toEqual([dealId]);
    expect(added[0]?.references.contacts).toEqual([a]);
    expect(String(added[0]?.modifiedAt) > first.modifiedAt).toBe(true);

    const afterAdd = new Date(Date.parse(String(added[0]?.modifiedAt)) + 1).toISOString();
    harness.sandbox.admin.deleteRecord('OpportunityContactRole', roleId); // and removes it
    // getDeleted covers whole seconds only (jsforce sends them): the removal is listed once its second is over.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const removed = await allChanges(harness, afterAdd);
    expect(removed.map((record) => record.externalId)).toEqual([dealId]);
    expect(removed[0]?.references.contacts).toEqual([]);
    expect(String(removed[0]?.modifiedAt) > String(added[0]?.modifiedAt)).toBe(true);

    const beforeEcho = new Date(Date.parse(String(removed[0]?.modifiedAt)) + 1).toISOString();
    const [outcome] = await harness.connector.upsertRecords('deal', [dealInput('deal-1', dealId, { contacts: [a, b], primaryContact: b })]);
    const echo = await allChanges(harness, beforeEcho);
    expect(echo.map((record) => [record.externalId, sorted(record.references.contacts), record.references.primaryContact])).toEqual([[dealId, sorted([a, b]), b]]);
    expect(outcome?.status === 'updated' && outcome.modifiedAt).toBe(echo[0]?.modifiedAt);
  });

  it('pages deal changes with one role query per page and none lost or doubled', async () => {
    const harness = await startHarness({}, { lookbackMs: 0 });
    const seeded = harness.sandbox.admin.seed({ deals: 30, contacts: 2 });
    const deals = (seeded.Opportunity ?? []).map(String);
    const [a] = (seeded.Contact ?? []).map(String) as [string];
    const since = new Date(String(harness.sandbox.admin.getRecord('Opportunity', String(deals[0]))?.SystemModstamp)).toISOString();
    for (const dealId of deals.slice(0, 10)) addRole(harness, dealId, a, true);
    const before = harness.sandbox.admin.stats().requests['SOQL OpportunityContactRole'] ?? 0;
    let pages = 0;
    const records: ExternalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await harness.connector.listChanges('deal', { since, cursor, limit: 7 });
      records.push(...page.records);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    const roleQueries = (harness.sandbox.admin.stats().requests['SOQL OpportunityContactRole'] ?? 0) - before;
    // Per page: the role keyset page and one OpportunityId IN (...) lookup, never one per deal.
    expect(roleQueries).toBeLessThanOrEqual(2 * pages);
    const pairs = records.map((record) => `${record.externalId}@${record.modifiedAt}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(new Set(records.map((record) => record.externalId))).toEqual(new Set(deals));
    for (const record of records.filter((candidate) => deals.slice(0, 10).includes(candidate.externalId))) {
      expect([record.references.contacts, record.references.primaryContact]).toEqual([[a], a]);
    }
    expect(records.map((record) => record.modifiedAt)).toEqual([...records.map((record) => record.modifiedAt)].sort());
  });

  it('bulk: exports deals with their role slots and bulk.upsert writes roles after the ingest job', async () => {
    const harness = await startHarness();
    const { dealId, contactIds } = await dealWithContacts(harness, 2);
    const [a, b] = contactIds as [string, string];
    addRole(harness, dealId, a, true);
    let cursor: string | undefined = await harness.connector.bulk.startExport('deal');
    const exported: ExternalRecord[] = [];
    while (cursor) {
      const page: { records: ExternalRecord[]; nextCursor?: string | undefined } = await harness.connector.bulk.readExportPage(cursor);
      exported.push(...page.records);
      cursor = page.nextCursor;
    }
    expect(exported.find((record) => record.externalId === dealId)?.references).toMatchObject({ contacts: [a], primaryContact: a });

    const [outcome] = await harness.connector.bulk.upsert('deal', [
      { syncId: 'bulk-deal', fields: { name: 'Bulk', stage: 'prospecting', closeDate: '2026-12-31' }, references: { contacts: [b], primaryContact: b } },
    ]);
    expect(outcome?.status).toBe('created');
    const read = await readDeal(harness, outcome?.status === 'created' ? outcome.externalId : '');
    expect([read.references.contacts, read.references.primaryContact]).toEqual([[b], b]);
  });
});

describe('Salesforce associations: contact, task', () => {
  it('reads contact.company and activity contact/deal/company; a Task given two contacts holds the first and says so; a deal with a company writes the deal and says so', async () => {
    const harness = await startHarness();
    const seeded = harness.sandbox.admin.seed({ companies: 1, contacts: 2, deals: 1 });
    const [accountId] = (seeded.Account ?? []).map(String) as [string];
    const [a, b] = (seeded.Contact ?? []).map(String) as [string, string];
    const dealId = String(seeded.Opportunity?.[0]);
    harness.sandbox.admin.editAsUser('Contact', a, { AccountId: accountId });
    const [contact] = await harness.connector.readRecords('contact', [a]);
    expect(contact?.references).toEqual({ company: accountId });

    const task = { syncId: 'task-1', fields: { subject: 'Call' } };
    // One WhoId: the first contact is written, the rest said, so the engine neither loses them elsewhere nor reads them as removed.
    const [two] = await harness.connector.upsertRecords('activity', [{ ...task, syncId: 'task-2', references: { contacts: [a, b] } }]);
    expect(two).toMatchObject({ status: 'created', adjusted: ['references.contacts'] });
    expect((await harness.connector.readRecords('activity', [two?.status === 'created' ? two.externalId : '']))[0]?.references.contacts).toEqual([a]);

    const [onAccount] = await harness.connector.upsertRecords('activity', [{ ...task, references: { contacts: [a], company: accountId } }]);
    const taskId = onAccount?.status === 'created' ? onAccount.externalId : '';
    expect((await harness.connector.readRecords('activity', [taskId]))[0]?.references).toEqual({ contacts: [a], company: accountId, deal: null });

    const [both] = await harness.connector.upsertRecords('activity', [{ ...task, externalId: taskId, references: { deal: dealId, company: accountId } }]);
    expect(both).toMatchObject({ status: 'updated', adjusted: ['references.company'] });
    // WhatId holds the deal; the company is then the deal's account and is not read (absent), not read as removed.
    expect((await harness.connector.readRecords('activity', [taskId]))[0]?.references).toEqual({ contacts: [a], deal: dealId });
  });
});

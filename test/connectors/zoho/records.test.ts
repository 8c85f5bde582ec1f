import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpsertInput } from '../../../src/connectors/connector';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import { startZohoSandbox, type ZohoModule, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

const MODULE = { contact: 'Contacts', company: 'Accounts', deal: 'Deals', activity: 'Tasks' } as const satisfies Record<string, ZohoModule>;

describe('Zoho connector: upsert, read back, delete, describe', () => {
  let zoho: ZohoSandbox;
  let connector: ZohoConnector;

  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false });
    zoho.admin.defineField('Contacts', 'Favorite_Color', 'text');
    connector = await connectTo(zoho, { mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.favoriteColor', native: 'Favorite_Color', type: 'string' }] } } } });
  });
  afterAll(async () => {
    await connector.close();
    await zoho.stop();
  });

  async function roundTrip(objectType: keyof typeof MODULE, input: UpsertInput, change: UpsertInput['fields']) {
    const [created] = await connector.upsertRecords(objectType, [input]);
    expect(created).toMatchObject({ syncId: input.syncId, status: 'created', externalId: expect.stringMatching(/^\d+$/) as unknown });
    if (created?.status !== 'created') throw new Error('not created');
    const writesBefore = zoho.counters.snapshot().recordWrites[MODULE[objectType]] ?? 0;
    const [again] = await connector.upsertRecords(objectType, [{ ...input, fields: { ...input.fields, ...change } }]);
    expect(again).toMatchObject({ syncId: input.syncId, status: 'updated', externalId: created.externalId });
    expect((zoho.counters.snapshot().recordWrites[MODULE[objectType]] ?? 0) - writesBefore).toBe(1);
    // Idempotent: one record holds the sync id however often it is upserted.
    expect(zoho.admin.listRecords(MODULE[objectType]).filter((record) => record.CRM_Sync_Id === input.syncId)).toHaveLength(1);
    const [read] = await connector.readRecords(objectType, [created.externalId]);
    expect(read).toMatchObject({ objectType, externalId: created.externalId, syncId: input.syncId, lastModifiedBy: expect.any(String) as unknown });
    expect(read?.modifiedAt).toMatch(/\.000Z$/);
    expect(read?.fields).toMatchObject({ ...input.fields, ...change });
    return { externalId: created.externalId, read };
  }

  it('company, contact (custom field, company lookup), deal (stage, date, lookups), task (status, priority, What_Id) round trip', async () => {
    const company = await roundTrip('company', { syncId: randomUUID(), fields: { name: 'Zylker', website: 'https://zylker.example', employeeCount: 42, annualRevenue: 1250000.5, city: 'Chennai' } }, { employeeCount: 43 });
    const contact = await roundTrip(
      'contact',
      { syncId: randomUUID(), fields: { firstName: 'Patricia', lastName: 'Boyle', email: 'p.boyle@zylker.example', title: 'CTO', custom: { favoriteColor: 'teal' } }, references: { company: company.externalId } },
      { title: 'CEO', custom: { favoriteColor: 'indigo' } },
    );
    expect(contact.read?.references).toEqual({ company: company.externalId });
    expect(zoho.admin.getRecord('Contacts', contact.externalId)).toMatchObject({ Favorite_Color: 'indigo', Title: 'CEO', Account_Name: { id: company.externalId, name: 'Zylker' } });
    const deal = await roundTrip(
      'deal',
      { syncId: randomUUID(), fields: { name: 'Big deal', amount: 5000, stage: 'proposal', closeDate: '2026-12-31' }, references: { company: company.externalId, primaryContact: contact.externalId } },
      { stage: 'closed-won' },
    );
    expect(deal.read?.references).toEqual({ company: company.externalId, primaryContact: contact.externalId, contacts: [contact.externalId] });
    expect(zoho.admin.getRecord('Deals', deal.externalId)).toMatchObject({ Stage: 'Closed Won', Closing_Date: '2026-12-31' });
    const task = await roundTrip('activity', { syncId: randomUUID(), fields: { subject: 'Call', status: 'open', priority: 'high' }, references: { company: company.externalId } }, { status: 'completed' });
    expect(zoho.admin.getRecord('Tasks', task.externalId)).toMatchObject({ Status: 'Completed', Priority: 'High', What_Id: { id: company.externalId } });
  });

  it('updates a linked record created before the sync by its Zoho id (no duplicate), 250 inputs in calls of 100', async () => {
    const existing = zoho.admin.createAsUser('Contacts', { Last_Name: 'Legacy', Email: 'legacy@zylker.example' });
    const syncId = randomUUID();
    const [linked] = await connector.upsertRecords('contact', [{ syncId, externalId: String(existing.id), fields: { title: 'Linked' } }]);
    expect(linked).toMatchObject({ status: 'updated', externalId: existing.id });
    expect(zoho.admin.getRecord('Contacts', String(existing.id))).toMatchObject({ CRM_Sync_Id: syncId, Title: 'Linked', Last_Name: 'Legacy' });

    const before = zoho.counters.snapshot().requests['POST /crm/v6/:module/upsert'] ?? 0;
    const inputs = Array.from({ length: 250 }, (_, i) => ({ syncId: randomUUID(), fields: { lastName: `Bulk ${i}` } }));
    const outcomes = await connector.bulk.upsert('contact', inputs);
    expect(outcomes.map((outcome) => outcome.syncId)).toEqual(inputs.map((input) => input.syncId));
    expect(outcomes.every((outcome) => outcome.status === 'created')).toBe(true);
    expect((zoho.counters.snapshot().requests['POST /crm/v6/:module/upsert'] ?? 0) - before).toBe(3);
  });

  it('deletes idempotently: deleted, then not-found for the same id, an unknown id and a malformed one', async () => {
    const [created] = await connector.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'Doomed' } }]);
    if (created?.status !== 'created') throw new Error('not created');
    expect(await connector.deleteRecords('company', [created.externalId, '5843104000009999999', 'abc'])).toEqual([
      { externalId: created.externalId, status: 'deleted' },
      { externalId: '5843104000009999999', status: 'not-found' },
      { externalId: 'abc', status: 'not-found' },
    ]);
    expect(await connector.deleteRecords('company', [created.externalId])).toEqual([{ externalId: created.externalId, status: 'not-found' }]);
    expect(zoho.admin.deletedRecords('Accounts').map((entry) => entry.id)).toContain(created.externalId);
    expect(await connector.readRecords('company', [created.externalId])).toEqual([]);
  });

  it('describes fields from the fields metadata, the unique sync-id field marked as external id', async () => {
    const fields = await connector.describeFields('contact');
    expect(fields.find((field) => field.name === 'CRM_Sync_Id')).toMatchObject({ custom: true, externalId: true });
    expect(fields.find((field) => field.name === 'Email')).toMatchObject({ custom: false, type: 'email' });
    expect(fields.find((field) => field.name === 'Favorite_Color')).toMatchObject({ custom: true });
  });
});

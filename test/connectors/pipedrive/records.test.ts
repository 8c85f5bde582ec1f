import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpsertInput } from '../../../src/connectors/connector';
import type { PipedriveConnector } from '../../../src/connectors/pipedrive';
import { startPipedriveSandbox, type PipedriveEntity, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';

const ENTITY = { contact: 'persons', company: 'organizations', deal: 'deals', activity: 'activities' } as const satisfies Record<string, PipedriveEntity>;

describe('Pipedrive connector: upsert by sync id (search, then create or update), read back, delete', () => {
  let pd: PipedriveSandbox;
  let connector: PipedriveConnector;
  let colourKey: string;

  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false });
    colourKey = pd.admin.defineField('persons', 'Favourite colour', 'varchar');
    connector = await connectorFor(pd, {
      // A tenant's custom field, mapped under custom.<name> by its key.
      mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.favoriteColor', native: colourKey, type: 'string' }] } } },
    });
  });
  afterAll(async () => {
    await connector.close();
    await pd.stop();
  });

  async function roundTrip(objectType: keyof typeof ENTITY, input: UpsertInput, change: UpsertInput['fields']) {
    const [created] = await connector.upsertRecords(objectType, [input]);
    expect(created).toMatchObject({ syncId: input.syncId, status: 'created', externalId: expect.stringMatching(/^\d+$/) as unknown });
    if (created?.status !== 'created') throw new Error('not created');
    // Upsert again by sync id only (no externalId): found through the sync id custom field, updated.
    const [again] = await connector.upsertRecords(objectType, [{ ...input, fields: { ...input.fields, ...change } }]);
    expect(again).toMatchObject({ syncId: input.syncId, status: 'updated', externalId: created.externalId });
    const syncIdKey = pd.admin.syncIdFieldKey(ENTITY[objectType]);
    const holders = pd.admin.listRecords(ENTITY[objectType]).filter((record) => (record.custom_fields as Record<string, unknown>)[syncIdKey] === input.syncId);
    expect(holders).toHaveLength(1);
    const [read] = await connector.readRecords(objectType, [created.externalId]);
    expect(read).toMatchObject({ objectType, externalId: created.externalId, syncId: input.syncId, modifiedAt: expect.stringMatching(/\.000Z$/) as unknown });
    expect(read?.fields).toMatchObject({ ...input.fields, ...change });
    return { externalId: created.externalId, read };
  }

  it('company, contact (custom field, company reference), deal (stage, close date), activity (due, status) round trip', async () => {
    const company = await roundTrip('company', { syncId: randomUUID(), fields: { name: 'Acme', website: 'https://acme.example', industry: 'Tools' } }, { industry: 'Hardware' });
    const contact = await roundTrip(
      'contact',
      { syncId: randomUUID(), fields: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.example', phone: '+44 1', title: 'CTO', custom: { favoriteColor: 'teal' } }, references: { company: company.externalId } },
      { title: 'CEO', custom: { favoriteColor: 'indigo' } },
    );
    expect(contact.read?.references).toEqual({ company: company.externalId });
    expect(pd.admin.getRecord('persons', Number(contact.externalId))).toMatchObject({
      job_title: 'CEO',
      emails: [{ value: 'ada@acme.example', primary: true }],
      custom_fields: { [colourKey]: 'indigo' },
    });
    const deal = await roundTrip(
      'deal',
      { syncId: randomUUID(), fields: { name: 'Big deal', amount: 1250.5, currency: 'EUR', stage: 'proposal', closeDate: '2026-12-24' }, references: { company: company.externalId, primaryContact: contact.externalId, contacts: [contact.externalId] } },
      { stage: 'closed-won' },
    );
    expect(deal.read?.references).toEqual({ company: company.externalId, primaryContact: contact.externalId, contacts: [contact.externalId] });
    expect(pd.admin.getRecord('deals', Number(deal.externalId))).toMatchObject({ status: 'won', stage_id: 3 });
    await roundTrip('activity', { syncId: randomUUID(), fields: { subject: 'Call Ada', description: 'About the deal', dueAt: '2026-12-01T09:30:00.000Z', status: 'open' }, references: { deal: deal.externalId } }, { status: 'completed' });
  });

  it('a create whose answer is lost is not made twice: recovered in the call, and a retry updates the same record', async () => {
    const syncId = randomUUID();
    pd.admin.loseResponses({ method: 'POST', path: '/api/v2/persons' });
    const [first] = await connector.upsertRecords('contact', [{ syncId, fields: { firstName: 'Lost', lastName: 'Answer', email: 'lost@acme.example' } }]);
    expect(pd.admin.lostResponses()).toBe(1);
    expect(first).toMatchObject({ syncId, status: 'created', externalId: expect.any(String) as unknown });
    // The engine retries the activity as if the first attempt had failed: still one record.
    const [retried] = await connector.upsertRecords('contact', [{ syncId, fields: { firstName: 'Lost', lastName: 'Answer', email: 'lost@acme.example' } }]);
    expect(retried).toMatchObject({ status: 'updated', externalId: first?.status === 'created' ? first.externalId : 'x' });
    const key = pd.admin.syncIdFieldKey('persons');
    expect(pd.admin.listRecords('persons').filter((record) => (record.custom_fields as Record<string, unknown>)[key] === syncId)).toHaveLength(1);
  });

  it('an activity create whose answer is lost is recovered the same way (activities have no search)', async () => {
    const syncId = randomUUID();
    pd.admin.loseResponses({ method: 'POST', path: '/api/v2/activities' });
    const [first] = await connector.upsertRecords('activity', [{ syncId, fields: { subject: 'Lost call' } }]);
    expect(first).toMatchObject({ status: 'created' });
    const [again] = await connector.upsertRecords('activity', [{ syncId, fields: { subject: 'Lost call, found' } }]);
    expect(again).toMatchObject({ status: 'updated', externalId: first?.status === 'created' ? first.externalId : 'x' });
  });

  it('one refused record fails alone with validation naming the field', async () => {
    const outcomes = await connector.upsertRecords('deal', [
      { syncId: randomUUID(), fields: { name: 'Fine' } },
      { syncId: randomUUID(), fields: { amount: 10 } },
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'created' });
    // The field definitions say a deal's title is mandatory: refused before it is sent (constraints.test.ts).
    expect(outcomes[1]).toMatchObject({ status: 'failed', error: { errorClass: 'validation', message: expect.stringMatching(/^title: missing, but Pipedrive deals\.title is required/) as unknown, fieldErrors: [{ field: 'name' }] } });
  });

  it('deleteRecords is idempotent: deleted, then not-found; deletions are listed', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const [created] = await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Doomed' } }]);
    if (created?.status !== 'created') throw new Error('not created');
    expect(await connector.deleteRecords('deal', [created.externalId, '999999'])).toEqual([
      { externalId: created.externalId, status: 'deleted' },
      { externalId: '999999', status: 'not-found' },
    ]);
    expect(await connector.deleteRecords('deal', [created.externalId])).toEqual([{ externalId: created.externalId, status: 'not-found' }]);
    expect(await connector.readRecords('deal', [created.externalId])).toEqual([]);
    const page = await connector.listDeletions('deal', { since });
    expect(page.deletions).toEqual([{ externalId: created.externalId, deletedAt: expect.stringMatching(/Z$/) as unknown }]);
    expect(page.nextCursor).toBeUndefined();
  });

  it('describes fields: custom ones by 40-hex key, the sync id field as the external id', async () => {
    const fields = await connector.describeFields('contact');
    expect(fields).toContainEqual(expect.objectContaining({ name: pd.admin.syncIdFieldKey('persons'), label: 'crm_sync_id', custom: true, externalId: true }));
    expect(fields).toContainEqual(expect.objectContaining({ name: colourKey, label: 'Favourite colour', custom: true, externalId: false }));
    expect(fields).toContainEqual(expect.objectContaining({ name: 'first_name', custom: false }));
  });
});

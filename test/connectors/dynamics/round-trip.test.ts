import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DynamicsConnector } from '../../../src/connectors/dynamics/index';
import { startHarness, syncId, type Harness } from './support';

const loyaltyOverride = { objects: { contact: { fields: [{ canonical: 'custom.loyaltyTier', native: 'crm_loyaltytier', type: 'string' }] } } };

describe('Dynamics connector: upsert and read back per object', () => {
  let harness: Harness;
  let connector: DynamicsConnector;

  beforeAll(async () => {
    harness = await startHarness();
    connector = await harness.connect({ mappingOverride: loyaltyOverride });
  });
  afterAll(async () => harness.stop());

  const rowsWithSyncId = (set: 'contacts' | 'accounts' | 'opportunities' | 'tasks', id: string): number =>
    harness.sandbox.admin.listRecords(set).filter((row) => row.crm_syncid === id).length;

  test('company: created, then updated (no duplicate), read back equal', async () => {
    const id = syncId();
    const fields = { name: 'Contoso', website: 'https://contoso.example', phone: '+49 30 1234', city: 'Berlin', country: 'DE', employeeCount: 250, annualRevenue: 1250000.5 };
    const [first] = await connector.upsertRecords('company', [{ syncId: id, fields }]);
    expect(first).toMatchObject({ syncId: id, status: 'created' });
    const [second] = await connector.upsertRecords('company', [{ syncId: id, fields: { ...fields, city: 'Hamburg' } }]);
    expect(second?.status === 'updated' || second?.status === 'unchanged').toBe(true);
    expect(second).toMatchObject({ externalId: first?.status === 'created' ? first.externalId : '' });
    expect(rowsWithSyncId('accounts', id)).toBe(1);
    const [read] = await connector.readRecords('company', [first?.status === 'created' ? first.externalId : '']);
    expect(read).toMatchObject({ objectType: 'company', syncId: id, fields: { ...fields, city: 'Hamburg' } });
  });

  test('contact: company reference through @odata.bind and a tenant custom column round trip', async () => {
    const [company] = await connector.upsertRecords('company', [{ syncId: syncId(), fields: { name: 'Fabrikam' } }]);
    const companyId = company?.status === 'created' ? company.externalId : '';
    const id = syncId();
    const fields = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@fabrikam.example', phone: '+44 20 1', mobilePhone: '+44 77 2', title: 'CTO', city: 'London', country: 'GB', custom: { loyaltyTier: 'gold' } };
    const [created] = await connector.upsertRecords('contact', [{ syncId: id, fields, references: { company: companyId } }]);
    expect(created).toMatchObject({ status: 'created' });
    const [again] = await connector.upsertRecords('contact', [{ syncId: id, fields, references: { company: companyId } }]);
    expect(again).toMatchObject({ status: 'updated' });
    expect(rowsWithSyncId('contacts', id)).toBe(1);
    const externalId = created?.status === 'created' ? created.externalId : '';
    expect(harness.sandbox.admin.getRecord('contacts', externalId)).toMatchObject({ crm_loyaltytier: 'gold', _parentcustomerid_value: companyId });
    const [read] = await connector.readRecords('contact', [externalId]);
    expect(read?.fields).toEqual(fields);
    expect(read?.references).toEqual({ company: companyId });
    expect(read?.lastModifiedBy).toBe(harness.sandbox.users.applicationUserId);
  });

  test('deal: the stage picklist is an integer choice on the wire and canonical on read', async () => {
    const [company] = await connector.upsertRecords('company', [{ syncId: syncId(), fields: { name: 'Northwind' } }]);
    const companyId = company?.status === 'created' ? company.externalId : '';
    const id = syncId();
    const fields = { name: 'Northwind renewal', amount: 42000, closeDate: '2026-12-31', probability: 60, stage: 'negotiation' };
    const [created] = await connector.upsertRecords('deal', [{ syncId: id, fields, references: { company: companyId } }]);
    const externalId = created?.status === 'created' ? created.externalId : '';
    expect(harness.sandbox.admin.getRecord('opportunities', externalId)).toMatchObject({ crm_dealstage: 100000003, _parentaccountid_value: companyId });
    const [updated] = await connector.upsertRecords('deal', [{ syncId: id, fields: { stage: 'closed-won' } }]);
    expect(updated).toMatchObject({ status: 'updated', externalId });
    expect(rowsWithSyncId('opportunities', id)).toBe(1);
    const [read] = await connector.readRecords('deal', [externalId]);
    expect(read?.fields).toEqual({ ...fields, stage: 'closed-won' });
    // Every deal slot is read: none given here, so no primary contact and no stakeholders.
    expect(read?.references).toEqual({ company: companyId, primaryContact: null, contacts: [] });
  });

  test('activity (task): statecode and prioritycode picklists, due datetime', async () => {
    const id = syncId();
    const fields = { subject: 'Call back', description: 'About the renewal', dueAt: '2026-12-01T10:00:00.000Z', status: 'completed', priority: 'high' };
    const [created] = await connector.upsertRecords('activity', [{ syncId: id, fields }]);
    const externalId = created?.status === 'created' ? created.externalId : '';
    expect(harness.sandbox.admin.getRecord('tasks', externalId)).toMatchObject({ statecode: 1, prioritycode: 2 });
    const [again] = await connector.upsertRecords('activity', [{ syncId: id, fields: { ...fields, priority: 'low', status: 'open' } }]);
    expect(again).toMatchObject({ status: 'updated', externalId });
    expect(rowsWithSyncId('tasks', id)).toBe(1);
    const [read] = await connector.readRecords('activity', [externalId]);
    // A task's kind is its table: read back as 'task' though the write did not name one.
    expect(read?.fields).toEqual({ ...fields, priority: 'low', status: 'open', kind: 'task' });
  });

  test('a value the mapping cannot express is parked per record; the others are written', async () => {
    const good = syncId();
    const bad = syncId();
    const outcomes = await connector.upsertRecords('deal', [
      { syncId: good, fields: { name: 'fine', stage: 'proposal' } },
      { syncId: bad, fields: { name: 'bad', stage: 'won-ish' } },
    ]);
    expect(outcomes[0]).toMatchObject({ syncId: good, status: 'created' });
    expect(outcomes[1]).toMatchObject({ syncId: bad, status: 'failed', error: { errorClass: 'validation' } });
    expect(rowsWithSyncId('opportunities', bad)).toBe(0);
  });

  test('readRecords drops ids that do not exist (or are not GUIDs)', async () => {
    const records = await connector.readRecords('contact', ['00000000-0000-0000-0000-000000000001', 'not-a-guid']);
    expect(records).toEqual([]);
  });
});

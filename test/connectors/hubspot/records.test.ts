import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpsertInput } from '../../../src/connectors/connector';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

describe('HubSpot connector: upsert and read back, per object', () => {
  let hs: HubSpotSandbox;
  let connector: HubSpotConnector;

  beforeAll(async () => {
    hs = await startHubSpotSandbox();
    hs.admin.defineProperty('contacts', 'favorite_color', 'string');
    connector = await createHubSpotConnector({
      connectionId: `hs-records-${randomUUID()}`,
      basePath: hs.url,
      auth: { kind: 'private-app', accessToken: hs.credentials.accessToken },
      // A tenant's custom property, mapped under custom.<name>.
      mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.favoriteColor', native: 'favorite_color', type: 'string' }] } } },
    });
  });
  afterAll(async () => hs.stop());

  async function roundTrip(objectType: 'contact' | 'company' | 'deal' | 'activity', input: UpsertInput, change: UpsertInput['fields']) {
    const [created] = await connector.upsertRecords(objectType, [input]);
    expect(created).toMatchObject({ syncId: input.syncId, status: 'created', externalId: expect.any(String) as unknown });
    if (created?.status !== 'created') throw new Error('not created');
    const [again] = await connector.upsertRecords(objectType, [{ ...input, fields: { ...input.fields, ...change } }]);
    expect(again).toMatchObject({ syncId: input.syncId, status: 'updated', externalId: created.externalId });
    const type = objectType === 'activity' ? 'tasks' : objectType === 'company' ? 'companies' : (`${objectType}s` as const);
    // No duplicate: one record holds the sync id.
    expect(hs.admin.listRecords(type).filter((record) => record.properties.crm_sync_id === input.syncId)).toHaveLength(1);
    const [read] = await connector.readRecords(objectType, [created.externalId]);
    expect(read).toMatchObject({ objectType, externalId: created.externalId, syncId: input.syncId });
    expect(read?.fields).toMatchObject({ ...input.fields, ...change });
    return { externalId: created.externalId, read };
  }

  it('company, contact (custom field), deal (stage picklist, close date), task (status, priority, due) round trip with references', async () => {
    const company = await roundTrip(
      'company',
      { syncId: randomUUID(), fields: { name: 'Acme', domain: 'acme.example', employeeCount: 42, annualRevenue: 1250000.5, city: 'Berlin', country: 'DE' } },
      { employeeCount: 43 },
    );
    // A second company so a reference change can be seen.
    const [other] = await connector.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'Other' } }]);
    if (other?.status !== 'created') throw new Error('other company not created');

    const contact = await roundTrip(
      'contact',
      {
        syncId: randomUUID(),
        fields: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.example', mobilePhone: '+49 1', title: 'CTO', custom: { favoriteColor: 'teal' } },
        references: { company: company.externalId },
      },
      { title: 'CEO', custom: { favoriteColor: 'indigo' } },
    );
    expect(contact.read?.references).toEqual({ company: company.externalId });
    expect(hs.admin.getRecord('contacts', contact.externalId)?.properties).toMatchObject({ favorite_color: 'indigo', jobtitle: 'CEO' });

    const deal = await roundTrip(
      'deal',
      {
        syncId: randomUUID(),
        fields: { name: 'Big deal', amount: 5000, currency: 'EUR', stage: 'negotiation', closeDate: '2026-11-20' },
        references: { company: company.externalId, contacts: [contact.externalId] },
      },
      { stage: 'closed-won' },
    );
    // Strings on the wire: the picklist is HubSpot's stage id, the date a midnight-UTC datetime.
    expect(hs.admin.getRecord('deals', deal.externalId)?.properties).toMatchObject({ dealstage: 'closedwon', closedate: '2026-11-20T00:00:00.000Z', amount: '5000' });
    expect(deal.read?.references).toEqual({ company: company.externalId, contacts: [contact.externalId] });

    // Moving the deal to the other company replaces the association rather than adding one.
    await connector.upsertRecords('deal', [{ syncId: deal.read?.syncId ?? '', fields: {}, references: { company: other.externalId } }]);
    const [moved] = await connector.readRecords('deal', [deal.externalId]);
    expect(moved?.references).toEqual({ company: other.externalId, contacts: [contact.externalId] });

    const task = await roundTrip(
      'activity',
      {
        syncId: randomUUID(),
        fields: { subject: 'Call Ada', description: 'About the deal', dueAt: '2026-12-01T09:30:00.000Z', status: 'open', priority: 'high' },
        references: { contacts: [contact.externalId], deal: deal.externalId },
      },
      { status: 'completed', priority: 'normal' },
    );
    expect(hs.admin.getRecord('tasks', task.externalId)?.properties).toMatchObject({ hs_task_status: 'COMPLETED', hs_task_priority: 'MEDIUM' });
    expect(task.read?.references).toEqual({ contacts: [contact.externalId], company: null, deal: deal.externalId });
  });

  it('updates by HubSpot id when the record is already linked, writing the sync id into it', async () => {
    const existing = hs.admin.createAsUser('contacts', { firstname: 'Pre', lastname: 'Existing', email: 'pre@existing.example' });
    const syncId = randomUUID();
    const [outcome] = await connector.upsertRecords('contact', [{ syncId, externalId: existing.id, fields: { title: 'VP' } }]);
    expect(outcome).toMatchObject({ status: 'updated', externalId: existing.id });
    expect(hs.admin.getRecord('contacts', existing.id)?.properties).toMatchObject({ crm_sync_id: syncId, jobtitle: 'VP', firstname: 'Pre' });
  });

  it('reports a create refused for a taken email as `exists`, naming the contact; an update by id meeting it fails', async () => {
    const holder = hs.admin.createAsUser('contacts', { firstname: 'Person', email: 'holder@taken.example' });
    const fresh = randomUUID();
    const [refused, written] = await connector.upsertRecords('contact', [
      { syncId: randomUUID(), fields: { firstName: 'Sync', email: 'Holder@Taken.example' } },
      { syncId: fresh, fields: { firstName: 'Sync', email: 'free@taken.example' } },
    ]);
    expect(refused).toMatchObject({ status: 'exists', externalId: holder.id, error: { errorClass: 'conflict' } });
    expect(written).toMatchObject({ syncId: fresh, status: 'created' });
    expect(hs.admin.getRecord('contacts', holder.id)?.properties).toMatchObject({ firstname: 'Person' });
    expect(hs.admin.getRecord('contacts', holder.id)?.properties.crm_sync_id).toBeUndefined();

    if (written?.status !== 'created') throw new Error('not created');
    const [update] = await connector.upsertRecords('contact', [{ syncId: fresh, externalId: written.externalId, fields: { email: 'holder@taken.example' } }]);
    expect(update).toMatchObject({ status: 'failed', error: { errorClass: 'conflict', message: `Contact already exists. Existing ID: ${holder.id}` } });
  });

  it('refuses a value the mapping cannot express per record, without sending it', async () => {
    const before = connector.requestCount;
    const [outcome] = await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { stage: 'bogus' } }]);
    expect(outcome).toMatchObject({ status: 'failed', error: { errorClass: 'validation', fieldErrors: [{ field: 'stage' }] } });
    expect(connector.requestCount).toBe(before);
  });
});

import { Client } from '@hubspot/api-client';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

interface ApiError {
  code: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** The SDK applies its decorators (retries) from a process-wide singleton when an API is first touched, so touch them at once. */
function clientFor(sandbox: HubSpotSandbox): Client {
  const client = new Client({ accessToken: sandbox.credentials.accessToken, basePath: sandbox.url });
  void [client.crm.contacts.basicApi, client.crm.companies.basicApi, client.crm.associations.v4.basicApi];
  return client;
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected the call to fail');
}

describe('HubSpot sandbox: objects, batch and associations through @hubspot/api-client', () => {
  let sandbox: HubSpotSandbox;
  let client: Client;

  beforeEach(async () => {
    sandbox = await startHubSpotSandbox({ limits: false });
    client = clientFor(sandbox);
  });
  afterEach(async () => sandbox.stop());

  it('creates, reads, updates and archives a contact with advancing lastmodifieddate', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'Ada@Example.com', firstname: 'Ada', crm_sync_id: 'sync-1' }, associations: [] });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.properties).toMatchObject({ email: 'ada@example.com', firstname: 'Ada', hs_object_id: created.id });
    const createdStamp = Date.parse(created.properties.lastmodifieddate ?? '');

    const byEmail = await client.crm.contacts.basicApi.getById('ada@example.com', ['firstname', 'crm_sync_id'], undefined, undefined, false, 'email');
    expect(byEmail.id).toBe(created.id);
    expect(byEmail.properties).toMatchObject({ firstname: 'Ada', crm_sync_id: 'sync-1', createdate: created.properties.createdate });
    const bySyncId = await client.crm.contacts.basicApi.getById('sync-1', undefined, undefined, undefined, false, 'crm_sync_id');
    expect(bySyncId.id).toBe(created.id);

    const updated = await client.crm.contacts.basicApi.update(created.id, { properties: { lastname: 'Lovelace' } });
    expect(updated.properties.lastname).toBe('Lovelace');
    expect(Date.parse(updated.properties.lastmodifieddate ?? '')).toBeGreaterThan(createdStamp);
    expect(updated.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());

    await client.crm.contacts.basicApi.archive(created.id);
    expect((await failure(client.crm.contacts.basicApi.getById(created.id))).code).toBe(404);
    const archived = await client.crm.contacts.basicApi.getById(created.id, undefined, undefined, undefined, true);
    expect(archived.archived).toBe(true);
    expect(sandbox.admin.getRecord('contacts', created.id)?.archived).toBe(true);
  });

  it('lists with limit/after paging and archived=true', async () => {
    sandbox.admin.seed({ companies: 25 });
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await client.crm.companies.basicApi.getPage(10, after, ['name', 'domain']);
      seen.push(...page.results.map((company) => company.id));
      expect(page.results[0]?.properties.name).toBeTruthy();
      after = page.paging?.next?.after;
    } while (after);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    await client.crm.companies.basicApi.archive(seen[3] as string);
    const archivedPage = await client.crm.companies.basicApi.getPage(10, undefined, undefined, undefined, undefined, true);
    expect(archivedPage.results.map((company) => company.id)).toEqual([seen[3]]);
  });

  it('upserts by idProperty: twice is one record, new true then false', async () => {
    const inputs = (firstname: string) => [{ id: 'up-1', idProperty: 'crm_sync_id', properties: { firstname, email: 'up1@example.com' } }];
    const first = await client.crm.contacts.batchApi.upsert({ inputs: inputs('First') });
    expect(first.status).toBe('COMPLETE');
    expect(first.results).toHaveLength(1);
    expect(first.results[0]?._new).toBe(true);
    expect(first.startedAt).toBeInstanceOf(Date);
    const second = await client.crm.contacts.batchApi.upsert({ inputs: inputs('Second') });
    expect(second.results[0]?._new).toBe(false);
    expect(second.results[0]?.id).toBe(first.results[0]?.id);
    const records = sandbox.admin.listRecords('contacts');
    expect(records).toHaveLength(1);
    expect(records[0]?.properties).toMatchObject({ firstname: 'Second', crm_sync_id: 'up-1' });

    const byEmail = await client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'UP1@example.com', idProperty: 'email', properties: { lastname: 'Byemail' } }] });
    expect(byEmail.results[0]).toMatchObject({ _new: false, id: first.results[0]?.id });
  });

  it('answers partial batch failures with 207 multi-status, errors and numErrors', async () => {
    const created = await client.crm.contacts.batchApi.create({ inputs: [{ properties: { email: 'a@x.io' }, associations: [] }, { properties: { email: 'b@x.io' }, associations: [] }] });
    const ids = created.results.map((record) => record.id);
    const read = await client.crm.contacts.batchApi.read({ inputs: [{ id: ids[0] as string }, { id: '999' }], properties: ['email'], propertiesWithHistory: [] });
    expect(read.results.map((record) => record.id)).toEqual([ids[0]]);
    expect(read).toMatchObject({ numErrors: 1, errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['999'] } }] });

    const raw = await fetch(`${sandbox.url}/crm/v3/objects/contacts/batch/update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ id: ids[1], properties: { firstname: 'B' } }, { id: '12345', properties: { firstname: 'Nobody' } }] }),
    });
    expect(raw.status).toBe(207);
    expect(await raw.json()).toMatchObject({ status: 'COMPLETE', numErrors: 1, results: [{ id: ids[1], properties: { firstname: 'B' } }] });
  });

  it('rejects unknown properties with the PROPERTY_DOESNT_EXIST validation body (400)', async () => {
    const error = await failure(client.crm.contacts.basicApi.create({ properties: { email: 'x@y.z', favourite_colour: 'blue' }, associations: [] }));
    expect(error.code).toBe(400);
    expect(error.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(String(error.body.message)).toMatch(/^Property values were not valid: \[/);
    const issues = JSON.parse(String(error.body.message).replace('Property values were not valid: ', '')) as unknown[];
    expect(issues).toEqual([expect.objectContaining({ isValid: false, error: 'PROPERTY_DOESNT_EXIST', name: 'favourite_colour' })]);
    expect(sandbox.admin.listRecords('contacts')).toHaveLength(0);

    const readOnly = await failure(client.crm.contacts.basicApi.create({ properties: { hs_object_id: '5' }, associations: [] }));
    expect(String(readOnly.body.message)).toContain('READ_ONLY_VALUE');
  });

  it('refuses batches over 100 inputs with 400', async () => {
    const inputs = Array.from({ length: 101 }, (_, index) => ({ id: `k-${index}`, idProperty: 'crm_sync_id', properties: {} }));
    const error = await failure(client.crm.contacts.batchApi.upsert({ inputs }));
    expect(error.code).toBe(400);
    expect(error.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', message: expect.stringContaining('100') as unknown });
    expect(sandbox.admin.listRecords('contacts')).toHaveLength(0);
    const ok = await client.crm.contacts.batchApi.upsert({ inputs: inputs.slice(0, 100) });
    expect(ok.results).toHaveLength(100);
  });

  it('refuses a second record with an existing unique value (409 CONFLICT)', async () => {
    const first = await client.crm.contacts.basicApi.create({ properties: { email: 'dup@example.com' }, associations: [] });
    const error = await failure(client.crm.contacts.basicApi.create({ properties: { email: 'DUP@example.com' }, associations: [] }));
    expect(error.code).toBe(409);
    expect(error.body).toMatchObject({ category: 'CONFLICT', message: `Contact already exists. Existing ID: ${first.id}` });
  });

  it('refuses a taken email on every create path: batch create whole (nothing created), batch upsert per input (207), update by id', async () => {
    const held = await client.crm.contacts.basicApi.create({ properties: { email: 'taken@example.com' }, associations: [] });

    // Batch create: one taken email (in other casing) refuses the whole batch with the single-create 409.
    const batch = await failure(client.crm.contacts.batchApi.create({ inputs: [{ properties: { email: 'fresh@example.com' }, associations: [] }, { properties: { email: 'Taken@Example.com' }, associations: [] }] }));
    expect(batch.code).toBe(409);
    expect(batch.body).toMatchObject({ status: 'error', category: 'CONFLICT', message: `Contact already exists. Existing ID: ${held.id}` });
    expect(sandbox.admin.listRecords('contacts').map((record) => record.properties.email)).toEqual(['taken@example.com']);

    // Upsert by another unique property: the input whose email is taken fails alone, naming the holder.
    const upsert = await client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'sync-a', idProperty: 'crm_sync_id', properties: { email: 'TAKEN@example.com' } },
        { id: 'sync-b', idProperty: 'crm_sync_id', properties: { email: 'other@example.com' } },
      ],
    });
    expect(upsert.results.map((record) => record.properties.email)).toEqual(['other@example.com']);
    expect(upsert).toMatchObject({ numErrors: 1, errors: [{ status: 'error', category: 'CONFLICT', message: `Contact already exists. Existing ID: ${held.id}`, context: { ids: ['sync-a'] } }] });

    // Upsert by email itself finds the holder whatever the casing: updated, not refused.
    const byEmail = await client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'TAKEN@EXAMPLE.COM', idProperty: 'email', properties: { firstname: 'Holder' } }] });
    expect(byEmail.results[0]).toMatchObject({ id: held.id, _new: false });

    // Changing another contact's email to the taken one is the same conflict.
    const other = upsert.results[0]?.id as string;
    const update = await failure(client.crm.contacts.basicApi.update(other, { properties: { email: 'taken@EXAMPLE.com' } }));
    expect(update.code).toBe(409);
    expect(update.body).toMatchObject({ category: 'CONFLICT', message: `Contact already exists. Existing ID: ${held.id}` });
    expect(sandbox.admin.listRecords('contacts')).toHaveLength(2);
  });

  it("runs a test's hook just before an API write is handled, until the hook says it is done", async () => {
    const seen: string[] = [];
    sandbox.admin.beforeApiWrite(({ type, inputs }) => {
      seen.push(`${type}:${inputs.map((input) => (typeof input.email === 'string' ? input.email : '')).join(',')}`);
      if (type !== 'contacts' || !inputs.some((input) => input.crm_sync_id === 'racing')) return false;
      sandbox.admin.createAsUser('contacts', { email: 'race@example.com', firstname: 'Person' });
      return true;
    });
    await client.crm.companies.basicApi.create({ properties: { name: 'Acme' }, associations: [] });
    const raced = await client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'racing', idProperty: 'crm_sync_id', properties: { email: 'race@example.com' } }] });
    expect(raced).toMatchObject({ numErrors: 1, errors: [{ category: 'CONFLICT' }] });
    await client.crm.contacts.basicApi.create({ properties: { email: 'later@example.com' }, associations: [] });
    expect(seen).toEqual(['companies:', 'contacts:race@example.com']);
  });

  it('creates default and labelled v4 associations and reads them from both sides', async () => {
    const [contact] = Object.values(sandbox.admin.seed({ contacts: 1 }).contacts);
    const [company] = sandbox.admin.seed({ companies: 1 }).companies;
    const assoc = client.crm.associations.v4.basicApi;
    const created = await assoc.createDefault('contacts', contact as string, 'companies', company as string);
    expect(created.results[0]).toMatchObject({ associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 } });
    const labelled = await assoc.create('contacts', contact as string, 'companies', company as string, [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: 1 }]);
    expect(labelled).toMatchObject({ fromObjectTypeId: '0-1', toObjectTypeId: '0-2', labels: ['Primary'] });
    const fromContact = await assoc.getPage('contacts', contact as string, 'companies');
    expect(fromContact.results).toHaveLength(1);
    expect(fromContact.results[0]?.toObjectId).toBe(Number(company));
    expect(fromContact.results[0]?.associationTypes.map((type) => type.typeId).sort()).toEqual([1, 279]);
    const fromCompany = await assoc.getPage('companies', company as string, 'contacts');
    expect(fromCompany.results[0]?.associationTypes.map((type) => type.typeId).sort()).toEqual([2, 280]);
  });

  it('exposes the admin surface over HTTP under /__sandbox', async () => {
    const seeded = (await (await fetch(`${sandbox.url}/__sandbox/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deals: 3, tasks: 2 }) })).json()) as Record<string, string[]>;
    expect(seeded.deals).toHaveLength(3);
    const dealId = seeded.deals?.[0] as string;
    const changed = await fetch(`${sandbox.url}/__sandbox/records/deals/${dealId}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties: { amount: 42 } }) });
    expect(((await changed.json()) as { properties: Record<string, string> }).properties.amount).toBe('42');
    expect((await fetch(`${sandbox.url}/__sandbox/records/deals/${dealId}`, { method: 'DELETE' })).status).toBe(204);
    expect(sandbox.admin.getRecord('deals', dealId)?.archived).toBe(true);
    const restored = await fetch(`${sandbox.url}/__sandbox/records/deals/${dealId}/restore`, { method: 'POST' });
    expect(((await restored.json()) as { archived: boolean }).archived).toBe(false);
    const counters = (await (await fetch(`${sandbox.url}/__sandbox/counters`)).json()) as { requests: Record<string, number> };
    expect(counters.requests).toEqual({});
    await client.crm.deals.basicApi.getById(dealId);
    expect(sandbox.counters.snapshot().requests['GET /crm/v3/objects/:type/:id']).toBe(1);
  });

  it('lists property versions newest first through propertiesWithHistory, 50 records per batch read at most', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'history@example.com', jobtitle: 'Engineer' }, associations: [] });
    sandbox.admin.changeAsUser('contacts', created.id, { jobtitle: 'CTO' });
    await client.crm.contacts.batchApi.update({ inputs: [{ id: created.id, properties: { jobtitle: 'Chief', phone: '+1 555 0100' } }] });
    const [read] = (await client.crm.contacts.batchApi.read({ inputs: [{ id: created.id }], properties: [], propertiesWithHistory: ['jobtitle', 'phone', 'city'] })).results;
    const history = read?.propertiesWithHistory ?? {};
    expect(history.jobtitle?.map((version) => [version.value, version.sourceType])).toEqual([['Chief', 'INTEGRATION'], ['CTO', 'CRM_UI'], ['Engineer', 'INTEGRATION']]);
    expect(history.jobtitle?.every((version) => version.timestamp instanceof Date)).toBe(true);
    expect(history.jobtitle?.[0]?.timestamp.getTime()).toBe(Date.parse(String(read?.properties.lastmodifieddate ?? read?.updatedAt)));
    expect(history.phone?.map((version) => version.value)).toEqual(['+1 555 0100']);
    expect(history.city).toEqual([]);
    const single = await client.crm.contacts.basicApi.getById(created.id, undefined, ['jobtitle']);
    expect(single.propertiesWithHistory?.jobtitle?.map((version) => version.value)).toEqual(['Chief', 'CTO', 'Engineer']);
    const tooMany = await failure(client.crm.contacts.batchApi.read({ inputs: Array.from({ length: 51 }, (_, index) => ({ id: String(index + 1) })), properties: [], propertiesWithHistory: ['jobtitle'] }));
    expect(tooMany.code).toBe(400);
    expect(JSON.stringify(tooMany.body)).toContain('property histories is 50');
  });
});

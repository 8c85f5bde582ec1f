import { Client } from '@hubspot/api-client';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/objects';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';

/**
 * HubSpot's own Node client (`@hubspot/api-client`) as referee, on the paths the connector does not
 * use: v4 batch associations (read, create, default, archive), search edge cases (OR groups, IN,
 * sorts, paging by `after`), 207 multi-status error items, and the OAuth refresh through the
 * client's own oauth API. Where the two disagree the sandbox is wrong unless HubSpot's documentation
 * says otherwise (docs/sandbox-fidelity.md).
 */

const HUBSPOT_DEFINED = AssociationSpecAssociationCategoryEnum.HubspotDefined;

describe('referee: @hubspot/api-client against the HubSpot sandbox', () => {
  let hubspot: HubSpotSandbox | undefined;
  afterEach(async () => hubspot?.stop());

  async function start(): Promise<{ client: Client; sandbox: HubSpotSandbox }> {
    hubspot = await startHubSpotSandbox({ limits: false });
    return { client: new Client({ accessToken: hubspot.credentials.accessToken, basePath: hubspot.url, numberOfApiCallRetries: 0 }), sandbox: hubspot };
  }

  it('refreshes an OAuth token with the client and calls with it', async () => {
    const { sandbox } = await start();
    const oauth = new Client({ basePath: sandbox.url, numberOfApiCallRetries: 0 });
    const { clientId, clientSecret, refreshToken } = sandbox.credentials;
    const token = await oauth.oauth.tokensApi.create('refresh_token', undefined, undefined, clientId, clientSecret, refreshToken);
    expect(token).toMatchObject({ tokenType: 'bearer', refreshToken, expiresIn: 1800 });
    const client = new Client({ accessToken: token.accessToken, basePath: sandbox.url, numberOfApiCallRetries: 0 });
    const created = await client.crm.objects.basicApi.create('contacts', { properties: { email: 'ada@acme.example', lastname: 'Lovelace' }, associations: [] });
    expect(created.properties.email).toBe('ada@acme.example');
  });

  it('creates, reads, archives v4 associations in batches; an unassociated id is a 207 error item with its fields', async () => {
    const { client } = await start();
    const objects = client.crm.objects;
    const contacts = (await objects.batchApi.create('contacts', { inputs: ['ada', 'grace', 'alan'].map((name) => ({ properties: { email: `${name}@x.example`, lastname: name }, associations: [] })) })).results;
    const [ada, grace, alan] = contacts.map((contact) => contact.id).sort((a, b) => Number(a) - Number(b)) as [string, string, string];
    const acme = (await objects.basicApi.create('companies', { properties: { name: 'Acme' }, associations: [] })).id;

    const batch = client.crm.associations.v4.batchApi;
    const labelled = await batch.create('contacts', 'companies', { inputs: [{ _from: { id: ada }, to: { id: acme }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 }] }] });
    expect(labelled.status).toBe('COMPLETE');
    // v4 answers carry the ids as JSON numbers, which the client passes through.
    expect(labelled.results.map((pair) => [String(pair.fromObjectId), pair.fromObjectTypeId, String(pair.toObjectId), pair.toObjectTypeId, pair.labels])).toEqual([[ada, '0-1', acme, '0-2', ['Primary']]]);
    const unlabelled = await batch.createDefault('contacts', 'companies', { inputs: [{ _from: { id: grace }, to: { id: acme } }] });
    expect(unlabelled.results).toEqual([expect.objectContaining({ _from: { id: grace }, to: { id: acme }, associationSpec: { associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 } })]);

    const read = await batch.getPage('contacts', 'companies', { inputs: [{ id: ada }, { id: grace }, { id: alan }] });
    expect(read.results.map((result) => result._from.id).sort()).toEqual([ada, grace].sort());
    const adaLinks = read.results.find((result) => result._from.id === ada)?.to[0];
    expect(String(adaLinks?.toObjectId)).toBe(acme);
    expect(adaLinks?.associationTypes).toEqual(expect.arrayContaining([expect.objectContaining({ category: HUBSPOT_DEFINED, typeId: 1, label: 'Primary' })]));
    // Alan has none: a 207 whose error item carries the StandardError fields the client's model requires.
    expect('numErrors' in read && read.numErrors).toBe(1);
    const [missing] = 'errors' in read ? (read.errors ?? []) : [];
    expect(missing).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND', context: { fromObjectId: [alan] }, errors: [], links: {} });
    expect(missing?.message).toBe(`No company is associated with contact ${alan}.`);

    // The reverse direction holds both contacts; archiving one leaves the other.
    const reverse = await batch.getPage('companies', 'contacts', { inputs: [{ id: acme }] });
    expect(reverse.results[0]?.to.map((target) => String(target.toObjectId)).sort()).toEqual([ada, grace].sort());
    await batch.archive('companies', 'contacts', { inputs: [{ _from: { id: acme }, to: [{ id: grace }] }] });
    const after = await batch.getPage('companies', 'contacts', { inputs: [{ id: acme }] });
    expect(after.results[0]?.to.map((target) => String(target.toObjectId))).toEqual([ada]);
  });

  it('batch read pages each id\'s associations (paging.next.after sent back with the id) and refuses more than 1,000 ids; a primary create sets the label and moves it', async () => {
    hubspot = await startHubSpotSandbox({ limits: false, associationsPageSize: 2 });
    const client = new Client({ accessToken: hubspot.credentials.accessToken, basePath: hubspot.url, numberOfApiCallRetries: 0 });
    const { objects } = client.crm;
    const batch = client.crm.associations.v4.batchApi;
    const deal = (await objects.basicApi.create('deals', { properties: { dealname: 'D' }, associations: [] })).id;
    const contacts = (await objects.batchApi.create('contacts', { inputs: [1, 2, 3].map((n) => ({ properties: { lastname: `C${n}` }, associations: [] })) })).results.map((contact) => contact.id);
    await batch.create('deals', 'contacts', { inputs: contacts.map((id) => ({ _from: { id: deal }, to: { id }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 3 }] })) });
    const first = await batch.getPage('deals', 'contacts', { inputs: [{ id: deal }] });
    expect(first.results[0]?.to).toHaveLength(2);
    const after = first.results[0]?.paging?.next?.after;
    expect(after).toEqual(expect.any(String));
    const second = await batch.getPage('deals', 'contacts', { inputs: [{ id: deal, after: after }] });
    expect(second.results[0]?.to).toHaveLength(1);
    expect(second.results[0]?.paging).toBeUndefined();
    expect([...(first.results[0]?.to ?? []), ...(second.results[0]?.to ?? [])].map((target) => String(target.toObjectId)).sort()).toEqual([...contacts].sort());
    await expect(batch.getPage('deals', 'contacts', { inputs: Array.from({ length: 1001 }, (_, n) => ({ id: String(n + 1) })) })).rejects.toMatchObject({ code: 400, body: expect.objectContaining({ category: 'VALIDATION_ERROR' }) as unknown });

    const [acme, beta] = (await objects.batchApi.create('companies', { inputs: ['Acme', 'Beta'].map((name) => ({ properties: { name }, associations: [] })) })).results.map((company) => company.id) as [string, string];
    for (const company of [acme, beta]) await batch.create('deals', 'companies', { inputs: [{ _from: { id: deal }, to: { id: company }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 341 }, { associationCategory: HUBSPOT_DEFINED, associationTypeId: 5 }] }] });
    const companies = await batch.getPage('deals', 'companies', { inputs: [{ id: deal }] });
    const typesOf = (id: string) => companies.results[0]?.to.find((target) => String(target.toObjectId) === id)?.associationTypes.map((type) => type.typeId).sort((a, b) => a - b);
    // One primary company per deal: the second primary takes the label from the first, both stay associated.
    expect(typesOf(acme)).toEqual([341]);
    expect(typesOf(beta)).toEqual([5, 341]);
  });

  it('searches with OR groups, IN, sorts and paging by after', async () => {
    const { client } = await start();
    const objects = client.crm.objects;
    await objects.batchApi.create('contacts', {
      inputs: ['ada', 'grace', 'alan', 'edsger', 'barbara'].map((name, index) => ({ properties: { email: `${name}@x.example`, lastname: name, jobtitle: index % 2 === 0 ? 'engineer' : 'admiral' }, associations: [] })),
    });
    const request = {
      filterGroups: [{ filters: [{ propertyName: 'jobtitle', operator: FilterOperatorEnum.Eq, value: 'admiral' }] }, { filters: [{ propertyName: 'lastname', operator: FilterOperatorEnum.In, values: ['ada', 'barbara'] }] }],
      sorts: ['-lastname'],
      properties: ['lastname'],
      limit: 2,
      after: '0',
    };
    const first = await objects.searchApi.doSearch('contacts', request);
    expect(first.total).toBe(4);
    expect(first.results.map((contact) => contact.properties.lastname)).toEqual(['grace', 'edsger']);
    const second = await objects.searchApi.doSearch('contacts', { ...request, after: first.paging?.next?.after ?? '' });
    expect(second.results.map((contact) => contact.properties.lastname)).toEqual(['barbara', 'ada']);
    expect(second.paging?.next).toBeUndefined();
  });

  it('upserts by email in a batch, updates in a batch with a missing id (207 with its fields), deletes, and surfaces the 400 for a bad request', async () => {
    const { client } = await start();
    const objects = client.crm.objects;
    const upserted = await objects.batchApi.upsert('contacts', { inputs: [{ id: 'ada@x.example', idProperty: 'email', properties: { lastname: 'Lovelace' } }] });
    const adaId = upserted.results[0]?.id as string;
    expect(upserted.results[0]).toMatchObject({ _new: true });
    const again = await objects.batchApi.upsert('contacts', { inputs: [{ id: 'ada@x.example', idProperty: 'email', properties: { lastname: 'King' } }] });
    expect(again.results[0]).toMatchObject({ id: adaId, _new: false });

    const updated = await objects.batchApi.update('contacts', { inputs: [{ id: adaId, properties: { jobtitle: 'Countess' } }, { id: '999999', properties: { jobtitle: 'Nobody' } }] });
    expect(updated.results.map((contact) => contact.id)).toEqual([adaId]);
    const [notFound] = 'errors' in updated ? (updated.errors ?? []) : [];
    expect(notFound).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['999999'] }, errors: [], links: {} });

    expect((await objects.basicApi.getById('contacts', adaId, ['jobtitle', 'lastname'])).properties).toMatchObject({ jobtitle: 'Countess', lastname: 'King' });
    await objects.basicApi.archive('contacts', adaId);
    await expect(objects.basicApi.getById('contacts', adaId)).rejects.toMatchObject({ code: 404 });
    await expect(objects.basicApi.create('contacts', { properties: { shoe_size: '44' }, associations: [] })).rejects.toMatchObject({ code: 400, body: expect.objectContaining({ category: 'VALIDATION_ERROR' }) as unknown });
  });

  // [H48]: a batch update or upsert by a property without unique values, `hs_object_id` included
  // (the record id goes in `id`, no idProperty), is refused whole.
  it('refuses a batch update by idProperty hs_object_id and a batch upsert by a non-unique property with the 400 HubSpot answers', async () => {
    const { client, sandbox } = await start();
    const objects = client.crm.objects;
    const [company] = (await objects.batchApi.create('companies', { inputs: [{ properties: { name: 'Acme' }, associations: [] }] })).results;
    const nonUnique = (typeId: string, property: string) => ({
      code: 400,
      body: expect.objectContaining({ status: 'error', category: 'VALIDATION_ERROR', message: `Unable to perform update/upsert by non-unique ${typeId} property ${property} in portal ID ${sandbox.portalId}` }) as unknown,
    });
    await expect(objects.batchApi.update('companies', { inputs: [{ id: company!.id, idProperty: 'hs_object_id', properties: { name: 'Acme Corp' } }] })).rejects.toMatchObject(nonUnique('0-2', 'hs_object_id'));
    await expect(objects.batchApi.upsert('contacts', { inputs: [{ id: 'Lovelace', idProperty: 'lastname', properties: { firstname: 'Ada' } }] })).rejects.toMatchObject(nonUnique('0-1', 'lastname'));
    await expect(objects.batchApi.upsert('companies', { inputs: [{ id: company!.id, idProperty: 'hs_object_id', properties: { name: 'Acme Corp' } }] })).rejects.toMatchObject(nonUnique('0-2', 'hs_object_id'));
    // Nothing was written; by id with no idProperty the update lands.
    expect((await objects.basicApi.getById('companies', company!.id, ['name'])).properties.name).toBe('Acme');
    await objects.batchApi.update('companies', { inputs: [{ id: company!.id, properties: { name: 'Acme Corp' } }] });
    expect((await objects.basicApi.getById('companies', company!.id, ['name'])).properties.name).toBe('Acme Corp');
    expect((await objects.basicApi.getPage('contacts')).results).toEqual([]);
  });

  it('creates and reads a call through the client\'s basicApi; a call without hs_timestamp is the 400 naming it; calls associate to contacts with type 194', async () => {
    const { client } = await start();
    const objects = client.crm.objects;
    const call = await objects.basicApi.create('calls', { properties: { hs_timestamp: '2026-05-01T10:00:00.000Z', hs_call_title: 'Intro', hs_call_status: 'COMPLETED' }, associations: [] });
    const read = await objects.basicApi.getById('calls', call.id, ['hs_call_title', 'hs_call_status', 'hs_timestamp']);
    expect(read.properties).toMatchObject({ hs_call_title: 'Intro', hs_call_status: 'COMPLETED', hs_timestamp: '2026-05-01T10:00:00.000Z' });
    const refused = await objects.basicApi.create('calls', { properties: { hs_call_title: 'No time' }, associations: [] }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 400, body: { category: 'VALIDATION_ERROR', message: 'Error creating CALL. Some required properties were not set.', context: { properties: ['hs_timestamp'] } } });
    const contact = await objects.basicApi.create('contacts', { properties: { email: 'callee@x.example' }, associations: [] });
    await client.crm.associations.v4.batchApi.create('calls', 'contacts', { inputs: [{ _from: { id: call.id }, to: { id: contact.id }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 194 }] }] });
    const links = await client.crm.associations.v4.batchApi.getPage('contacts', 'calls', { inputs: [{ id: contact.id }] });
    expect(links.results[0]?.to[0]).toMatchObject({ toObjectId: Number(call.id), associationTypes: [{ typeId: 193 }] });
  });
});

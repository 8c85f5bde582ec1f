import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startClient, type Client } from './support';

describe('Dynamics sandbox: CRUD, upsert and conditional operations over fetch', () => {
  let client: Client;
  beforeAll(async () => {
    client = await startClient();
  });
  afterAll(async () => client.sandbox.stop());

  it('creates with 204 + OData-EntityId, reads with $select, updates, deletes, then 404s', async () => {
    const created = await client.api('contacts', { method: 'POST', body: JSON.stringify({ firstname: 'Ada', lastname: 'Lovelace', emailaddress1: 'ada@example.com' }) });
    expect(created.status).toBe(204);
    expect(created.headers.get('odata-version')).toBe('4.0');
    const entityId = created.headers.get('odata-entityid') ?? '';
    expect(entityId).toMatch(new RegExp(`^${client.sandbox.serviceRoot.replace(/[.$]/g, '\\$&')}/contacts\\([0-9a-f-]{36}\\)$`));
    const id = /\(([^)]+)\)/.exec(entityId)?.[1] ?? '';

    const read = await client.api(`contacts(${id})?$select=fullname,emailaddress1,modifiedon`);
    expect(read.status).toBe(200);
    const body = await json(read);
    expect(Object.keys(body).sort()).toEqual(['@odata.context', '@odata.etag', 'contactid', 'emailaddress1', 'fullname', 'modifiedon']);
    expect(body).toMatchObject({ fullname: 'Ada Lovelace', contactid: id, '@odata.context': `${client.sandbox.serviceRoot}/$metadata#contacts(fullname,emailaddress1,modifiedon)/$entity` });
    expect(body['@odata.etag']).toMatch(/^W\/"\d+"$/);
    expect(body.modifiedon).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    const updated = await client.api(`contacts(${id})`, { method: 'PATCH', body: JSON.stringify({ jobtitle: 'Analyst' }) });
    expect(updated.status).toBe(204);
    const after = await json(await client.api(`contacts(${id})?$select=jobtitle`));
    expect(after.jobtitle).toBe('Analyst');
    expect(after['@odata.etag']).not.toBe(body['@odata.etag']);

    expect((await client.api(`contacts(${id})`, { method: 'DELETE' })).status).toBe(204);
    const missing = await client.api(`contacts(${id})`, { method: 'DELETE' });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: { code: '0x80040217', message: `contact With Id = ${id} Does Not Exist` } });
  });

  it('returns the record with 201 when Prefer: return=representation', async () => {
    const response = await client.api('accounts?$select=name', { method: 'POST', headers: { prefer: 'return=representation' }, body: JSON.stringify({ name: 'Contoso' }) });
    expect(response.status).toBe(201);
    expect(response.headers.get('preference-applied')).toBe('return=representation');
    expect(await json(response)).toMatchObject({ name: 'Contoso', '@odata.context': `${client.sandbox.serviceRoot}/$metadata#accounts(name)/$entity` });
  });

  it('upserts by alternate key: twice the same key is one record, updated in place', async () => {
    const first = await client.api("contacts(emailaddress1='grace@example.com')", { method: 'PATCH', body: JSON.stringify({ firstname: 'Grace' }) });
    const second = await client.api("contacts(emailaddress1='grace@example.com')", { method: 'PATCH', body: JSON.stringify({ lastname: 'Hopper' }) });
    expect([first.status, second.status]).toEqual([204, 204]);
    expect(second.headers.get('odata-entityid')).toBe(first.headers.get('odata-entityid'));
    const matches = client.sandbox.admin.listRecords('contacts').filter((row) => row.emailaddress1 === 'grace@example.com');
    expect(matches).toHaveLength(1);
    expect(matches[0]).toMatchObject({ firstname: 'Grace', lastname: 'Hopper', fullname: 'Grace Hopper' });

    const bySync = await client.api("accounts(crm_syncid='sync-1')", { method: 'PATCH', body: JSON.stringify({ name: 'Fabrikam' }) });
    await client.api("accounts(crm_syncid='sync-1')", { method: 'PATCH', body: JSON.stringify({ name: 'Fabrikam Ltd' }) });
    expect(bySync.status).toBe(204);
    expect(client.sandbox.admin.listRecords('accounts').filter((row) => row.crm_syncid === 'sync-1').map((row) => row.name)).toEqual(['Fabrikam Ltd']);
  });

  it('honours If-Match: *, If-None-Match: * and If-Match: W/"etag" with the real statuses and bodies', async () => {
    const updateOnly = await client.api("contacts(emailaddress1='nobody@example.com')", { method: 'PATCH', headers: { 'if-match': '*' }, body: JSON.stringify({ firstname: 'X' }) });
    expect(updateOnly.status).toBe(404);
    expect(((await json(updateOnly)).error as { code: string }).code).toBe('0x80040217');
    expect(client.sandbox.admin.listRecords('contacts').some((row) => row.emailaddress1 === 'nobody@example.com')).toBe(false);

    await client.api("contacts(emailaddress1='linus@example.com')", { method: 'PATCH', body: JSON.stringify({ firstname: 'Linus' }) });
    const createOnly = await client.api("contacts(emailaddress1='linus@example.com')", { method: 'PATCH', headers: { 'if-none-match': '*' }, body: JSON.stringify({ firstname: 'L' }) });
    expect(createOnly.status).toBe(412);
    expect(await json(createOnly)).toEqual({ error: { code: '0x80040237', message: 'A record with matching key values already exists.' } });

    const current = await json(await client.api("contacts(emailaddress1='linus@example.com')?$select=firstname"));
    const etag = current['@odata.etag'] as string;
    const ok = await client.api("contacts(emailaddress1='linus@example.com')", { method: 'PATCH', headers: { 'if-match': etag }, body: JSON.stringify({ lastname: 'T' }) });
    expect(ok.status).toBe(204);
    const stale = await client.api("contacts(emailaddress1='linus@example.com')", { method: 'PATCH', headers: { 'if-match': etag }, body: JSON.stringify({ lastname: 'U' }) });
    expect(stale.status).toBe(412);
    expect(await json(stale)).toEqual({ error: { code: '0x80060882', message: "The version of the existing record doesn't match the RowVersion property provided." } });
  });

  it('refuses unknown columns, unknown entity sets and duplicate alternate keys in the real error shape', async () => {
    const select = await client.api('contacts?$select=nosuchcolumn');
    expect(select.status).toBe(400);
    expect(await json(select)).toEqual({ error: { code: '0x80060888', message: "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.contact'." } });
    const write = await client.api('contacts', { method: 'POST', body: JSON.stringify({ shoesize: 42 }) });
    expect(write.status).toBe(400);
    expect(((await json(write)).error as { message: string }).message).toContain("The property 'shoesize' does not exist on type 'Microsoft.Dynamics.CRM.contact'");
    const set = await client.api('widgets');
    expect(set.status).toBe(404);
    expect(await json(set)).toEqual({ error: { code: '0x8006088a', message: "Resource not found for the segment 'widgets'." } });
    await client.api('contacts', { method: 'POST', body: JSON.stringify({ emailaddress1: 'dup@example.com' }) });
    const duplicate = await client.api('contacts', { method: 'POST', body: JSON.stringify({ emailaddress1: 'DUP@example.com' }) });
    expect(duplicate.status).toBe(412);
  });
});

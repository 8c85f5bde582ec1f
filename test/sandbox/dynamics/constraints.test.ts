import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startClient, type Client, type Json } from './support';

/**
 * What Dataverse refuses in a column value, on the single requests and inside `$batch`: a text
 * longer than the column's MaxLength (0x80044331) and a choice value outside its option set
 * (0x8004431a). A column that is only business required (ApplicationRequired, e.g. a contact's
 * last name) is a form rule the Web API does not enforce: a contact without one is created.
 */
const long = 'L'.repeat(51);
const tooLong = { error: { code: '0x80044331', message: "A validation error occurred. The length of the 'lastname' attribute of the 'contact' entity exceeded the maximum allowed length of '50'." } };
const outOfRange = { error: { code: '0x8004431a', message: "A validation error occurred. The value 9 of 'preferredcontactmethodcode' on record of type 'contact' is outside the valid range. Accepted Values: 1,2,3,4,5" } };

describe('Dynamics sandbox: column constraints', () => {
  let client: Client;
  beforeAll(async () => {
    client = await startClient();
  });
  afterAll(async () => client.sandbox.stop());

  const send = async (method: string, path: string, body: unknown): Promise<{ status: number; body: Json | undefined }> => {
    const response = await client.api(path, { method, body: JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Json) : undefined };
  };

  it('describes MaxLength, RequiredLevel and option sets at EntityDefinitions(...)/Attributes', async () => {
    const all = await json(await client.api("EntityDefinitions(LogicalName='contact')/Attributes"));
    const attributes = all.value as Json[];
    expect(attributes.find((attribute) => attribute.LogicalName === 'lastname')).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata',
      AttributeType: 'String',
      MaxLength: 50,
      RequiredLevel: { Value: 'ApplicationRequired' },
      IsValidForCreate: true,
      IsValidForUpdate: true,
    });
    expect(attributes.find((attribute) => attribute.LogicalName === 'fullname')).toMatchObject({ IsValidForCreate: false, IsValidForUpdate: false, MaxLength: 160 });
    expect(attributes.find((attribute) => attribute.LogicalName === 'preferredcontactmethodcode')).not.toHaveProperty('OptionSet');

    const picklists = await json(await client.api("EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)"));
    const [method, ...others] = picklists.value as { LogicalName: string; OptionSet: { Options: { Value: number; Label: { UserLocalizedLabel: { Label: string } } }[] } }[];
    expect(others).toEqual([]);
    expect(method?.LogicalName).toBe('preferredcontactmethodcode');
    expect(method?.OptionSet.Options.map((option) => [option.Value, option.Label.UserLocalizedLabel.Label])).toEqual([[1, 'Any'], [2, 'Email'], [3, 'Phone'], [4, 'Fax'], [5, 'Mail']]);
    const one = await json(await client.api("EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='emailaddress1')/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength"));
    expect(one).toMatchObject({ LogicalName: 'emailaddress1', MaxLength: 100 });
    expect(one).not.toHaveProperty('RequiredLevel');
    // A derived property on the base type is unknown, as OData says.
    expect((await client.api("EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,MaxLength")).status).toBe(400);
  });

  it('refuses a text too long and a choice out of range on create, update and upsert, writing nothing', async () => {
    expect(await send('POST', 'contacts', { lastname: long })).toEqual({ status: 400, body: tooLong });
    expect(await send('POST', 'contacts', { lastname: 'Pick', preferredcontactmethodcode: 9 })).toEqual({ status: 400, body: outOfRange });
    const created = await client.api('contacts', { method: 'POST', body: JSON.stringify({ lastname: 'Kept', preferredcontactmethodcode: 2 }) });
    expect(created.status).toBe(204);
    const id = /\(([0-9a-f-]{36})\)$/.exec(created.headers.get('odata-entityid') ?? '')?.[1];
    expect(await send('PATCH', `contacts(${id})`, { lastname: long })).toEqual({ status: 400, body: tooLong });
    expect(await send('PATCH', `contacts(${id})`, { preferredcontactmethodcode: 9 })).toEqual({ status: 400, body: outOfRange });
    expect(await send('PATCH', "contacts(crm_syncid='s-1')", { lastname: long })).toEqual({ status: 400, body: tooLong });
    expect(client.sandbox.admin.listRecords('contacts').map((row) => [row.lastname, row.preferredcontactmethodcode])).toEqual([['Kept', 2]]);
    // Business required is not enforced through the API.
    expect((await send('POST', 'contacts', { firstname: 'No last name' })).status).toBe(204);
  });

  it('fails just the bad parts of a $batch with continue-on-error, the others landing', async () => {
    const part = (method: string, url: string, body: unknown) =>
      ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', `${method} ${url} HTTP/1.1`, 'Content-Type: application/json; type=entry', '', JSON.stringify(body)].join('\r\n');
    const items = [
      part('PATCH', "/api/data/v9.2/contacts(crm_syncid='b-1')", { lastname: 'Batch one' }),
      part('PATCH', "/api/data/v9.2/contacts(crm_syncid='b-2')", { lastname: long }),
      part('PATCH', "/api/data/v9.2/contacts(crm_syncid='b-3')", { lastname: 'Pick', preferredcontactmethodcode: 9 }),
      part('PATCH', "/api/data/v9.2/contacts(crm_syncid='b-4')", { lastname: 'Batch four' }),
    ];
    const body = `${items.map((item) => `--batch_c\r\n${item}\r\n`).join('')}--batch_c--\r\n`;
    const response = await client.api('$batch', { method: 'POST', headers: { 'content-type': 'multipart/mixed; boundary="batch_c"', prefer: 'odata.continue-on-error' }, body });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect([...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => Number(match[1]))).toEqual([204, 400, 400, 204]);
    expect(text).toContain(JSON.stringify(tooLong));
    expect(text).toContain(JSON.stringify(outOfRange));
    expect(client.sandbox.admin.listRecords('contacts').map((row) => row.crm_syncid).filter((syncId) => String(syncId).startsWith('b-')).sort()).toEqual(['b-1', 'b-4']);
  });
});

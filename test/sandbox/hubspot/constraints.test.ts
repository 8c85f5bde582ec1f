import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

/**
 * What HubSpot refuses in a property value, on every write path: a value outside an enumeration's
 * options (INVALID_OPTION) and a text longer than a property holds; both as 400 VALIDATION_ERROR
 * with the issue list in `message`, a batch failing whole. HubSpot has no property the API
 * requires on a contact, so a missing value is accepted.
 */
let sandbox: HubSpotSandbox;
let client: Client;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ limits: false });
  client = new Client({ accessToken: sandbox.credentials.accessToken, basePath: sandbox.url });
  void client.crm.properties.coreApi;
  sandbox.admin.defineProperty('contacts', 'level', 'enumeration', false, ['primary', 'secondary']);
});
afterAll(async () => sandbox.stop());

async function raw(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const long = 'x'.repeat(65_537);
const badOption = { isValid: false, message: 'bogus was not one of the allowed options: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other]', error: 'INVALID_OPTION', name: 'lifecyclestage' };
const tooLong = { isValid: false, error: 'INVALID_STRING_LENGTH', name: 'lastname' };
/** The issues HubSpot lists, JSON-encoded after "Property values were not valid: ". */
const issuesOf = (body: Record<string, unknown>): unknown => JSON.parse(String(body.message).replace(/^Property values were not valid: /, ''));
const refused = (answer: { status: number; body: Record<string, unknown> }, issue: Record<string, unknown>) => {
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', message: expect.stringMatching(/^Property values were not valid: \[/) as unknown });
  expect(issuesOf(answer.body)).toEqual([expect.objectContaining(issue)]);
};

describe('HubSpot property constraints', () => {
  it('describes properties with their enumeration options at GET /crm/v3/properties/{objectType}', async () => {
    const { results } = await client.crm.properties.coreApi.getAll('contacts');
    const lifecycle = results.find((property) => property.name === 'lifecyclestage');
    expect(lifecycle).toMatchObject({ type: 'enumeration', fieldType: 'select', hubspotDefined: true, externalOptions: false });
    expect(lifecycle?.options.map((option) => option.value)).toContain('customer');
    expect(results.find((property) => property.name === 'level')).toMatchObject({ hubspotDefined: false, options: [expect.objectContaining({ value: 'primary' }), expect.objectContaining({ value: 'secondary' })] });
    expect(results.find((property) => property.name === 'email')).toMatchObject({ type: 'string', fieldType: 'text', hasUniqueValue: true });
    expect(await client.crm.properties.coreApi.getByName('contacts', 'lastname')).toMatchObject({ name: 'lastname', type: 'string' });
    const dealStage = (await client.crm.properties.coreApi.getAll('deals')).results.find((property) => property.name === 'dealstage');
    expect(dealStage).toMatchObject({ externalOptions: true, options: [] });
  });

  it('refuses an unknown option and a text too long on create, update and upsert by idProperty', async () => {
    refused(await raw('POST', '/crm/v3/objects/contacts', { properties: { email: 'a@opt.example', lifecyclestage: 'bogus' } }), badOption);
    refused(await raw('POST', '/crm/v3/objects/contacts', { properties: { email: 'a@opt.example', lastname: long } }), tooLong);
    const created = await raw('POST', '/crm/v3/objects/contacts', { properties: { email: 'kept@opt.example', lifecyclestage: 'lead', level: 'primary' } });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    refused(await raw('PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { lifecyclestage: 'bogus' } }), badOption);
    refused(await raw('PATCH', `/crm/v3/objects/contacts/kept@opt.example?idProperty=email`, { properties: { lastname: long } }), tooLong);
    refused(await raw('PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { level: 'tertiary' } }), { error: 'INVALID_OPTION', name: 'level', message: 'tertiary was not one of the allowed options: [primary, secondary]' });
    expect(sandbox.admin.getRecord('contacts', id)?.properties).toMatchObject({ lifecyclestage: 'lead', level: 'primary' });
    // No contact property is required by the API: a contact with no name is created.
    expect((await raw('POST', '/crm/v3/objects/contacts', { properties: { email: 'noname@opt.example' } })).status).toBe(201);
  });

  it('fails a whole batch create, update or upsert with 400 when one input is invalid, writing none', async () => {
    const before = sandbox.admin.listRecords('contacts').length;
    const inputs = [{ properties: { email: 'b1@opt.example', lifecyclestage: 'customer' } }, { properties: { email: 'b2@opt.example', lifecyclestage: 'bogus' } }];
    refused(await raw('POST', '/crm/v3/objects/contacts/batch/create', { inputs }), badOption);
    refused(
      await raw('POST', '/crm/v3/objects/contacts/batch/upsert', {
        inputs: [{ id: 'u1@opt.example', idProperty: 'email', properties: { lastname: 'Fine' } }, { id: 'u2@opt.example', idProperty: 'email', properties: { lastname: long } }],
      }),
      tooLong,
    );
    expect(sandbox.admin.listRecords('contacts')).toHaveLength(before);
    const [kept] = sandbox.admin.listRecords('contacts');
    refused(await raw('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: kept!.id, properties: { lifecyclestage: 'bogus' } }] }), badOption);
    const fine = await raw('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [inputs[0]] });
    expect(fine.status).toBe(201);
  });
});

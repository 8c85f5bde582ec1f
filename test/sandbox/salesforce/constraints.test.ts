import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

/**
 * The three refusals a real org makes on a Contact write, on every write path: a value longer
 * than the field (STRING_TOO_LONG), a required field missing (REQUIRED_FIELD_MISSING) and a value
 * outside a restricted picklist (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST), each naming the field.
 */
let sandbox: SalesforceSandbox;
let conn: Connection;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ dailyApiRequests: false, bulk: { processingDelayMs: 0 } });
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  conn = new Connection({ instanceUrl, accessToken, version });
  conn.bulk2.pollInterval = 20;
  conn.bulk2.pollTimeout = 10_000;
});
afterAll(async () => sandbox.stop());

async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${sandbox.url}/services/data/v62.0${path}`, {
    ...init,
    headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, 'content-type': 'application/json' },
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const long = 'L'.repeat(81);
const tooLong = { message: `Last Name: data value too large: ${long} (max length=80)`, errorCode: 'STRING_TOO_LONG', fields: ['LastName'] };
const missing = { message: 'Required fields are missing: [LastName]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] };
const badPicklist = { message: 'Level: bad value for restricted picklist field: Quaternary', errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['Level__c'] };
/** Collections and bulk results say `statusCode` where single-record errors say `errorCode` [S16]. */
const asItem = ({ errorCode, ...rest }: { errorCode: string; message: string; fields: string[] }) => ({ statusCode: errorCode, ...rest });
const contactNamed = (lastName: string) => sandbox.admin.listRecords('Contact').filter((record) => record.LastName === lastName);

describe('Salesforce field constraints', () => {
  it('describes lengths, required fields and restricted picklists as describe does', async () => {
    const described = await conn.sobject('Contact').describe();
    type Described = { name: string; picklistValues?: { value: string; active: boolean }[] | null } & Record<string, unknown>;
    const field = (name: string): Described | undefined => (described.fields as unknown as Described[]).find((entry) => entry.name === name);
    expect(field('LastName')).toMatchObject({ type: 'string', length: 80, nillable: false, createable: true, updateable: true, calculated: false, defaultedOnCreate: false, label: 'Last Name' });
    expect(field('Email')).toMatchObject({ type: 'email', length: 80, nillable: true });
    expect(field('Phone')).toMatchObject({ type: 'phone', length: 40 });
    expect(field('Title')).toMatchObject({ length: 128 });
    expect(field('LeadSource')).toMatchObject({ type: 'picklist', restrictedPicklist: false });
    expect(field('LeadSource')?.picklistValues?.map((value) => [value.value, value.active])).toContainEqual(['Web', true]);
    expect(field('Level__c')).toMatchObject({ type: 'picklist', restrictedPicklist: true, custom: true });
    expect(field('Level__c')?.picklistValues?.map((value) => value.value)).toEqual(['Primary', 'Secondary', 'Tertiary']);
    expect(field('Name')).toMatchObject({ calculated: true, createable: false, updateable: false });
    expect(field('HasOptedOutOfEmail')).toMatchObject({ nillable: false, defaultedOnCreate: true });
  });

  it('refuses each on sObject create, update by id and upsert by external id (400, the vendor body)', async () => {
    expect(await raw('/sobjects/Contact', { method: 'POST', body: JSON.stringify({ LastName: long }) })).toEqual({ status: 400, body: [tooLong] });
    expect(await raw('/sobjects/Contact', { method: 'POST', body: JSON.stringify({ FirstName: 'Only' }) })).toEqual({ status: 400, body: [missing] });
    expect(await raw('/sobjects/Contact', { method: 'POST', body: JSON.stringify({ LastName: 'Pick', Level__c: 'Quaternary' }) })).toEqual({ status: 400, body: [badPicklist] });

    const id = String((await conn.sobject('Contact').create({ LastName: 'Kept', Level__c: 'Primary', LeadSource: 'Trade show' })).id);
    expect(await raw(`/sobjects/Contact/${id}`, { method: 'PATCH', body: JSON.stringify({ LastName: long }) })).toEqual({ status: 400, body: [tooLong] });
    expect(await raw(`/sobjects/Contact/${id}`, { method: 'PATCH', body: JSON.stringify({ LastName: '' }) })).toEqual({ status: 400, body: [missing] });
    expect(await raw(`/sobjects/Contact/${id}`, { method: 'PATCH', body: JSON.stringify({ Level__c: 'Quaternary' }) })).toEqual({ status: 400, body: [badPicklist] });
    // An unrestricted picklist takes values outside its set, as the real one does.
    expect(sandbox.admin.getRecord('Contact', id)).toMatchObject({ LastName: 'Kept', Level__c: 'Primary', LeadSource: 'Trade show' });

    expect(await raw('/sobjects/Contact/Sync_Id__c/u-1', { method: 'PATCH', body: JSON.stringify({ LastName: long }) })).toEqual({ status: 400, body: [tooLong] });
    expect(await raw('/sobjects/Contact/Sync_Id__c/u-1', { method: 'PATCH', body: JSON.stringify({ FirstName: 'No last' }) })).toEqual({ status: 400, body: [missing] });
    expect(await raw('/sobjects/Contact/Sync_Id__c/u-1', { method: 'PATCH', body: JSON.stringify({ LastName: 'U', Level__c: 'Quaternary' }) })).toEqual({ status: 400, body: [badPicklist] });
    expect(sandbox.admin.listRecords('Contact').filter((record) => record.Sync_Id__c === 'u-1')).toHaveLength(0);
  });

  it('refuses just the bad items of a collection (allOrNone false) and lets the others land', async () => {
    const upserted = await raw('/composite/sobjects/Contact/Sync_Id__c', {
      method: 'PATCH',
      body: JSON.stringify({
        allOrNone: false,
        records: [
          { attributes: { type: 'Contact' }, Sync_Id__c: 'c-1', LastName: 'Coll fine 1' },
          { attributes: { type: 'Contact' }, Sync_Id__c: 'c-2', LastName: long },
          { attributes: { type: 'Contact' }, Sync_Id__c: 'c-3', FirstName: 'No last' },
          { attributes: { type: 'Contact' }, Sync_Id__c: 'c-4', LastName: 'Coll pick', Level__c: 'Quaternary' },
          { attributes: { type: 'Contact' }, Sync_Id__c: 'c-5', LastName: 'Coll fine 2' },
        ],
      }),
    });
    expect(upserted.status).toBe(200);
    expect(upserted.body).toMatchObject([
      { success: true, created: true },
      { success: false, errors: [asItem(tooLong)] },
      { success: false, errors: [asItem(missing)] },
      { success: false, errors: [asItem(badPicklist)] },
      { success: true, created: true },
    ]);
    expect(sandbox.admin.listRecords('Contact').filter((record) => String(record.Sync_Id__c).startsWith('c-')).map((record) => record.Sync_Id__c).sort()).toEqual(['c-1', 'c-5']);

    const created = await conn.sobject('Contact').create([{ LastName: 'Coll create' }, { LastName: long }, { FirstName: 'x' }, { LastName: 'p', Level__c: 'Quaternary' }], { allOrNone: false });
    expect(created.map((result) => (result.success ? 'ok' : result.errors[0]))).toMatchObject(['ok', asItem(tooLong), asItem(missing), asItem(badPicklist)]);

    const id = String(created[0]?.id);
    const updated = await raw('/composite/sobjects', {
      method: 'PATCH',
      body: JSON.stringify({ allOrNone: false, records: [{ attributes: { type: 'Contact' }, id, LastName: long }, { attributes: { type: 'Contact' }, id, Level__c: 'Quaternary' }, { attributes: { type: 'Contact' }, id, LastName: null }, { attributes: { type: 'Contact' }, id, Title: 'Landed' }] }),
    });
    expect(updated.body).toMatchObject([{ success: false, errors: [asItem(tooLong)] }, { success: false, errors: [asItem(badPicklist)] }, { success: false, errors: [asItem(missing)] }, { success: true }]);
    expect(sandbox.admin.getRecord('Contact', id)).toMatchObject({ LastName: 'Coll create', Title: 'Landed', Level__c: null });
  });

  it('refuses each in a Composite subrequest with the vendor body, the other subrequests running', async () => {
    const id = String((await conn.sobject('Contact').create({ LastName: 'Composite' })).id);
    const url = `/services/data/v62.0/sobjects/Contact`;
    const answer = await conn.requestPost<{ compositeResponse: { httpStatusCode: number; referenceId: string; body: unknown }[] }>('/composite', {
      allOrNone: false,
      compositeRequest: [
        { method: 'POST', url, referenceId: 'long', body: { LastName: long } },
        { method: 'POST', url, referenceId: 'missing', body: { FirstName: 'x' } },
        { method: 'PATCH', url: `${url}/${id}`, referenceId: 'pick', body: { Level__c: 'Quaternary' } },
        { method: 'PATCH', url: `${url}/${id}`, referenceId: 'fine', body: { Level__c: 'Secondary' } },
      ],
    });
    expect(answer.compositeResponse.map(({ referenceId, httpStatusCode, body }) => ({ referenceId, httpStatusCode, body }))).toEqual([
      { referenceId: 'long', httpStatusCode: 400, body: [tooLong] },
      { referenceId: 'missing', httpStatusCode: 400, body: [missing] },
      { referenceId: 'pick', httpStatusCode: 400, body: [badPicklist] },
      { referenceId: 'fine', httpStatusCode: 204, body: null },
    ]);
    expect(sandbox.admin.getRecord('Contact', id)?.Level__c).toBe('Secondary');
  });

  it('fails each bad row of a Bulk API 2.0 ingest job in failedResults, the other rows landing', async () => {
    for (const operation of ['insert', 'upsert'] as const) {
      // One CSV: every row has every column; an empty cell leaves the field as it is.
      const input = [
        { Sync_Id__c: `b-${operation}-1`, FirstName: '', LastName: `Bulk ${operation}`, Level__c: 'Primary' },
        { Sync_Id__c: `b-${operation}-2`, FirstName: '', LastName: long, Level__c: '' },
        { Sync_Id__c: `b-${operation}-3`, FirstName: 'No last', LastName: '', Level__c: '' },
        { Sync_Id__c: `b-${operation}-4`, FirstName: '', LastName: 'Bulk pick', Level__c: 'Quaternary' },
      ];
      const results = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation, externalIdFieldName: 'Sync_Id__c', input });
      const syncId = (row: Record<string, unknown>): unknown => row.Sync_Id__c;
      expect(results.successfulResults.map(syncId)).toEqual([`b-${operation}-1`]);
      expect(results.failedResults.map((row) => [syncId(row), row.sf__Error])).toEqual([
        [`b-${operation}-2`, `STRING_TOO_LONG:${tooLong.message}:LastName --`],
        [`b-${operation}-3`, `REQUIRED_FIELD_MISSING:${missing.message}:LastName --`],
        [`b-${operation}-4`, `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:${badPicklist.message}:Level__c --`],
      ]);
    }
    expect(contactNamed('Bulk insert')).toHaveLength(1);
    expect(contactNamed('Bulk pick')).toHaveLength(0);
  });
});

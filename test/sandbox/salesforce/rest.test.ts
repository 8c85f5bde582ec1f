import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

let sandbox: SalesforceSandbox;
let conn: Connection;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ dailyApiRequests: false });
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  conn = new Connection({ instanceUrl, accessToken, version });
});
afterAll(async () => sandbox.stop());

/** Raw call, to assert status, headers and body exactly as the wire carries them. */
async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${sandbox.url}/services/data/v62.0${path}`, {
    ...init,
    headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: response.headers };
}

describe('sObject CRUD through jsforce', () => {
  it('creates, reads, updates and soft-deletes a Contact with 18-char ids and advancing SystemModstamp', async () => {
    const created = await conn.sobject('Contact').create({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com', Company__c: 'Analytical' });
    expect(created).toMatchObject({ success: true, errors: [] });
    expect(created.id).toMatch(/^003[a-zA-Z0-9]{15}$/);
    const first = await conn.sobject('Contact').retrieve(created.id as string);
    expect(first).toMatchObject({ Id: created.id, Name: 'Ada Lovelace', Company__c: 'Analytical', IsDeleted: false, HasOptedOutOfEmail: false });
    expect(first.attributes).toEqual({ type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${created.id}` });

    await conn.sobject('Contact').update({ Id: created.id as string, Title: 'Countess' });
    const second = await conn.sobject('Contact').retrieve(created.id as string);
    expect(second.Title).toBe('Countess');
    expect(Date.parse(String(second.SystemModstamp).replace('+0000', 'Z'))).toBeGreaterThan(Date.parse(String(first.SystemModstamp).replace('+0000', 'Z')));

    await conn.sobject('Contact').destroy(created.id as string);
    await expect(conn.sobject('Contact').retrieve(created.id as string)).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
    expect(sandbox.admin.getRecord('Contact', created.id as string)).toMatchObject({ IsDeleted: true });
    const all = await conn.query(`SELECT Id, IsDeleted FROM Contact WHERE Id = '${created.id}'`).scanAll(true);
    expect(all.records).toMatchObject([{ Id: created.id, IsDeleted: true }]);
    const live = await conn.query(`SELECT Id FROM Contact WHERE Id = '${created.id}'`);
    expect(live.totalSize).toBe(0);
  });

  it('uses the right key prefix per object', async () => {
    const results = await Promise.all([
      conn.sobject('Account').create({ Name: 'Acme' }),
      conn.sobject('Opportunity').create({ Name: 'Deal', StageName: 'Prospecting', CloseDate: '2026-03-01' }),
      conn.sobject('Task').create({ Subject: 'Call' }),
    ]);
    expect(results.map((result) => result.id?.slice(0, 3))).toEqual(['001', '006', '00T']);
    expect(await conn.sobject('Task').retrieve(results[2].id as string)).toMatchObject({ Status: 'Not Started', Priority: 'Normal' });
  });

  it('rejects unknown standard fields, read-only fields and missing required fields in the real shapes', async () => {
    const unknown = await raw('/sobjects/Contact', { method: 'POST', body: JSON.stringify({ LastName: 'X', Nickname: 'y' }) });
    expect(unknown).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_FIELD', message: "No such column 'Nickname' on sobject of type Contact" }] });
    const readOnly = await raw('/sobjects/Contact', { method: 'POST', body: JSON.stringify({ LastName: 'X', Name: 'Full' }) });
    expect(readOnly).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['Name'] }] });
    const missing = await raw('/sobjects/Contact', { method: 'POST', body: JSON.stringify({ FirstName: 'X' }) });
    expect(missing).toMatchObject({ status: 400, body: [{ errorCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }] });
    await expect(conn.sobject('Contact').create({ LastName: 'X', Email: 'not-an-email' })).rejects.toMatchObject({ errorCode: 'INVALID_EMAIL_ADDRESS' });
  });
});

describe('upsert by external id', () => {
  it('creates (201, created:true) then updates (200, created:false) one record', async () => {
    const first = await raw('/sobjects/Contact/Sync_Id__c/sync-1', { method: 'PATCH', body: JSON.stringify({ LastName: 'First' }) });
    expect(first).toMatchObject({ status: 201, body: { success: true, errors: [], created: true } });
    const second = await conn.sobject('Contact').upsert({ Sync_Id__c: 'sync-1', LastName: 'Second' }, 'Sync_Id__c');
    expect(second).toMatchObject({ success: true, created: false, id: (first.body as { id: string }).id });
    const found = await conn.query("SELECT Id, LastName FROM Contact WHERE Sync_Id__c = 'SYNC-1'");
    expect(found.records).toMatchObject([{ LastName: 'Second' }]);
  });

  it('answers 204 without a body for an update before API 46.0', async () => {
    await raw('/sobjects/Contact/Sync_Id__c/old-api', { method: 'PATCH', body: JSON.stringify({ LastName: 'A' }) });
    const response = await fetch(`${sandbox.url}/services/data/v45.0/sobjects/Contact/Sync_Id__c/old-api`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ LastName: 'B' }),
    });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('answers 300 with the matching record URLs when several records share the external id', async () => {
    const a = await conn.sobject('Contact').create({ LastName: 'Dup A', Sync_Id__c: 'dup' });
    const b = await conn.sobject('Contact').create({ LastName: 'Dup B', Sync_Id__c: 'dup' });
    const response = await raw('/sobjects/Contact/Sync_Id__c/dup', { method: 'PATCH', body: JSON.stringify({ LastName: 'C' }) });
    expect(response.status).toBe(300);
    expect(response.body).toEqual([`/services/data/v62.0/sobjects/Contact/${a.id}`, `/services/data/v62.0/sobjects/Contact/${b.id}`]);
    await expect(conn.sobject('Contact').upsert({ Sync_Id__c: 'dup', LastName: 'C' }, 'Sync_Id__c')).rejects.toMatchObject({ errorCode: 'MULTIPLE_CHOICES' });
  });

  it('answers 404 NOT_FOUND for a field that is not an external id', async () => {
    const response = await raw('/sobjects/Contact/Email/a@b.com', { method: 'PATCH', body: JSON.stringify({ LastName: 'X' }) });
    expect(response).toMatchObject({
      status: 404,
      body: [{ errorCode: 'NOT_FOUND', message: 'Provided external ID field does not exist or is not accessible: Email' }],
    });
    expect(response.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
  });
});

describe('sObject collections', () => {
  it('upserts up to 200 records per call with per-item results in order', async () => {
    await conn.sobject('Account').create({ Name: 'Existing', Sync_Id__c: 'acc-0' });
    const records = Array.from({ length: 250 }, (_, i) => ({ Sync_Id__c: `acc-${i}`, Name: `Account ${i}` }));
    const results = await conn.upsert('Account', records, 'Sync_Id__c', { allowRecursive: true });
    expect(results).toHaveLength(250);
    expect(results.map((result) => result.created)).toEqual([false, ...Array.from({ length: 249 }, () => true)]);
    expect(sandbox.counters.snapshot().requests['PATCH /services/data/:version/composite/sobjects/:type/:field']).toBe(2);
  });

  it('refuses more than 200 records and rolls back everything under allOrNone', async () => {
    const tooMany = await raw('/composite/sobjects/Account/Sync_Id__c', {
      method: 'PATCH',
      body: JSON.stringify({ records: Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Account' }, Sync_Id__c: `x${i}`, Name: 'n' })) }),
    });
    expect(tooMany).toMatchObject({ status: 400, body: [{ errorCode: 'EXCEEDED_ID_LIMIT' }] });

    const rolledBack = await raw('/composite/sobjects/Account/Sync_Id__c', {
      method: 'PATCH',
      body: JSON.stringify({
        allOrNone: true,
        records: [
          { attributes: { type: 'Account' }, Sync_Id__c: 'aon-1', Name: 'Fine' },
          { attributes: { type: 'Account' }, Sync_Id__c: 'aon-2', Bogus: 1 },
        ],
      }),
    });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body).toMatchObject([
      { success: false, errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' }] },
      { success: false, errors: [{ statusCode: 'INVALID_FIELD' }] },
    ]);
    expect((await conn.query("SELECT Id FROM Account WHERE Sync_Id__c IN ('aon-1', 'aon-2')")).totalSize).toBe(0);
  });

  it('creates, updates and deletes collections as jsforce sends them', async () => {
    const created = await conn.sobject('Contact').create([{ LastName: 'C1' }, { LastName: 'C2' }, { FirstName: 'no last name' }]);
    expect(created.map((result) => result.success)).toEqual([true, true, false]);
    const ids = created.filter((result) => result.success).map((result) => String(result.id));
    const updated = await conn.sobject('Contact').update(ids.map((Id) => ({ Id, Title: 'Updated' })));
    expect(updated.every((result) => result.success)).toBe(true);
    const retrieved = await conn.sobject('Contact').retrieve(ids, { fields: ['Title'] });
    expect(retrieved.map((record): unknown => record?.Title)).toEqual(['Updated', 'Updated']);
    const deleted = await conn.sobject('Contact').destroy(ids);
    expect(deleted.map((result) => result.success)).toEqual([true, true]);
  });
});

describe('updated, deleted and versions', () => {
  it('lists ids changed and deleted in a window, in the real shapes', async () => {
    const start = new Date(Date.now() - 60_000);
    const kept = await conn.sobject('Opportunity').create({ Name: 'Kept', StageName: 'Prospecting', CloseDate: '2026-01-01' });
    const gone = await conn.sobject('Opportunity').create({ Name: 'Gone', StageName: 'Prospecting', CloseDate: '2026-01-01' });
    await conn.sobject('Opportunity').destroy(gone.id as string);
    const end = new Date(Date.now() + 60_000);
    const updated = await conn.sobject('Opportunity').updated(start, end);
    expect(updated.ids).toContain(kept.id);
    expect(updated.ids).not.toContain(gone.id);
    expect(updated.latestDateCovered).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    const deleted = await conn.sobject('Opportunity').deleted(start, end);
    expect(deleted.deletedRecords).toEqual([{ id: gone.id, deletedDate: expect.stringMatching(/\+0000$/) as unknown }]);
    expect(deleted).toHaveProperty('earliestDateAvailable');
  });

  it('lists versions without authentication or counting, and 404s an unknown version', async () => {
    const response = await fetch(`${sandbox.url}/services/data/`);
    const versions = (await response.json()) as { version: string; label: string; url: string }[];
    expect(versions).toContainEqual({ label: "Winter '25", url: '/services/data/v62.0', version: '62.0' });
    const unknown = await fetch(`${sandbox.url}/services/data/v99.0/sobjects`, { headers: { authorization: `Bearer ${sandbox.credentials.accessToken}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  });
});

describe('conditional requests and the Composite resource', () => {
  const contact = async (): Promise<{ id: string; modstamp: string }> => {
    const id = String((await conn.sobject('Contact').create({ LastName: 'Conditional' })).id);
    const row = await conn.sobject('Contact').retrieve(id);
    return { id, modstamp: String(row.SystemModstamp) };
  };
  const httpDate = (sfDateTime: string, plusMs = 0): string => new Date(Date.parse(sfDateTime.replace('+0000', 'Z')) + plusMs).toUTCString();

  it('updates a row not modified since the HTTP date given, to the second, and refuses one modified later (412)', async () => {
    const { id, modstamp } = await contact();
    // Same second as the last save: the date holds whole seconds, so it passes.
    expect((await raw(`/sobjects/Contact/${id}`, { method: 'PATCH', headers: { 'If-Unmodified-Since': httpDate(modstamp) }, body: JSON.stringify({ Title: 'First' }) })).status).toBe(204);
    // A second before the last save: refused, nothing written.
    const refused = await raw(`/sobjects/Contact/${id}`, { method: 'PATCH', headers: { 'If-Unmodified-Since': httpDate(modstamp, -1_000) }, body: JSON.stringify({ Title: 'Second' }) });
    expect(refused.status).toBe(412);
    expect(JSON.stringify(refused.body)).toContain('modified since');
    expect(sandbox.admin.getRecord('Contact', id)?.Title).toBe('First');
    const malformed = await raw(`/sobjects/Contact/${id}`, { method: 'PATCH', headers: { 'If-Unmodified-Since': modstamp }, body: JSON.stringify({ Title: 'Third' }) });
    expect(malformed.status).toBe(400);
    expect(sandbox.admin.getRecord('Contact', id)?.Title).toBe('First');
  });

  it('runs up to 25 subrequests in one call, each with its own status and headers, counted as one request', async () => {
    const [a, b] = [await contact(), await contact()];
    const before = sandbox.admin.stats().dailyRequests.used;
    const answer = await conn.requestPost<{ compositeResponse: { httpStatusCode: number; referenceId: string; body: unknown }[] }>('/composite', {
      allOrNone: false,
      compositeRequest: [
        { method: 'PATCH', url: `/services/data/v62.0/sobjects/Contact/${a.id}`, referenceId: 'fresh', body: { Title: 'Fresh' }, httpHeaders: { 'If-Unmodified-Since': httpDate(a.modstamp) } },
        { method: 'PATCH', url: `/services/data/v62.0/sobjects/Contact/${b.id}`, referenceId: 'stale', body: { Title: 'Stale' }, httpHeaders: { 'If-Unmodified-Since': httpDate(b.modstamp, -1_000) } },
        { method: 'GET', url: `/services/data/v62.0/sobjects/Contact/${a.id}`, referenceId: 'read' },
        { method: 'PATCH', url: `/services/data/v62.0/sobjects/Contact/003000000000000AAA`, referenceId: 'gone', body: { Title: 'x' } },
      ],
    });
    expect(answer.compositeResponse.map(({ referenceId, httpStatusCode }) => [referenceId, httpStatusCode])).toEqual([['fresh', 204], ['stale', 412], ['read', 200], ['gone', 404]]);
    expect(answer.compositeResponse[2]?.body).toMatchObject({ Id: a.id, Title: 'Fresh' });
    expect(sandbox.admin.getRecord('Contact', b.id)?.Title).toBeNull();
    expect(sandbox.admin.stats().dailyRequests.used - before).toBe(1);
  });

  it('refuses the lot unwritten under allOrNone, and refuses what it cannot carry (26 subrequests, inherited headers)', async () => {
    const { id, modstamp } = await contact();
    const allOrNone = await conn.requestPost<{ compositeResponse: { httpStatusCode: number; body: { errorCode: string }[] | null }[] }>('/composite', {
      allOrNone: true,
      compositeRequest: [
        { method: 'PATCH', url: `/services/data/v62.0/sobjects/Contact/${id}`, referenceId: 'ok', body: { Title: 'Kept out' } },
        { method: 'PATCH', url: `/services/data/v62.0/sobjects/Contact/${id}`, referenceId: 'stale', body: { Title: 'x' }, httpHeaders: { 'If-Unmodified-Since': httpDate(modstamp, -1_000) } },
      ],
    });
    expect(allOrNone.compositeResponse.map((result) => [result.httpStatusCode, result.body?.[0]?.errorCode])).toEqual([[400, 'PROCESSING_HALTED'], [412, expect.any(String)]]);
    expect(sandbox.admin.getRecord('Contact', id)?.Title).toBeNull();
    const subrequest = { method: 'GET', url: `/services/data/v62.0/sobjects/Contact/${id}` };
    const tooMany = await raw('/composite', { method: 'POST', body: JSON.stringify({ compositeRequest: Array.from({ length: 26 }, (_, index) => ({ ...subrequest, referenceId: `r${index}` })) }) });
    expect(tooMany.status).toBe(400);
    const inherited = await raw('/composite', { method: 'POST', body: JSON.stringify({ compositeRequest: [{ ...subrequest, referenceId: 'r', httpHeaders: { Authorization: 'Bearer x' } }] }) });
    expect(inherited.status).toBe(400);
  });
});

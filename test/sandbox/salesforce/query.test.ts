import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSoql } from '../../../src/sandbox/salesforce/soql-parser';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

let sandbox: SalesforceSandbox;
let conn: Connection;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ seed: { contacts: 450 } });
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  conn = new Connection({ instanceUrl, accessToken, version });
});
afterAll(async () => sandbox.stop());

async function rawQuery(soql: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${sandbox.url}/services/data/v62.0/query?q=${encodeURIComponent(soql)}`, {
    headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, ...headers },
  });
  return { status: response.status, body: await response.json() };
}

describe('SOQL paging', () => {
  it('pages with nextRecordsUrl at the requested batch size and jsforce autoFetch collects every page', async () => {
    const headers = { 'Sforce-Query-Options': 'batchSize=200' };
    const first = await rawQuery('SELECT Id FROM Contact', headers);
    expect(first.body).toMatchObject({ totalSize: 450, done: false, nextRecordsUrl: expect.stringMatching(/^\/services\/data\/v62\.0\/query\/01g\w+-200$/) as unknown });
    expect((first.body as { records: unknown[] }).records).toHaveLength(200);

    const before = sandbox.counters.snapshot().requests['GET /services/data/:version/query/:locator'] ?? 0;
    const all = await conn.query('SELECT Id, Email FROM Contact ORDER BY Email', { autoFetch: true, maxFetch: 10_000, headers });
    expect(all.records).toHaveLength(450);
    expect(new Set(all.records.map((record) => record.Id)).size).toBe(450);
    const emails = all.records.map((record) => String(record.Email));
    expect(emails).toEqual([...emails].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    expect((sandbox.counters.snapshot().requests['GET /services/data/:version/query/:locator'] ?? 0) - before).toBe(2);
  });

  it('follows a locator with queryMore and clamps batch sizes below 200', async () => {
    const first = await conn.query('SELECT Id FROM Contact', { headers: { 'Sforce-Query-Options': 'batchSize=50' } });
    expect(first.records).toHaveLength(200);
    expect(first.done).toBe(false);
    const second = await conn.queryMore(first.nextRecordsUrl as string);
    expect(second.records).toHaveLength(200);
    const defaultBatch = await conn.query('SELECT Id FROM Contact');
    expect(defaultBatch).toMatchObject({ done: true, totalSize: 450 });
  });

  it('filters on unquoted datetimes, ids, strings and IsDeleted, with LIMIT and COUNT()', async () => {
    const marker = new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const fresh = await conn.sobject('Contact').create({ LastName: "O'Brien", Sync_Id__c: 'q-1' });
    const byStamp = await conn.query(`SELECT Id, LastName FROM Contact WHERE SystemModstamp > ${marker} AND LastName = 'o\\'brien' ORDER BY SystemModstamp DESC`);
    expect(byStamp.records).toMatchObject([{ Id: fresh.id, LastName: "O'Brien" }]);
    const byId = await conn.query(`SELECT Id FROM Contact WHERE Id IN ('${fresh.id}') AND IsDeleted = false LIMIT 5`);
    expect(byId.totalSize).toBe(1);
    const count = await conn.query("SELECT COUNT() FROM Contact WHERE (Email LIKE '%.1%' OR Email = null) AND NOT LastName = 'x'");
    expect(count.totalSize).toBeGreaterThan(0);
    expect(count.records).toEqual([]);
  });
});

describe('SOQL errors in the real shape', () => {
  it('answers MALFORMED_QUERY with the caret message for unsupported syntax', async () => {
    const response = await rawQuery('SELECT Id FROM Contact GROUP BY LastName');
    expect(response.status).toBe(400);
    expect(response.body).toEqual([
      { errorCode: 'MALFORMED_QUERY', message: "\nSELECT Id FROM Contact GROUP BY LastName\n                       ^\nERROR at Row:1:Column:24\nunexpected token: 'GROUP'" },
    ]);
    await expect(conn.query('SELECT Id FROM Contact WHERE')).rejects.toMatchObject({ errorCode: 'MALFORMED_QUERY' });
  });

  it('refuses quoted datetimes, unknown fields, unknown objects and mixed AND/OR', async () => {
    const quoted = await rawQuery("SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'");
    expect(quoted).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_QUERY_FILTER_OPERATOR' }] });
    expect((quoted.body as { message: string }[])[0]?.message).toContain("must be of type dateTime and should not be enclosed in quotes");
    expect((await rawQuery('SELECT Id, Nope FROM Contact')).body).toMatchObject([{ errorCode: 'INVALID_FIELD' }]);
    expect((await rawQuery('SELECT Id FROM Lead')).body).toMatchObject([{ errorCode: 'INVALID_TYPE' }]);
    expect((await rawQuery("SELECT Id FROM Contact WHERE LastName = 'a' AND Email = 'b' OR Title = 'c'")).body).toMatchObject([
      { errorCode: 'MALFORMED_QUERY', message: expect.stringContaining("unexpected token: 'OR'") as unknown },
    ]);
  });

  it('parses with a real grammar (precedence via parentheses, NOT IN, NULLS LAST)', () => {
    const query = parseSoql("SELECT Id FROM Contact WHERE (A = 1 OR B != null) AND C NOT IN ('x', 'y') ORDER BY D DESC NULLS LAST LIMIT 10 OFFSET 5");
    expect(query.where).toMatchObject({
      kind: 'and',
      operands: [{ kind: 'or', operands: [{ op: '=' }, { op: '!=', values: [{ kind: 'null' }] }] }, { op: 'NOT IN', values: [{ value: 'x' }, { value: 'y' }] }],
    });
    expect(query).toMatchObject({ orderBy: [{ descending: true, nullsLast: true }], limit: 10, offset: 5 });
  });
});

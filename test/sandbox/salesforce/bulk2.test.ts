import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

let sandbox: SalesforceSandbox;
let conn: Connection;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ bulk: { processingDelayMs: 5 } });
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  conn = new Connection({ instanceUrl, accessToken, version });
  conn.bulk2.pollInterval = 20;
  conn.bulk2.pollTimeout = 10_000;
});
afterAll(async () => sandbox.stop());

function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${sandbox.url}/services/data/v62.0${path}`, {
    ...init,
    headers: { authorization: `Bearer ${sandbox.credentials.accessToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  });
}

describe('Bulk API 2.0 ingest', () => {
  it('loads records through jsforce and reports successful and failed rows', async () => {
    const input = [
      ...Array.from({ length: 300 }, (_, i) => ({ LastName: `Bulk ${i}`, Email: `bulk${i}@example.com`, Sync_Id__c: `bulk-${i}` })),
      { LastName: 'Broken', Email: 'not-an-email', Sync_Id__c: 'bulk-bad' },
    ];
    const results = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'insert', input });
    expect(results.successfulResults).toHaveLength(300);
    expect(results.successfulResults[0]).toMatchObject({ sf__Created: 'true', LastName: 'Bulk 0', sf__Id: expect.stringMatching(/^003/) as unknown });
    expect(results.failedResults).toHaveLength(1);
    expect(results.failedResults[0]).toMatchObject({ LastName: 'Broken', sf__Error: expect.stringMatching(/^INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --$/) as unknown });
    expect(results.unprocessedRecords).toEqual([]);
    expect((await conn.query("SELECT COUNT() FROM Contact WHERE LastName LIKE 'Bulk %'")).totalSize).toBe(300);
  });

  it('walks Open -> UploadComplete -> InProgress -> JobComplete and upserts by external id', async () => {
    const created = await (await api('/jobs/ingest', { method: 'POST', body: JSON.stringify({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'Sync_Id__c', lineEnding: 'LF' }) })).json() as { id: string; state: string };
    expect(created.state).toBe('Open');
    const upload = await api(`/jobs/ingest/${created.id}/batches`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'Sync_Id__c,LastName\nbulk-1,Renamed\nbulk-new,Newcomer\n' });
    expect(upload.status).toBe(201);
    const closed = await (await api(`/jobs/ingest/${created.id}`, { method: 'PATCH', body: JSON.stringify({ state: 'UploadComplete' }) })).json() as { state: string };
    expect(closed.state).toBe('UploadComplete');
    const late = await api(`/jobs/ingest/${created.id}/batches`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'Sync_Id__c,LastName\nx,y\n' });
    expect(late.status).toBe(409);
    const order = ['UploadComplete', 'InProgress', 'JobComplete'];
    const seen: number[] = [];
    let info: { state: string; numberRecordsProcessed: number; numberRecordsFailed: number } = { state: '', numberRecordsProcessed: 0, numberRecordsFailed: 0 };
    while (info.state !== 'JobComplete') {
      info = await (await api(`/jobs/ingest/${created.id}`)).json() as typeof info;
      seen.push(order.indexOf(info.state));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // Every polled state is a known one, and states only move forward.
    expect(seen.every((index, i) => index >= 0 && index >= (seen[i - 1] ?? 0))).toBe(true);
    expect(info).toMatchObject({ numberRecordsProcessed: 2, numberRecordsFailed: 0 });
    const csv = await (await api(`/jobs/ingest/${created.id}/successfulResults/`)).text();
    expect(csv.split('\n')[0]).toBe('"sf__Id","sf__Created","Sync_Id__c","LastName"');
    expect(csv).toContain('"false","bulk-1","Renamed"');
    expect(csv).toContain('"true","bulk-new","Newcomer"');
  });

  it('fails a job whose CSV names a field that does not exist', async () => {
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await job.uploadData('Name,NotAField\nAcme,1\n');
    await job.close();
    await expect(job.poll(20, 5000)).rejects.toThrow(/InvalidBatch : Field name not found : NotAField/);
  });
});

describe('Bulk API 2.0 query', () => {
  it('runs a query job through jsforce', async () => {
    await conn.sobject('Account').create(Array.from({ length: 30 }, (_, i) => ({ Name: `BQ ${i}`, NumberOfEmployees: i })));
    const stream = await conn.bulk2.query("SELECT Id, Name, NumberOfEmployees, CreatedDate FROM Account WHERE Name LIKE 'BQ %' ORDER BY NumberOfEmployees");
    const records: Record<string, string>[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('record', (record: Record<string, string>) => records.push(record));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    expect(records).toHaveLength(30);
    expect(records[3]).toMatchObject({ Name: 'BQ 3', NumberOfEmployees: '3', CreatedDate: expect.stringMatching(/Z$/) as unknown });
  });

  it('pages results with Sforce-Locator and Sforce-NumberOfRecords until the locator is "null"', async () => {
    const job = await (await api('/jobs/query', { method: 'POST', body: JSON.stringify({ operation: 'query', query: "SELECT Id, Name FROM Account WHERE Name LIKE 'BQ %'" }) })).json() as { id: string };
    let state = '';
    while (state !== 'JobComplete') {
      state = ((await (await api(`/jobs/query/${job.id}`)).json()) as { state: string }).state;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const pages: { count: string | null; locator: string | null; lines: number }[] = [];
    let locator: string | null = '';
    while (locator !== 'null') {
      const response = await api(`/jobs/query/${job.id}/results?maxRecords=12${locator ? `&locator=${locator}` : ''}`);
      expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
      locator = response.headers.get('sforce-locator');
      pages.push({ count: response.headers.get('sforce-numberofrecords'), locator, lines: (await response.text()).trim().split('\n').length });
    }
    expect(pages.map((page) => [page.count, page.lines])).toEqual([['12', 13], ['12', 13], ['6', 7]]);
    expect(pages.at(-1)?.locator).toBe('null');
    const otherVersion = await fetch(`${sandbox.url}/services/data/v61.0/jobs/query/${job.id}/results`, { headers: { authorization: `Bearer ${sandbox.credentials.accessToken}` } });
    expect(otherVersion.status).toBe(409);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type Client } from './support';

function part(method: string, url: string, body?: unknown, contentId?: string, headers: string[] = []): string {
  return [
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    ...(contentId ? [`Content-ID: ${contentId}`] : []),
    '',
    `${method} ${url} HTTP/1.1`,
    ...(body === undefined ? [] : ['Content-Type: application/json; type=entry']),
    ...headers,
    '',
    body === undefined ? '' : JSON.stringify(body),
  ].join('\r\n');
}

function changeset(boundary: string, parts: string[]): string {
  return `Content-Type: multipart/mixed; boundary=${boundary}\r\n\r\n${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--`;
}

function batch(boundary: string, items: string[]): string {
  return `${items.map((item) => `--${boundary}\r\n${item}\r\n`).join('')}--${boundary}--\r\n`;
}

describe('Dynamics sandbox: $batch', () => {
  let client: Client;
  beforeAll(async () => {
    client = await startClient();
  });
  afterAll(async () => client.sandbox.stop());

  const post = (body: string, boundary: string, prefer?: string): Promise<Response> =>
    client.api('$batch', { method: 'POST', headers: { 'content-type': `multipart/mixed; boundary="${boundary}"`, ...(prefer ? { prefer } : {}) }, body });

  it('rolls back a failing change set, applies the other, answers a GET part, per-part statuses', async () => {
    const root = '/api/data/v9.2';
    const failing = changeset('changeset_a', [
      part('POST', `${root}/accounts`, { name: 'Rolled back Inc' }, '1'),
      part('PATCH', `${root}/contacts(emailaddress1='ghost@example.com')`, { firstname: 'Ghost' }, '2', ['If-Match: *']),
    ]);
    const applied = changeset('changeset_b', [
      part('POST', `${client.sandbox.serviceRoot}/accounts`, { name: 'Applied Ltd' }, '1'),
      part('POST', `${root}/contacts`, { firstname: 'Bound', 'parentcustomerid_account@odata.bind': '$1' }, '2'),
      part('PATCH', '$1', { telephone1: '555-0100' }, '3'),
    ]);
    const get = part('GET', `${root}/accounts?$select=name`);
    const response = await post(batch('batch_1', [failing, applied, get]), 'batch_1', 'odata.continue-on-error');
    expect(response.status).toBe(200);
    expect(response.headers.get('odata-version')).toBe('4.0');
    const contentType = response.headers.get('content-type') ?? '';
    expect(contentType).toMatch(/^multipart\/mixed; boundary=batchresponse_[0-9a-f-]{36}$/);
    const text = await response.text();
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => Number(match[1]));
    expect(statuses).toEqual([404, 204, 204, 204, 200]);
    expect(text).toContain('Content-Type: multipart/mixed; boundary=changesetresponse_');
    expect(text).toMatch(/"code":"0x80040217"/);

    const accounts = client.sandbox.admin.listRecords('accounts').map((row) => row.name);
    expect(accounts).toEqual(['Applied Ltd']);
    const account = client.sandbox.admin.listRecords('accounts')[0]!;
    expect(account.telephone1).toBe('555-0100');
    const contact = client.sandbox.admin.listRecords('contacts')[0]!;
    expect(contact._parentcustomerid_value).toBe(account.accountid);
    expect(text).toContain('"name":"Applied Ltd"');
    expect(text).not.toContain('Rolled back Inc');
  });

  it('stops at the first failure without odata.continue-on-error', async () => {
    const body = batch('batch_2', [part('DELETE', 'contacts(00000000-0000-0000-0000-000000000001)'), part('POST', 'accounts', { name: 'Never' })]);
    const response = await post(body, 'batch_2');
    expect(response.status).toBe(404);
    const text = await response.text();
    expect([...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => match[1])).toEqual(['404']);
    expect(client.sandbox.admin.listRecords('accounts').some((row) => row.name === 'Never')).toBe(false);
  });

  it('refuses GET inside a change set and more than 1,000 requests', async () => {
    const withGet = await post(batch('batch_3', [changeset('changeset_c', [part('GET', 'accounts')])]), 'batch_3');
    expect(withGet.status).toBe(400);
    const parts = Array.from({ length: 1001 }, (_, i) => part('PATCH', `contacts(crm_syncid='s${i}')`, { firstname: 'N' }));
    const tooMany = await post(batch('batch_4', parts), 'batch_4');
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toEqual({ error: { code: '0x80060888', message: 'The number of requests in a batch exceeds the maximum of 1000.' } });
    const atLimit = await post(batch('batch_5', parts.slice(0, 1000)), 'batch_5');
    expect(atLimit.status).toBe(200);
    expect(client.sandbox.admin.listRecords('contacts').filter((row) => String(row.crm_syncid).startsWith('s'))).toHaveLength(1000);
  });

  it('answers an unknown Content-ID reference with 400', async () => {
    const body = batch('batch_6', [changeset('changeset_d', [part('PATCH', '$9', { name: 'x' }, '1')])]);
    const response = await post(body, 'batch_6');
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Content-ID Reference: '$9' does not exist in the batch context.");
  });
});

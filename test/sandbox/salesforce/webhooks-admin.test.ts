import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox, type SalesforceWebhookPayload } from '../../../src/sandbox/salesforce/index';

const SECRET = 'test-shared-secret';
let sandbox: SalesforceSandbox;
let receiver: http.Server;
let received: { body: string; headers: http.IncomingHttpHeaders }[] = [];

/** Independent of the sandbox's code: node:crypto HMAC and a constant-time compare. */
function verify(body: string, signature: string | undefined, secret = SECRET): boolean {
  const expected = createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest();
  const given = Buffer.from(signature ?? '', 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
      response.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  sandbox = await startSalesforceSandbox({
    webhookSecret: SECRET,
    webhooks: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, retryDelaysMs: [10] },
    seed: { contacts: 5, companies: 2, deals: 3, activities: 4 },
  });
});
afterAll(async () => {
  await sandbox.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

async function deliveries(): Promise<{ payload: SalesforceWebhookPayload; body: string; headers: http.IncomingHttpHeaders }[]> {
  await sandbox.webhooks.idle();
  const out = received.map((delivery) => ({ ...delivery, payload: JSON.parse(delivery.body) as SalesforceWebhookPayload }));
  received = [];
  return out;
}

describe('signed change webhooks', () => {
  it('signs the raw body with HMAC-SHA256 so an independent verifier accepts it and a one-byte change fails', async () => {
    const { instanceUrl, accessToken, version } = sandbox.credentials;
    const conn = new Connection({ instanceUrl, accessToken, version, callOptions: { client: 'crm-sync' } });
    const created = await conn.sobject('Contact').create({ LastName: 'Hooked', Email: 'hook@example.com' });
    const [delivery] = await deliveries();
    if (!delivery) throw new Error('no webhook delivered');
    expect(delivery.headers['content-type']).toBe('application/json');
    const signature = delivery.headers['x-sfdc-signature'] as string;
    expect(verify(delivery.body, signature)).toBe(true);
    const tampered = Buffer.from(delivery.body, 'utf8');
    tampered[tampered.length - 2] = (tampered[tampered.length - 2] as number) ^ 1;
    expect(verify(tampered.toString('utf8'), signature)).toBe(false);
    expect(verify(delivery.body, signature, 'other-secret')).toBe(false);
    expect(delivery.headers['x-sfdc-timestamp']).toBe(String(delivery.payload.sentAt));
    expect(delivery.payload).toMatchObject({ organizationId: sandbox.credentials.organizationId, deliveryAttempt: 0 });
    expect(delivery.payload.events).toEqual([
      expect.objectContaining({
        entityName: 'Contact',
        recordIds: [created.id],
        changeType: 'CREATE',
        changeOrigin: 'com/salesforce/api/rest/62.0;client=crm-sync',
        fields: expect.objectContaining({ LastName: 'Hooked', Email: 'hook@example.com' }) as unknown,
      }),
    ]);
  });

  it('sends one callout per transaction, with changedFields, for collection writes and UI edits', async () => {
    const { instanceUrl, accessToken, version } = sandbox.credentials;
    const conn = new Connection({ instanceUrl, accessToken, version });
    const results = await conn.upsert('Account', [{ Sync_Id__c: 'w-1', Name: 'One' }, { Sync_Id__c: 'w-2', Name: 'Two' }], 'Sync_Id__c');
    const [batch] = await deliveries();
    expect(batch?.payload.events.map((event) => [event.changeType, event.sequenceNumber, event.changeOrigin])).toEqual([
      ['CREATE', 1, 'com/salesforce/api/rest/62.0'],
      ['CREATE', 2, 'com/salesforce/api/rest/62.0'],
    ]);
    const id = results[0]?.id as string;
    sandbox.admin.editAsUser('Account', id, { Industry: 'Banking', Name: 'One' });
    const [edit] = await deliveries();
    expect(edit?.payload.events).toEqual([
      expect.objectContaining({ changeType: 'UPDATE', recordIds: [id], changeOrigin: '', changedFields: ['Industry', 'LastModifiedDate', 'LastModifiedById'], fields: { Industry: 'Banking' } }),
    ]);
    expect(edit?.payload.events[0]?.commitUser).not.toBe(batch?.payload.events[0]?.commitUser);
    sandbox.admin.deleteRecord('Account', id);
    sandbox.admin.undeleteRecord('Account', id);
    expect((await deliveries()).map((delivery) => delivery.payload.events[0]?.changeType)).toEqual(['DELETE', 'UNDELETE']);
  });
});

describe('admin surface', () => {
  it('seeds realistic records without firing webhooks and serves them over HTTP', async () => {
    expect(sandbox.admin.listRecords('Contact').length).toBeGreaterThanOrEqual(5);
    expect(sandbox.admin.listRecords('Opportunity')).toHaveLength(3);
    expect(sandbox.admin.listRecords('Task')).toHaveLength(4);
    const seeded = (await (await fetch(`${sandbox.url}/__sandbox/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contacts: 2 }) })).json()) as { Contact: string[] };
    expect(seeded.Contact).toHaveLength(2);
    const record = (await (await fetch(`${sandbox.url}/__sandbox/records/Contact/${seeded.Contact[0]}`)).json()) as Record<string, unknown>;
    expect(record).toMatchObject({ Id: seeded.Contact[0], IsDeleted: false, Email: expect.stringContaining('@') as unknown });
    expect(await deliveries()).toEqual([]);
  });

  it('edits, deletes and undeletes over HTTP like a person in the UI, and reports counters', async () => {
    const [contact] = sandbox.admin.listRecords('Contact');
    const id = String(contact?.Id);
    const edited = await fetch(`${sandbox.url}/__sandbox/records/Contact/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Title: 'CTO' }) });
    expect(await edited.json()).toMatchObject({ Id: id, Title: 'CTO' });
    expect((await fetch(`${sandbox.url}/__sandbox/records/Contact/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(sandbox.admin.getRecord('Contact', id)).toMatchObject({ IsDeleted: true });
    const restored = await fetch(`${sandbox.url}/__sandbox/records/Contact/${id}/undelete`, { method: 'POST' });
    expect(await restored.json()).toMatchObject({ IsDeleted: false });
    const bad = await fetch(`${sandbox.url}/__sandbox/records/Contact/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Bogus: 1 }) });
    expect(bad.status).toBe(400);
    expect((await deliveries()).map((delivery) => delivery.payload.events[0]?.changeType)).toEqual(['UPDATE', 'DELETE', 'UNDELETE']);
    const stats = (await (await fetch(`${sandbox.url}/__sandbox/stats`)).json()) as { recordWrites: Record<string, number>; webhooks: { delivered: number } };
    expect(stats.recordWrites.Contact).toBeGreaterThan(5);
    expect(stats.webhooks.delivered).toBeGreaterThanOrEqual(8);
  });
});

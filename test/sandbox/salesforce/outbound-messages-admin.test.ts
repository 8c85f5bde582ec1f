import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

/** What the receiver makes of one POST: headers, and the envelope as a plain tree (prefixes kept). */
interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  organizationId: string;
  actionId: string;
  sessionNil: boolean;
  notifications: { id: string; type: string; fields: Record<string, string> }[];
}

/** How the receiver answers: the SOAP Ack, a 503, or a 200 whose Ack is false. */
type Answer = 'ack' | 'unavailable' | 'nack';

const ACK = '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>ACK</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>';
// Prefixes kept on purpose: the test checks the envelope uses the WSDL's element names and the sf: / xsi: attributes.
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (name) => name === 'Notification' });

let sandbox: SalesforceSandbox;
let receiver: http.Server;
let received: Received[] = [];
let answer: Answer = 'ack';
/** The sandbox's clock: retries are due on it, never on wall-clock time. */
let clockMs = Date.UTC(2026, 0, 5, 9, 0, 0);

function read(body: string, headers: http.IncomingHttpHeaders): Received {
  const envelope = (xml.parse(body) as Record<string, Record<string, Record<string, Record<string, unknown>>>>)['soapenv:Envelope']!;
  const notifications = envelope['soapenv:Body']!.notifications as Record<string, unknown> & { Notification: { Id: string; sObject: Record<string, string> }[] };
  expect(notifications['@xmlns']).toBe('http://soap.sforce.com/2005/09/outbound');
  return {
    headers,
    body,
    organizationId: notifications.OrganizationId as string,
    actionId: notifications.ActionId as string,
    sessionNil: (notifications.SessionId as Record<string, string>)['@xsi:nil'] === 'true',
    notifications: notifications.Notification.map((notification) => {
      const { ['@xsi:type']: type, ['@xmlns:sf']: ns, ...fields } = notification.sObject;
      expect(ns).toBe('urn:sobject.enterprise.soap.sforce.com');
      return { id: notification.Id, type: type!, fields: Object.fromEntries(Object.entries(fields).map(([name, value]) => [name.replace(/^sf:/, ''), value])) };
    }),
  };
}

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(read(Buffer.concat(chunks).toString('utf8'), request.headers));
      if (answer === 'unavailable') response.writeHead(503).end();
      else response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(ACK.replace('ACK', answer === 'ack' ? 'true' : 'false'));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  sandbox = await startSalesforceSandbox({
    now: () => clockMs,
    webhooks: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
    outboundMessages: { autoRetry: false },
    seed: { contacts: 5, companies: 2, deals: 3, activities: 4 },
  });
});
afterAll(async () => {
  await sandbox.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

async function deliveries(): Promise<Received[]> {
  await sandbox.webhooks.idle();
  const out = received;
  received = [];
  return out;
}

const api = (): Connection => {
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  return new Connection({ instanceUrl, accessToken, version });
};

describe('Outbound Messages', () => {
  it('posts a SOAP notifications envelope for an API create: org id, action id, nil session, one Notification typed sf:Contact', async () => {
    const created = await api().sobject('Contact').create({ LastName: 'Hooked', Email: 'hook@example.com' });
    const [message] = await deliveries();
    if (!message) throw new Error('no outbound message delivered');
    expect(message.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(message.headers.soapaction).toBe('""');
    expect(message.organizationId).toBe(sandbox.credentials.organizationId);
    expect(message.actionId).toMatch(/^04k[0-9A-Za-z]{15}$/);
    expect(message.sessionNil).toBe(true);
    expect(message.body).toContain(`<EnterpriseUrl>${sandbox.url}/services/Soap/c/62.0/${sandbox.credentials.organizationId.slice(0, 15)}</EnterpriseUrl>`);
    const record = sandbox.admin.getRecord('Contact', created.id!);
    expect(message.notifications).toEqual([
      { id: expect.stringMatching(/^04l[0-9A-Za-z]{15}$/) as unknown, type: 'sf:Contact', fields: { Id: created.id, LastModifiedDate: new Date(String(record?.LastModifiedDate)).toISOString() } },
    ]);
    expect(sandbox.outboundMessages.list()).toEqual([]);
  });

  it('sends one message per object and transaction, at most 100 notifications each; UI edits too; deletes and undeletes send nothing', async () => {
    const accounts = Array.from({ length: 150 }, (_, n) => ({ Sync_Id__c: `om-${n}`, Name: `Account ${n}` }));
    const results = await api().upsert('Account', accounts, 'Sync_Id__c');
    const messages = await deliveries();
    expect(messages.map((message) => message.notifications.length)).toEqual([100, 50]);
    expect(messages.flatMap((message) => message.notifications.map((notification) => notification.fields.Id))).toEqual(results.map((result) => result.id));
    expect(new Set(messages.flatMap((message) => message.notifications.map((notification) => notification.type)))).toEqual(new Set(['sf:Account']));
    expect(new Set(messages.flatMap((message) => message.notifications.map((notification) => notification.id))).size).toBe(150);

    const id = results[0]!.id!;
    sandbox.admin.editAsUser('Account', id, { Industry: 'Banking' });
    expect((await deliveries()).map((message) => message.notifications.map((notification) => notification.fields.Id))).toEqual([[id]]);
    sandbox.admin.deleteRecord('Account', id);
    sandbox.admin.undeleteRecord('Account', id);
    expect(await deliveries()).toEqual([]);
  });

  it('keeps an unacknowledged message queued and resends it, same notification ids, when due on the sandbox clock, until acked', async () => {
    answer = 'unavailable';
    const created = sandbox.admin.createAsUser('Contact', { LastName: 'Retry', Email: 'retry@example.com' });
    const [first] = await deliveries();
    const [queued] = sandbox.outboundMessages.list();
    expect(queued).toMatchObject({ sObjectType: 'Contact', recordIds: [created.Id], attempts: 1, notificationIds: first!.notifications.map((n) => n.id) });
    expect(queued!.nextAttemptAt! - clockMs).toBe(15_000);

    // Not due yet: a flush sends nothing however long the test itself has taken.
    expect(await sandbox.outboundMessages.flushDue()).toEqual({ attempted: 0, delivered: 0, queued: 1 });
    expect(await deliveries()).toEqual([]);

    // A 200 whose Ack is false is a failure too; the interval doubles.
    answer = 'nack';
    clockMs += 15_000;
    expect(await sandbox.outboundMessages.flushDue()).toEqual({ attempted: 1, delivered: 0, queued: 1 });
    expect(sandbox.outboundMessages.list()[0]).toMatchObject({ attempts: 2, nextAttemptAt: clockMs + 30_000 });

    // The record changes before the next attempt: the resend carries the latest data.
    clockMs += 10_000;
    sandbox.admin.editAsUser('Contact', String(created.Id), { Title: 'Changed' });
    const edited = await deliveries();
    answer = 'ack';
    clockMs += 20_000;
    expect(await sandbox.outboundMessages.flushDue()).toEqual({ attempted: 2, delivered: 2, queued: 0 });
    const resent = (await deliveries()).find((message) => message.notifications[0]?.id === first!.notifications[0]!.id);
    expect(resent?.notifications[0]?.fields).toEqual({ Id: created.Id, LastModifiedDate: new Date(clockMs - 20_000).toISOString() });
    expect(edited).toHaveLength(2); // the failed resend of the first message and the edit's own message
    expect(sandbox.outboundMessages.list()).toEqual([]);
  });

  it('backs off exponentially up to 2 hours between retries and drops a message 24 hours old', async () => {
    answer = 'unavailable';
    const dropped = sandbox.counters.snapshot().webhooks.dropped;
    sandbox.admin.createAsUser('Contact', { LastName: 'Never', Email: 'never@example.com' });
    await deliveries();
    const queuedAt = sandbox.outboundMessages.list()[0]!.queuedAt;
    const intervals: number[] = [];
    while (sandbox.outboundMessages.list().length > 0) {
      const [message] = sandbox.outboundMessages.list();
      intervals.push(message!.nextAttemptAt! - clockMs);
      clockMs = message!.nextAttemptAt!;
      await sandbox.outboundMessages.flushDue();
      await deliveries();
    }
    expect(intervals.slice(0, 5)).toEqual([15_000, 30_000, 60_000, 120_000, 240_000]);
    expect(Math.max(...intervals)).toBe(2 * 60 * 60_000);
    expect(clockMs - queuedAt).toBeLessThanOrEqual(24 * 60 * 60_000);
    expect(clockMs - queuedAt).toBeGreaterThan(22 * 60 * 60_000);
    expect(sandbox.counters.snapshot().webhooks.dropped).toBe(dropped + 1);
    answer = 'ack';
  });

  it('lists, flushes and retries the queue over HTTP like Setup > Outbound Messages', async () => {
    answer = 'unavailable';
    const created = sandbox.admin.createAsUser('Contact', { LastName: 'Queued', Email: 'queued@example.com' });
    await deliveries();
    const listed = (await (await fetch(`${sandbox.url}/__sandbox/outbound-messages`)).json()) as { recordIds: string[]; attempts: number }[];
    expect(listed).toEqual([expect.objectContaining({ recordIds: [created.Id], attempts: 1 })]);
    expect(await (await fetch(`${sandbox.url}/__sandbox/outbound-messages/flush`, { method: 'POST' })).json()).toEqual({ attempted: 0, delivered: 0, queued: 1 });
    answer = 'ack';
    expect(await (await fetch(`${sandbox.url}/__sandbox/outbound-messages/retry`, { method: 'POST' })).json()).toEqual({ attempted: 1, delivered: 1, queued: 0 });
    expect((await deliveries()).map((message) => message.notifications[0]?.fields.Id)).toEqual([created.Id]);
  });
});

describe('admin surface', () => {
  it('seeds realistic records without sending messages and serves them over HTTP', async () => {
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
    // The edit only: Outbound Messages fire on create and edit.
    expect((await deliveries()).map((message) => message.notifications.map((notification) => notification.fields.Id))).toEqual([[id]]);
    const stats = (await (await fetch(`${sandbox.url}/__sandbox/stats`)).json()) as { recordWrites: Record<string, number>; webhooks: { delivered: number } };
    expect(stats.recordWrites.Contact).toBeGreaterThan(5);
    expect(stats.webhooks.delivered).toBeGreaterThanOrEqual(6);
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Signature } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotWebhookEvent } from '../../../src/sandbox/hubspot';

interface Delivery {
  url: string;
  body: string;
  headers: http.IncomingHttpHeaders;
  events: HubSpotWebhookEvent[];
}

/** A receiver that answers `statuses` in turn (then 200) and records what it got. */
async function receiver(statuses: number[] = []): Promise<{ url: string; deliveries: Delivery[]; close: () => void }> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const address = server.address() as AddressInfo;
      deliveries.push({ url: `http://127.0.0.1:${address.port}${request.url ?? ''}`, body, headers: request.headers, events: JSON.parse(body) as HubSpotWebhookEvent[] });
      response.statusCode = statuses[deliveries.length - 1] ?? 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/hubspot?portal=62515`, deliveries, close: () => server.close() };
}

function isValid(delivery: Delivery, secret: string, overrides: { requestBody?: string; timestamp?: number } = {}): boolean {
  return Signature.isValid({
    signatureVersion: 'v3',
    method: 'POST',
    url: delivery.url,
    clientSecret: secret,
    signature: String(delivery.headers['x-hubspot-signature-v3']),
    requestBody: overrides.requestBody ?? delivery.body,
    timestamp: overrides.timestamp ?? Number(delivery.headers['x-hubspot-request-timestamp']),
  });
}

describe('HubSpot sandbox: webhooks', () => {
  let sandbox: HubSpotSandbox | undefined;
  let close: (() => void) | undefined;
  afterEach(async () => {
    await sandbox?.stop();
    close?.();
  });

  it('batches signed events; API writes say INTEGRATION + app id, UI writes CRM_UI', async () => {
    const hook = await receiver();
    close = hook.close;
    // A batch window longer than three calls can take on a loaded machine (flushWebhooks ends it).
    sandbox = await startHubSpotSandbox({ limits: false, webhooks: { url: hook.url }, webhookDelivery: { batchDelayMs: 60_000 } });
    const client = new Client({ accessToken: sandbox.credentials.accessToken, basePath: sandbox.url });
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'hook@example.com', firstname: 'Hook' }, associations: [] });
    sandbox.admin.changeAsUser('contacts', created.id, { firstname: 'Changed' });
    await client.crm.contacts.basicApi.archive(created.id);
    await sandbox.admin.flushWebhooks();

    expect(hook.deliveries).toHaveLength(1);
    const events = hook.deliveries[0]?.events ?? [];
    expect(events.map((event) => [event.subscriptionType, event.propertyName, event.changeSource])).toEqual([
      ['contact.creation', undefined, 'INTEGRATION'],
      ['contact.propertyChange', 'email', 'INTEGRATION'],
      ['contact.propertyChange', 'firstname', 'INTEGRATION'],
      ['contact.propertyChange', 'firstname', 'CRM_UI'],
      ['contact.deletion', undefined, 'INTEGRATION'],
    ]);
    expect(events[0]).toMatchObject({ objectId: Number(created.id), portalId: sandbox.portalId, appId: Number(sandbox.credentials.publicAppId), attemptNumber: 0, sourceId: sandbox.credentials.privateAppId, changeFlag: 'NEW' });
    expect(events[3]).toMatchObject({ propertyValue: 'Changed', sourceId: expect.stringMatching(/^userId:\d+$/) as unknown });
    expect(new Set(events.map((event) => event.eventId)).size).toBe(5);
    expect(events.every((event) => typeof event.occurredAt === 'number')).toBe(true);

    const task = sandbox.admin.createAsUser('tasks', { hs_task_subject: 'Call' });
    await sandbox.admin.flushWebhooks();
    expect(hook.deliveries[1]?.events[0]).toMatchObject({ subscriptionType: 'object.creation', objectTypeId: '0-27', objectId: Number(task.id), changeSource: 'CRM_UI' });
  });

  it('signs with v3 so the official Signature.isValid accepts it, and only unaltered and fresh', async () => {
    const hook = await receiver();
    close = hook.close;
    sandbox = await startHubSpotSandbox({ webhooks: { url: hook.url } });
    sandbox.admin.createAsUser('companies', { name: 'Signed Inc' });
    await sandbox.admin.flushWebhooks();
    const delivery = hook.deliveries[0] as Delivery;
    const secret = sandbox.credentials.webhookClientSecret;
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(isValid(delivery, secret)).toBe(true);
    const flipped = delivery.body.replace('"portalId":', '"portalId" :');
    expect(flipped).not.toBe(delivery.body);
    expect(isValid(delivery, secret, { requestBody: flipped })).toBe(false);
    expect(isValid({ ...delivery, url: delivery.url.replace('portal=62515', 'portal=62516') }, secret)).toBe(false);
    expect(isValid(delivery, 'another-secret')).toBe(false);
    const stale = Date.now() - 5 * 60 * 1000 - 1000;
    expect(() => isValid(delivery, secret, { timestamp: stale })).toThrow('Timestamp is invalid');
  });

  it('re-signs each retry with a fresh timestamp and attemptNumber', async () => {
    const hook = await receiver([500, 503]);
    close = hook.close;
    sandbox = await startHubSpotSandbox({ webhooks: { url: hook.url, retryDelaysMs: [5, 5, 5] } });
    sandbox.admin.createAsUser('deals', { dealname: 'Retry me' });
    await sandbox.admin.flushWebhooks();
    expect(hook.deliveries).toHaveLength(3);
    expect(hook.deliveries.map((delivery) => delivery.events[0]?.attemptNumber)).toEqual([0, 1, 2]);
    expect(hook.deliveries.map((delivery) => delivery.events[0]?.eventId)).toEqual([1, 1, 1]);
    for (const delivery of hook.deliveries) expect(isValid(delivery, sandbox.credentials.webhookClientSecret)).toBe(true);
    expect(new Set(hook.deliveries.map((delivery) => delivery.headers['x-hubspot-signature-v3'])).size).toBe(3);
    expect(sandbox.counters.snapshot().webhooks).toMatchObject({ delivered: 1, failedAttempts: 2 });
  });
});

import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startClient, type Client } from './support';

interface Received {
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

async function receiver(): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ url: new URL(request.url ?? '/', 'http://receiver'), headers: request.headers, body: JSON.parse(body) as Record<string, unknown> });
      response.statusCode = 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/dynamics?tenant=t1`, received, close: () => server.close() };
}

function keyMatches(given: string | null | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

describe('Dynamics sandbox: webhooks', () => {
  let client: Client | undefined;
  let hook: Awaited<ReturnType<typeof receiver>> | undefined;
  afterEach(async () => {
    await client?.sandbox.stop();
    hook?.close();
  });

  it('posts a RemoteExecutionContext with the WebhookKey as ?code= and the x-ms-dynamics headers', async () => {
    hook = await receiver();
    const key = 'receiver-configured-key-123';
    client = await startClient({ webhooks: { url: hook.url }, webhookAuth: { type: 'WebhookKey', key } });
    const created = await client.api('contacts', { method: 'POST', body: JSON.stringify({ firstname: 'Ada', emailaddress1: 'ada@example.com' }) });
    const id = /\(([^)]+)\)/.exec(created.headers.get('odata-entityid') ?? '')?.[1] ?? '';
    client.sandbox.admin.uiUpdate('contacts', id, { jobtitle: 'Countess' });
    await client.api(`contacts(${id})`, { method: 'DELETE' });
    await client.sandbox.webhooks.idle();

    expect(hook.received).toHaveLength(3);
    for (const delivery of hook.received) {
      expect(keyMatches(delivery.url.searchParams.get('code'), key)).toBe(true);
      expect(delivery.url.searchParams.get('tenant')).toBe('t1');
      expect(delivery.headers['x-ms-dynamics-organization']).toBe(client.sandbox.organization.host);
      expect(delivery.headers['x-ms-dynamics-entity-name']).toBe('contact');
      expect(delivery.headers['x-ms-correlation-request-id']).toBe(delivery.body.CorrelationId);
      expect(delivery.body).toMatchObject({ PrimaryEntityName: 'contact', PrimaryEntityId: id, OrganizationId: client.sandbox.organization.organizationId, Stage: 40, Mode: 1, Depth: 1 });
      expect(delivery.body.OperationCreatedOn).toMatch(/^\/Date\(\d+\)\/$/);
    }
    const [create, update, remove] = hook.received as [Received, Received, Received];
    expect([create, update, remove].map((delivery) => delivery.headers['x-ms-dynamics-request-name'])).toEqual(['Create', 'Update', 'Delete']);
    expect([create, update, remove].map((delivery) => delivery.body.MessageName)).toEqual(['Create', 'Update', 'Delete']);
    // Writes through the API carry the application user; the UI edit carries the person.
    const { applicationUserId, uiUserId } = client.sandbox.users;
    expect([create, update, remove].map((delivery) => delivery.body.InitiatingUserId)).toEqual([applicationUserId, uiUserId, applicationUserId]);
    const target = (update.body.InputParameters as { key: string; value: { Attributes: { key: string; value: unknown }[]; LogicalName: string } }[])[0]!;
    expect(target.key).toBe('Target');
    expect(target.value.LogicalName).toBe('contact');
    expect(target.value.Attributes).toEqual(expect.arrayContaining([{ key: 'jobtitle', value: 'Countess' }, { key: 'contactid', value: id }]));
  });

  it('can authenticate with a named HTTP header instead, and fires nothing for a rolled-back change set', async () => {
    hook = await receiver();
    client = await startClient({ webhooks: { url: hook.url }, webhookAuth: { type: 'HttpHeader', name: 'x-crm-sync-key', value: 'header-secret' } });
    client.sandbox.admin.uiCreate('accounts', { name: 'Contoso' });
    await client.sandbox.webhooks.idle();
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.url.searchParams.has('code')).toBe(false);
    expect(keyMatches(hook.received[0]!.headers['x-crm-sync-key'] as string, 'header-secret')).toBe(true);

    const part = (method: string, url: string, body: unknown): string =>
      `--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${method} ${url} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(body)}\r\n`;
    const body = `--batch_x\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n${part('POST', 'accounts', { name: 'Rolled back' })}${part('PATCH', "accounts(crm_syncid='missing')", { name: 'x' }).replace('Content-Type: application/json', 'If-Match: *\r\nContent-Type: application/json')}--cs--\r\n--batch_x--\r\n`;
    const response = await client.api('$batch', { method: 'POST', headers: { 'content-type': 'multipart/mixed; boundary=batch_x' }, body });
    expect(response.status).toBe(404);
    await client.sandbox.webhooks.idle();
    expect(hook.received).toHaveLength(1);
    expect(client.sandbox.admin.listRecords('accounts').map((row) => row.name)).toEqual(['Contoso']);
  });
});

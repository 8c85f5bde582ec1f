import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShimApp } from '../../src/webhooks/app';
import { isAck, outboundMessage, salesforceOrgId, startWebhookFixture, type WebhookFixture } from './support';

/**
 * Every refusal of POST /webhooks/:provider/:connectionId: status, code, message, and no signal
 * (the connection's workflow does not exist afterwards). Real PostgreSQL, real Temporal.
 */
describe('webhook refusals', () => {
  let f: WebhookFixture;
  let app: FastifyInstance;
  let url: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    f = await startWebhookFixture();
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    app = buildShimApp({ readiness: {}, logger: { level: 'debug', stream }, webhooks: { connections: f.connections, signal: { client: f.client, taskQueue: f.taskQueue } } });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await f?.stop();
  });

  const post = async (path: string, body: string | Buffer, headers: Record<string, string>) => {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers, body });
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').startsWith('application/json') ? (JSON.parse(text) as { code?: string; message?: string; accepted?: number }) : {};
    return { status: response.status, headers: response.headers, text, json };
  };
  const soap = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' };
  const sfPath = () => `/webhooks/salesforce/${f.ids.salesforce}`;

  async function expectRefused(response: { status: number; json: { code?: string; message?: string } }, status: number, code: string): Promise<void> {
    expect(response.status).toBe(status);
    expect(response.json.code).toBe(code);
    expect(typeof response.json.message).toBe('string');
    expect(response.json.message!.length).toBeGreaterThan(0);
    expect(await f.signalled(f.ids.salesforce)).toBe(false);
  }

  it('400 malformed_xml for a body that is not well-formed XML, is empty, or declares a DOCTYPE', async () => {
    const truncated = outboundMessage(f.secrets.salesforce, [{}]).body.slice(0, -30);
    await expectRefused(await post(sfPath(), truncated, soap), 400, 'malformed_xml');
    await expectRefused(await post(sfPath(), '{"events":[]}', soap), 400, 'malformed_xml');
    await expectRefused(await post(sfPath(), '', soap), 400, 'malformed_xml');
    const withDoctype = `<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]>${outboundMessage(f.secrets.salesforce, [{}]).body.replace(/^<\?xml[^>]*>/, '')}`;
    await expectRefused(await post(sfPath(), withDoctype, soap), 400, 'malformed_xml');
  });

  it('400 invalid_payload for XML that is not a notifications envelope, or a Notification without sf:Id or xsi:type', async () => {
    await expectRefused(await post(sfPath(), '<?xml version="1.0"?><records><record/></records>', soap), 400, 'invalid_payload');
    const noId = outboundMessage(f.secrets.salesforce, [{}]).body.replace(/<sf:Id>[^<]*<\/sf:Id>/, '');
    await expectRefused(await post(sfPath(), noId, soap), 400, 'invalid_payload');
    const noType = outboundMessage(f.secrets.salesforce, [{}]).body.replace(' xsi:type="sf:Contact"', '');
    await expectRefused(await post(sfPath(), noType, soap), 400, 'invalid_payload');
    const empty = outboundMessage(f.secrets.salesforce, [{}]).body.replace(/<Notification>.*<\/Notification>/s, '');
    await expectRefused(await post(sfPath(), empty, soap), 400, 'invalid_payload');
  });

  it('415 unsupported_media_type for anything but text/xml on the Salesforce route, and XML on a JSON route', async () => {
    const message = outboundMessage(f.secrets.salesforce, [{}]);
    await expectRefused(await post(sfPath(), message.body, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    await expectRefused(await post(sfPath(), message.body, { 'content-type': 'application/json' }), 415, 'unsupported_media_type');
    await expectRefused(await post(sfPath(), message.body, { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    await expectRefused(await post(`/webhooks/dynamics/${f.ids.dynamics}?code=${encodeURIComponent(f.secrets.dynamics)}`, message.body, soap), 415, 'unsupported_media_type');
    expect(await f.signalled(f.ids.dynamics)).toBe(false);
  });

  it('413 payload_too_large above 1 MiB', async () => {
    const message = outboundMessage(f.secrets.salesforce, [{ fields: { Description: 'x'.repeat(1024 * 1024) } }]);
    await expectRefused(await post(sfPath(), message.body, message.headers), 413, 'payload_too_large');
  });

  it('401 organization_mismatch for another org, also when the rest of the message is valid', async () => {
    const other = outboundMessage(salesforceOrgId(), [{}]);
    await expectRefused(await post(sfPath(), other.body, other.headers), 401, 'organization_mismatch');
    // The right org's 15-character prefix with another checksum is another org.
    const sameRoot = outboundMessage(`${f.secrets.salesforce.slice(0, 14)}XAAA`, [{}]);
    await expectRefused(await post(sfPath(), sameRoot.body, sameRoot.headers), 401, 'organization_mismatch');
  });

  it('401 webhook_not_configured for a Salesforce connection without an organization id', async () => {
    const bare = `${f.ids.salesforce}-bare`;
    await f.connections.addConnection({ id: bare, tenantId: f.tenantId, provider: 'salesforce', settings: {}, credentials: { webhook: {} } });
    const message = outboundMessage(f.secrets.salesforce, [{}]);
    await expectRefused(await post(`/webhooks/salesforce/${bare}`, message.body, message.headers), 401, 'webhook_not_configured');
    expect(await f.signalled(bare)).toBe(false);
  });

  it('404 for an unknown connection, a provider mismatch or an unknown provider', async () => {
    const message = outboundMessage(f.secrets.salesforce, [{}]);
    await expectRefused(await post('/webhooks/salesforce/no-such-connection', message.body, message.headers), 404, 'unknown_connection');
    await expectRefused(await post(`/webhooks/salesforce/${f.ids.hubspot}`, message.body, message.headers), 404, 'unknown_connection');
    await expectRefused(await post(`/webhooks/freshsales/${f.ids.salesforce}`, message.body, message.headers), 404, 'unknown_provider');
    expect(await f.signalled('no-such-connection')).toBe(false);
    expect(await f.signalled(f.ids.hubspot)).toBe(false);
  });

  it('422 unsupported_event for sObject types the sync does not handle (logged, not signalled)', async () => {
    const message = outboundMessage(f.secrets.salesforce, [{ type: 'Lead', recordId: '00Q5g0000000001AAA' }, { type: 'Case', recordId: '5005g0000000001AAA' }]);
    await expectRefused(await post(sfPath(), message.body, message.headers), 422, 'unsupported_event');
    expect(logLines.some((line) => line.includes('Lead') && line.includes('Case') && line.includes('unsupported'))).toBe(true);
  });

  it('401 for Dynamics deliveries without or with a wrong webhook key', async () => {
    const body = JSON.stringify({ MessageName: 'Update', PrimaryEntityName: 'contact', PrimaryEntityId: '8d1e9f3a-0000-4000-8000-000000000001', OperationId: 'op-1', InputParameters: [] });
    const path = `/webhooks/dynamics/${f.ids.dynamics}`;
    await expectRefused(await post(path, body, { 'content-type': 'application/json' }), 401, 'signature_missing');
    await expectRefused(await post(`${path}?code=wrong-key`, body, { 'content-type': 'application/json' }), 401, 'signature_invalid');
    expect(await f.signalled(f.ids.dynamics)).toBe(false);
  });

  it('503 temporal_unavailable with Retry-After when Temporal cannot be reached', async () => {
    const unreachable = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500 });
    const down = buildShimApp({ readiness: {}, webhooks: { connections: f.connections, signal: { client: new Client({ connection: unreachable }), taskQueue: f.taskQueue, timeoutMs: 1500 } } });
    const downUrl = await down.listen({ host: '127.0.0.1', port: 0 });
    try {
      const message = outboundMessage(f.secrets.salesforce, [{}]);
      const started = Date.now();
      const response = await fetch(`${downUrl}${sfPath()}`, { method: 'POST', headers: message.headers, body: message.body });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toMatchObject({ code: 'temporal_unavailable' });
      expect(await f.signalled(f.ids.salesforce)).toBe(false);
    } finally {
      await down.close();
      await unreachable.close().catch(() => undefined);
    }
  });

  it('acks a real Outbound Message: 200 SOAP Ack, one signal with one notice per Notification', async () => {
    const message = outboundMessage(f.secrets.salesforce, [
      { id: '04l5g00000Gx7QzAAJ', type: 'Contact', recordId: '0035g0000000004AAA', fields: { LastModifiedDate: '2026-01-02T03:04:05.000Z', Email: 'secret-value@example.com' } },
      { id: '04l5g00000Gx7R0AAJ', type: 'Account', recordId: '0015g0000000001AAA', fields: { Name: 'Confidential &amp; Co' } },
      { id: '04l5g00000Gx7R1AAJ', type: 'Lead', recordId: '00Q5g0000000001AAA' },
    ]);
    const response = await post(sfPath(), message.body, message.headers);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(isAck(response.text)).toBe(true);
    expect(await f.signals(f.ids.salesforce)).toEqual([
      {
        events: [
          { objectType: 'contact', externalId: '0035g0000000004AAA', eventId: '04l5g00000Gx7QzAAJ', modifiedAt: '2026-01-02T03:04:05.000Z' },
          { objectType: 'company', externalId: '0015g0000000001AAA', eventId: '04l5g00000Gx7R0AAJ' },
        ],
      },
    ]);
  });

  it('accepts a Dynamics delivery with the key, and never logs secrets or record values', async () => {
    const key = encodeURIComponent(f.secrets.dynamics);
    const body = JSON.stringify({
      MessageName: 'Delete',
      PrimaryEntityName: 'account',
      PrimaryEntityId: '8D1E9F3A-0000-4000-8000-000000000002',
      OperationId: 'op-2',
      OperationCreatedOn: '/Date(1717000000000)/',
      InputParameters: [{ key: 'Target', value: { LogicalName: 'account', Attributes: [{ key: 'name', value: 'Confidential Corp' }] } }],
    });
    const response = await post(`/webhooks/dynamics/${f.ids.dynamics}?code=${key}`, body, { 'content-type': 'application/json' });
    expect(response.status).toBe(202);
    expect(response.json).toEqual({ accepted: 1 });
    expect(await f.signals(f.ids.dynamics)).toEqual([
      { events: [{ objectType: 'company', externalId: '8d1e9f3a-0000-4000-8000-000000000002', eventId: 'op-2', modifiedAt: '2024-05-29T16:26:40.000Z', deleted: true }] },
    ]);

    const logs = logLines.join('');
    expect(logs).toContain('webhook accepted');
    for (const secret of [f.secrets.dynamics, key, f.secrets.hubspot, 'Confidential Corp', 'Confidential &', 'secret-value@example.com']) {
      expect(logs).not.toContain(secret);
    }
  });
});

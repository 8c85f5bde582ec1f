import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShimApp } from '../../src/webhooks/app';
import { salesforceDelivery, salesforceEvent, startWebhookFixture, type WebhookFixture } from './support';

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
    return { status: response.status, headers: response.headers, json: (await response.json()) as { code?: string; message?: string; accepted?: number } };
  };
  const sfPath = () => `/webhooks/salesforce/${f.ids.salesforce}`;

  async function expectRefused(response: { status: number; json: { code?: string; message?: string } }, status: number, code: string): Promise<void> {
    expect(response.status).toBe(status);
    expect(response.json.code).toBe(code);
    expect(typeof response.json.message).toBe('string');
    expect(response.json.message!.length).toBeGreaterThan(0);
    expect(await f.signalled(f.ids.salesforce)).toBe(false);
  }

  it('400 malformed_json for a correctly signed body that is not JSON', async () => {
    const signed = salesforceDelivery(f.secrets.salesforce, [], { body: '{"events":[' });
    await expectRefused(await post(sfPath(), signed.body, signed.headers), 400, 'malformed_json');
  });

  it('400 invalid_payload for signed JSON of the wrong shape', async () => {
    const signed = salesforceDelivery(f.secrets.salesforce, [], { body: JSON.stringify({ sentAt: 1, records: [] }) });
    const response = await post(sfPath(), signed.body, signed.headers);
    // The signed sentAt must match the header too; a body without events is refused before that.
    await expectRefused(response, 400, 'invalid_payload');
  });

  it('415 unsupported_media_type for a non-JSON content type', async () => {
    const signed = salesforceDelivery(f.secrets.salesforce, [salesforceEvent()]);
    await expectRefused(await post(sfPath(), signed.body, { ...signed.headers, 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    await expectRefused(await post(sfPath(), signed.body, { ...signed.headers, 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
  });

  it('413 payload_too_large above 1 MiB', async () => {
    const events = [salesforceEvent({ fields: { Description: 'x'.repeat(1024 * 1024) } })];
    const signed = salesforceDelivery(f.secrets.salesforce, events);
    await expectRefused(await post(sfPath(), signed.body, signed.headers), 413, 'payload_too_large');
  });

  it('401 signature_missing without the signature headers', async () => {
    const signed = salesforceDelivery(f.secrets.salesforce, [salesforceEvent()]);
    await expectRefused(await post(sfPath(), signed.body, { 'content-type': 'application/json' }), 401, 'signature_missing');
    await expectRefused(await post(sfPath(), signed.body, { 'content-type': 'application/json', 'x-sfdc-timestamp': signed.headers['x-sfdc-timestamp']! }), 401, 'signature_missing');
  });

  it('401 signature_invalid for a wrong secret, a changed byte or a swapped timestamp', async () => {
    const wrongSecret = salesforceDelivery('not-the-secret', [salesforceEvent()]);
    await expectRefused(await post(sfPath(), wrongSecret.body, wrongSecret.headers), 401, 'signature_invalid');

    const signed = salesforceDelivery(f.secrets.salesforce, [salesforceEvent()]);
    const tampered = signed.body.replace('0035g0000000004AAA', '0035g0000000005AAA');
    await expectRefused(await post(sfPath(), tampered, signed.headers), 401, 'signature_invalid');

    // A fresh header on an old signed body: the signed sentAt no longer matches.
    const old = salesforceDelivery(f.secrets.salesforce, [salesforceEvent()], { sentAt: Date.now() - 60 * 60_000 });
    await expectRefused(await post(sfPath(), old.body, { ...old.headers, 'x-sfdc-timestamp': String(Date.now()) }), 401, 'signature_invalid');
  });

  it('401 signature_expired for a correctly signed delivery 6 minutes old', async () => {
    const stale = salesforceDelivery(f.secrets.salesforce, [salesforceEvent()], { sentAt: Date.now() - 6 * 60_000 });
    await expectRefused(await post(sfPath(), stale.body, stale.headers), 401, 'signature_expired');
  });

  it('404 for an unknown connection, a provider mismatch or an unknown provider', async () => {
    const signed = salesforceDelivery(f.secrets.salesforce, [salesforceEvent()]);
    await expectRefused(await post('/webhooks/salesforce/no-such-connection', signed.body, signed.headers), 404, 'unknown_connection');
    await expectRefused(await post(`/webhooks/hubspot/${f.ids.salesforce}`, signed.body, signed.headers), 404, 'unknown_connection');
    await expectRefused(await post(`/webhooks/freshsales/${f.ids.salesforce}`, signed.body, signed.headers), 404, 'unknown_provider');
    expect(await f.signalled('no-such-connection')).toBe(false);
  });

  it('422 unsupported_event for event types the sync does not handle (logged, not signalled)', async () => {
    const signed = salesforceDelivery(f.secrets.salesforce, [salesforceEvent({ entityName: 'Lead' }), salesforceEvent({ changeType: 'GAP_UPDATE' })]);
    await expectRefused(await post(sfPath(), signed.body, signed.headers), 422, 'unsupported_event');
    expect(logLines.some((line) => line.includes('Lead.UPDATE') && line.includes('GAP_UPDATE'))).toBe(true);
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
      const signed = salesforceDelivery(f.secrets.salesforce, [salesforceEvent()]);
      const started = Date.now();
      const response = await fetch(`${downUrl}${sfPath()}`, { method: 'POST', headers: signed.headers, body: signed.body });
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

  it('accepts a valid delivery: 202 {accepted}, one signal with the mapped change notices', async () => {
    const eventId = 'b3f0c1f2-5a7e-4c1e-9d0e-2a4f0e6c9b11';
    const signed = salesforceDelivery(f.secrets.salesforce, [
      salesforceEvent({ eventId, commitTimestamp: Date.UTC(2026, 0, 2, 3, 4, 5) }),
      salesforceEvent({ eventId: 'del-1', entityName: 'Account', recordIds: ['0015g0000000001AAA'], changeType: 'DELETE', changedFields: [], fields: {} }),
      salesforceEvent({ entityName: 'Lead' }),
    ]);
    const response = await post(sfPath(), signed.body, signed.headers);
    expect(response.status).toBe(202);
    expect(response.json).toEqual({ accepted: 2 });
    expect(await f.signals(f.ids.salesforce)).toEqual([
      {
        events: [
          { objectType: 'contact', externalId: '0035g0000000004AAA', eventId, modifiedAt: '2026-01-02T03:04:05.000Z' },
          { objectType: 'company', externalId: '0015g0000000001AAA', eventId: 'del-1', modifiedAt: '2024-05-29T16:26:40.000Z', deleted: true },
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
    for (const secret of [f.secrets.dynamics, key, f.secrets.salesforce, f.secrets.hubspot, 'Confidential Corp', 'secret-value@example.com']) {
      expect(logs).not.toContain(secret);
    }
  });
});

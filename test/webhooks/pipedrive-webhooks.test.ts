import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../src/sandbox/pipedrive';
import { buildShimApp } from '../../src/webhooks/app';
import { startWebhookFixture, type WebhookFixture } from './support';

/**
 * Pipedrive webhooks v2 through the shim: deliveries from the sandbox (HTTP Basic auth, `{meta,
 * data, previous}`) are accepted with 202 and signalled; wrong or missing credentials are 401 and
 * signal nothing. Real PostgreSQL, real Temporal, real HTTP.
 */
describe('Pipedrive webhooks', () => {
  let f: WebhookFixture;
  let app: FastifyInstance;
  let url: string;
  let pd: PipedriveSandbox;
  const webhook = { user: 'crm-sync', password: randomBytes(18).toString('base64url') };
  let connectionId: string;

  beforeAll(async () => {
    f = await startWebhookFixture();
    connectionId = `${f.tenantId}-pd`;
    await f.connections.addConnection({ id: connectionId, tenantId: f.tenantId, provider: 'pipedrive', settings: {}, credentials: { kind: 'api-token', apiToken: 'unused', webhook } });
    app = buildShimApp({ readiness: {}, logger: false, webhooks: { connections: f.connections, signal: { client: f.client, taskQueue: f.taskQueue } } });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    pd = await startPipedriveSandbox({ limits: false, webhookAuth: webhook, webhooks: { url: `${url}/webhooks/pipedrive/${connectionId}`, retryDelaysMs: [] } });
  });
  afterAll(async () => {
    await pd?.stop();
    await app?.close();
    await f?.stop();
  });

  const post = async (body: unknown, headers: Record<string, string>) => {
    const response = await fetch(`${url}/webhooks/pipedrive/${connectionId}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as { code?: string; accepted?: number } };
  };
  const payload = { meta: { action: 'change', entity: 'deal', entity_id: '7', id: 'evt-1', timestamp: '2026-11-23T05:00:00.000Z', version: '2.0' }, data: { id: 7, update_time: '2026-11-23T05:00:00Z' }, previous: { title: 'x' } };

  it('401 signature_missing without HTTP Basic auth, 401 signature_invalid with a wrong password; nothing signalled', async () => {
    const missing = await post(payload, {});
    expect(missing).toMatchObject({ status: 401, json: { code: 'signature_missing' } });
    const wrong = await post(payload, { authorization: `Basic ${Buffer.from(`${webhook.user}:not-it`).toString('base64')}` });
    expect(wrong).toMatchObject({ status: 401, json: { code: 'signature_invalid' } });
    const wrongUser = await post(payload, { authorization: `Basic ${Buffer.from(`someone:${webhook.password}`).toString('base64')}` });
    expect(wrongUser.status).toBe(401);
    expect(await f.signalled(connectionId)).toBe(false);
  });

  it('accepts the sandbox deliveries (create, change, delete) with 202 and signals change notices with event ids', async () => {
    const person = pd.admin.createAsUser('persons', { name: 'Ada' });
    pd.admin.changeAsUser('persons', person.id as number, { job_title: 'CTO' });
    pd.admin.deleteAsUser('persons', person.id as number);
    await pd.admin.flushWebhooks();
    expect(pd.counters.snapshot().webhooks).toMatchObject({ delivered: 3, failedAttempts: 0 });
    const events = (await f.signals(connectionId)).flatMap((notice) => notice.events);
    expect(events).toHaveLength(3);
    expect(events.every((event) => event.objectType === 'contact' && event.externalId === String(person.id) && typeof event.eventId === 'string')).toBe(true);
    expect(events.filter((event) => event.deleted === true)).toHaveLength(1);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(3);
  });

  it('422 unsupported_event for an entity the sync does not handle, 400 invalid_payload for a body without meta', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`${webhook.user}:${webhook.password}`).toString('base64')}` };
    expect(await post({ ...payload, meta: { ...payload.meta, entity: 'product' } }, basic)).toMatchObject({ status: 422, json: { code: 'unsupported_event' } });
    expect(await post({ data: {} }, basic)).toMatchObject({ status: 400, json: { code: 'invalid_payload' } });
  });

  it('a direct delivery with the right credentials answers 202 { accepted: 1 }', async () => {
    const accepted = await post(payload, { authorization: `Basic ${Buffer.from(`${webhook.user}:${webhook.password}`).toString('base64')}` });
    expect(accepted).toEqual({ status: 202, json: { accepted: 1 } });
    const last = (await f.signals(connectionId)).at(-1);
    expect(last?.events).toEqual([{ objectType: 'deal', externalId: '7', eventId: 'evt-1', modifiedAt: '2026-11-23T05:00:00.000Z' }]);
  });
});

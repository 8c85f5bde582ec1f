import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPipedriveSandbox, type PipedriveSandbox, type PipedriveWebhookPayload } from '../../../src/sandbox/pipedrive';
import { call } from './support';

interface Received {
  authorization: string | undefined;
  payload: PipedriveWebhookPayload;
}

describe('Pipedrive sandbox: webhooks v2', () => {
  let pd: PipedriveSandbox | undefined;
  let receiver: FastifyInstance;
  let receiverUrl: string;
  let received: Received[];
  let failFirst: number;

  beforeEach(async () => {
    received = [];
    failFirst = 0;
    receiver = Fastify();
    receiver.post('/hook', async (request, reply) => {
      if (failFirst > 0) {
        failFirst -= 1;
        return reply.code(500).send();
      }
      received.push({ authorization: request.headers.authorization, payload: request.body as PipedriveWebhookPayload });
      return reply.code(200).send({ ok: true });
    });
    receiverUrl = `${await receiver.listen({ host: '127.0.0.1', port: 0 })}/hook`;
  });
  afterEach(async () => {
    await pd?.stop();
    await receiver.close();
  });

  it('registers with POST /v1/webhooks and delivers create, change and delete as {meta, data, previous} with HTTP Basic auth', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const registered = await call(pd, 'POST', '/v1/webhooks', { subscription_url: receiverUrl, event_action: '*', event_object: 'person', version: '2.0', http_auth_user: 'hook', http_auth_password: 's3cret' });
    expect(registered.status).toBe(201);
    expect(registered.json.data).toMatchObject({ subscription_url: receiverUrl, event_action: '*', event_object: 'person', version: '2.0', http_auth_user: 'hook' });
    expect(registered.json.data).not.toHaveProperty('http_auth_password');

    const created = (await call(pd, 'POST', '/api/v2/persons', { name: 'Ada', job_title: 'CTO' })).json.data as { id: number };
    await call(pd, 'POST', '/api/v2/deals', { title: 'not subscribed' });
    pd.admin.changeAsUser('persons', created.id, { job_title: 'CEO' });
    await call(pd, 'DELETE', `/api/v2/persons/${created.id}`);
    await pd.admin.flushWebhooks();

    expect(received).toHaveLength(3);
    const basic = `Basic ${Buffer.from('hook:s3cret').toString('base64')}`;
    expect(received.every((delivery) => delivery.authorization === basic)).toBe(true);
    // Deliveries run concurrently and may arrive in any order, as at the vendor.
    const byAction = (action: string) => received.find((delivery) => delivery.payload.meta.action === action)?.payload;
    const [create, change, remove] = [byAction('create'), byAction('change'), byAction('delete')];
    expect(create).toMatchObject({ meta: { action: 'create', entity: 'person', entity_id: String(created.id), version: '2.0', change_source: 'api', attempt: 1 }, data: { id: created.id, name: 'Ada' }, previous: null });
    expect(change).toMatchObject({ meta: { action: 'change', change_source: 'app' }, data: { job_title: 'CEO' }, previous: { job_title: 'CTO' } });
    expect(Object.keys(change?.previous ?? {})).toEqual(['job_title']);
    expect(remove).toMatchObject({ meta: { action: 'delete', entity: 'person' }, data: null, previous: { id: created.id, job_title: 'CEO' } });
    expect(new Set(received.map((delivery) => delivery.payload.meta.id)).size).toBe(3);
  });

  it('retries a failed delivery after the configured delays, keeping the event id', async () => {
    pd = await startPipedriveSandbox({ limits: false, webhooks: { url: receiverUrl, retryDelaysMs: [20, 20, 20] } });
    failFirst = 2;
    pd.admin.createAsUser('organizations', { name: 'Acme' });
    await pd.admin.flushWebhooks();
    expect(received).toHaveLength(1);
    expect(received[0]?.payload.meta.attempt).toBe(3);
    expect(received[0]?.authorization).toBe(`Basic ${Buffer.from(`${pd.credentials.webhookUser}:${pd.credentials.webhookPassword}`).toString('base64')}`);
    expect(pd.counters.snapshot().webhooks).toMatchObject({ delivered: 1, failedAttempts: 2 });
  });

  it('duplicates and drops deliveries on demand (at-least-once chaos), seeded records send nothing', async () => {
    pd = await startPipedriveSandbox({ limits: false, seed: { contacts: 3 }, webhooks: { url: receiverUrl, chaos: { duplicateRate: 1 } } });
    pd.admin.createAsUser('activities', { subject: 'Call' });
    await pd.admin.flushWebhooks();
    expect(received).toHaveLength(2);
    expect(received[0]?.payload.meta.id).toBe(received[1]?.payload.meta.id);
    pd.webhooks.setChaos({ dropRate: 1 });
    pd.admin.createAsUser('activities', { subject: 'Lost' });
    await pd.admin.flushWebhooks();
    expect(received).toHaveLength(2);
    expect(pd.counters.snapshot().webhooks).toMatchObject({ duplicated: 1, dropped: 1 });
  });

  it('refuses a subscription without a valid URL or action', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    expect((await call(pd, 'POST', '/v1/webhooks', { subscription_url: 'nope', event_action: '*', event_object: '*' })).status).toBe(400);
    expect((await call(pd, 'POST', '/v1/webhooks', { subscription_url: receiverUrl, event_action: 'updated', event_object: '*' })).status).toBe(400);
  });
});

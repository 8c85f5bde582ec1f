import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoSandbox } from '../../src/sandbox/zoho';
import { parseZoho } from '../../src/webhooks/parse-zoho';
import { buildShimApp } from '../../src/webhooks/app';
import { startWebhookFixture, type WebhookFixture } from './support';

/**
 * The Zoho route of the shim, fed by the Zoho sandbox's own notification channel: the channel
 * token echoed in each callback is the credential. Real PostgreSQL, real Temporal, real HTTP.
 */
describe('webhooks: Zoho notifications', () => {
  let f: WebhookFixture;
  let app: FastifyInstance;
  let url: string;
  let zoho: ZohoSandbox;
  const token = randomBytes(20).toString('hex');
  let live: string;
  let refused: string;

  beforeAll(async () => {
    f = await startWebhookFixture();
    live = `${f.tenantId}-zoho`;
    refused = `${f.tenantId}-zoho-2`;
    for (const id of [live, refused]) {
      await f.connections.addConnection({ id, tenantId: f.tenantId, provider: 'zoho', settings: { region: 'us' }, credentials: { clientId: 'c', clientSecret: 's', refreshToken: 'r', webhook: { token } } });
    }
    app = buildShimApp({ readiness: {}, logger: false, webhooks: { connections: f.connections, signal: { client: f.client, taskQueue: f.taskQueue } } });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    zoho = await startZohoSandbox({ limits: false, webhooks: { retryDelaysMs: [] } });
  });
  afterAll(async () => {
    await zoho?.stop();
    await app?.close();
    await f?.stop();
  });

  const post = async (connectionId: string, body: unknown) => {
    const response = await fetch(`${url}/webhooks/zoho/${connectionId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as { code?: string; message?: string; accepted?: number } };
  };
  const callback = (overrides: Record<string, unknown> = {}) => ({
    server_time: Date.now(),
    query_params: {},
    module: 'Contacts',
    resource_uri: 'https://www.zohoapis.com/crm/v6/Contacts',
    ids: ['5843104000000424672'],
    affected_fields: [],
    operation: 'update',
    channel_id: '1000000068001',
    token,
    ...overrides,
  });

  it('202 and signalled for the sandbox’s own callbacks; a delete is a deletion notice', async () => {
    const watch = zoho.admin;
    const response = await fetch(`${zoho.url}/crm/v6/actions/watch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Zoho-oauthtoken ${await accessTokenOf(zoho)}` },
      body: JSON.stringify({ watch: [{ channel_id: '1000000068001', events: ['Contacts.all'], notify_url: `${url}/webhooks/zoho/${live}`, token }] }),
    });
    expect(response.status).toBe(200);
    const created = watch.createAsUser('Contacts', { Last_Name: 'Boyle' });
    watch.deleteAsUser('Contacts', String(created.id));
    await watch.flushWebhooks();
    expect(zoho.counters.snapshot().webhooks).toMatchObject({ delivered: 2, failedAttempts: 0 });
    const events = (await f.signals(live)).flatMap((notice) => notice.events);
    // Deliveries run in parallel: the two signals may arrive in either order.
    expect(events.map((event) => [event.objectType, event.externalId, event.deleted ?? false]).sort()).toEqual([
      ['contact', String(created.id), false],
      ['contact', String(created.id), true],
    ]);
    expect(events[0]?.eventId).not.toBe(events[1]?.eventId);
  });

  it('401 signature_invalid for a wrong token, 401 signature_missing without one; nothing signalled', async () => {
    const wrong = await post(refused, callback({ token: 'not-the-token' }));
    expect(wrong.status).toBe(401);
    expect(wrong.json.code).toBe('signature_invalid');
    const missing = await post(refused, callback({ token: undefined }));
    expect(missing.status).toBe(401);
    expect(missing.json.code).toBe('signature_missing');
    const nullToken = await post(refused, callback({ token: null }));
    expect(nullToken.json.code).toBe('signature_missing');
    expect(await f.signalled(refused)).toBe(false);
  });

  it('spells call and meeting ids as the connector does (Calls:<id>, Events:<id>), task ids plain', () => {
    const ids = (module: string) => {
      const parsed = parseZoho(callback({ module, ids: ['58431'] }), { headers: {} });
      return 'events' in parsed ? parsed.events.map((event) => [event.objectType, event.externalId]) : [];
    };
    expect([ids('Tasks'), ids('Calls'), ids('Events')]).toEqual([[['activity', '58431']], [['activity', 'Calls:58431']], [['activity', 'Events:58431']]]);
  });

  it('400 invalid_payload for a body without ids; 422 for a module the sync does not handle', async () => {
    expect((await post(refused, callback({ ids: undefined }))).json.code).toBe('invalid_payload');
    const leads = await post(refused, callback({ module: 'Leads' }));
    expect(leads.status).toBe(422);
    expect(await f.signalled(refused)).toBe(false);
  });
});

async function accessTokenOf(zoho: ZohoSandbox): Promise<string> {
  const response = await fetch(`${zoho.credentials.accountsServer}/oauth/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: zoho.credentials.clientId, client_secret: zoho.credentials.clientSecret, refresh_token: zoho.credentials.refreshToken }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

import { randomUUID } from 'node:crypto';
import { Signature } from '@hubspot/api-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSubscriptionsRepository } from '../../src/store/webhook-subscriptions-repository';
import { buildShimApp } from '../../src/webhooks/app';
import { eventsByPortal } from '../../src/webhooks/routes';
import { startWebhookFixture, type WebhookFixture } from './support';

const APP_ID = 2_000_002;

/**
 * HubSpot keeps one target URL per app [H86]: every portal that installed crm-sync's app delivers
 * to `POST /webhooks/hubspot/app/:appId`, and each event names its portal [H22]. The shim groups a
 * delivery's events by portal and signals each portal's connection with its own events only.
 */
describe('HubSpot per-app webhook route', () => {
  let f: WebhookFixture;
  let app: FastifyInstance;
  let routeUrl: string;
  /** The app's client secret: it signs every portal's deliveries. */
  const appSecret: string = randomUUID();
  const portals = { acme: 101, globex: 202, disabled: 303 };
  const ids = { acme: '', globex: '', disabled: '', otherApp: '' };

  beforeAll(async () => {
    f = await startWebhookFixture();
    const registrations = new WebhookSubscriptionsRepository(f.db.pool);
    const add = async (id: string, key: string, status: 'active' | 'disabled' = 'active') => {
      await f.connections.addConnection({ id, tenantId: f.tenantId, provider: 'hubspot', settings: {}, credentials: { webhook: { secret: appSecret } } });
      if (status !== 'active') await f.connections.setStatus(id, status);
      await registrations.record(id, { state: 'registered', callbackUrl: `https://hooks.example.com/webhooks/hubspot/app/${APP_ID}`, dispatchKey: key }, []);
      return id;
    };
    ids.acme = await add(`${f.tenantId}-acme`, `${APP_ID}:${portals.acme}`);
    ids.globex = await add(`${f.tenantId}-globex`, `${APP_ID}:${portals.globex}`);
    ids.disabled = await add(`${f.tenantId}-off`, `${APP_ID}:${portals.disabled}`, 'disabled');
    // The same portal under another app id: not this route's.
    ids.otherApp = await add(`${f.tenantId}-other`, `999:${portals.acme}`);
    app = buildShimApp({ readiness: {}, logger: false, webhooks: { connections: f.connections, signal: { client: f.client, taskQueue: f.taskQueue }, sharedRoutes: registrations, secretCacheTtlMs: 0 } });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    routeUrl = `${base}/webhooks/hubspot/app/${APP_ID}`;
  });
  afterAll(async () => {
    await app?.close();
    await f?.stop();
  });

  let nextEventId = 1;
  const event = (portalId: number, objectId: number, extra: Record<string, unknown> = {}) => ({
    eventId: nextEventId++,
    subscriptionId: 5,
    portalId,
    appId: APP_ID,
    occurredAt: 1717000000000,
    subscriptionType: 'contact.propertyChange',
    attemptNumber: 0,
    objectId,
    changeSource: 'CRM_UI',
    sourceId: 'userId:1',
    propertyName: 'email',
    propertyValue: 'x@example.com',
    ...extra,
  });
  const post = async (events: unknown, { secret = appSecret, url = routeUrl }: { secret?: string; url?: string } = {}) => {
    const body = JSON.stringify(events);
    const timestamp = Date.now();
    const signature = Signature.getSignature('POST', 'v3', { clientSecret: secret, requestBody: body, signature: '', url, timestamp });
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': String(timestamp) }, body });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const noticed = async (connectionId: string): Promise<string[]> =>
    (await f.signalled(connectionId)) ? (await f.signals(connectionId)).flatMap((signal) => signal.events.map((notice) => notice.externalId)) : [];

  it("signals each portal's connection with its own events only; a disabled connection's and an unknown portal's are acknowledged and dropped", async () => {
    const answer = await post([event(portals.acme, 11), event(portals.globex, 21), event(portals.acme, 12), event(portals.disabled, 31), event(404_404, 41)]);
    expect(answer).toEqual({ status: 202, json: { accepted: 3 } });
    expect((await noticed(ids.acme)).sort()).toEqual(['11', '12']);
    expect(await noticed(ids.globex)).toEqual(['21']);
    expect(await f.signalled(ids.disabled)).toBe(false);
    // The other app's connection for the same portal hears nothing from this app's route.
    expect(await f.signalled(ids.otherApp)).toBe(false);
  });

  it('refuses a delivery the app did not sign, and signals nobody', async () => {
    const before = (await noticed(ids.acme)).length;
    expect(await post([event(portals.acme, 13)], { secret: 'not-the-app-secret' })).toMatchObject({ status: 401, json: { code: 'signature_invalid' } });
    expect((await noticed(ids.acme)).length).toBe(before);
  });

  it('answers 404 when no active connection holds any portal of the delivery, or the app is not one', async () => {
    expect(await post([event(portals.disabled, 32)])).toMatchObject({ status: 404, json: { code: 'unknown_connection', message: `No active hubspot connection of app ${APP_ID} for portal ${portals.disabled}.` } });
    const other = routeUrl.replace(`/app/${APP_ID}`, '/app/not-an-id');
    expect(await post([event(portals.acme, 14)], { url: other })).toMatchObject({ status: 404, json: { code: 'unknown_connection' } });
  });

  it('refuses a whole delivery with an event that names no portal, or a malformed event of a known portal, before signalling anyone', async () => {
    const before = (await noticed(ids.globex)).length;
    expect(await post([event(portals.globex, 22), { ...event(portals.acme, 15), portalId: undefined }])).toMatchObject({ status: 400, json: { code: 'invalid_payload', message: 'Each event needs a portalId.' } });
    expect(await post([event(portals.globex, 23), event(portals.acme, 16, { objectId: undefined })])).toMatchObject({ status: 400, json: { code: 'invalid_payload' } });
    expect((await noticed(ids.globex)).length).toBe(before);
  });

  it('groups events by portal, in delivery order', () => {
    expect([...eventsByPortal([{ portalId: 2, n: 1 }, { portalId: 1, n: 2 }, { portalId: 2, n: 3 }])]).toEqual([
      [2, [{ portalId: 2, n: 1 }, { portalId: 2, n: 3 }]],
      [1, [{ portalId: 1, n: 2 }]],
    ]);
    expect(() => eventsByPortal({ portalId: 1 })).toThrow('Expected a JSON array of events.');
    expect(() => eventsByPortal([{ portalId: '1' }])).toThrow('Each event needs a portalId.');
  });
});

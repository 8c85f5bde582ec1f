import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import type { WebhookSubscribeRequest, WebhookSubscriber } from '../../../src/connectors/webhook-subscriptions';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';
import { parseHubSpot } from '../../../src/webhooks/parse-hubspot';
import { DEFAULT_TOLERANCE_MS } from '../../../src/webhooks/verify';
import { verifyHubSpot } from '../../../src/webhooks/verify-hubspot';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../webhook-receiver';

interface ListedSubscription {
  id: string;
  eventType: string;
  propertyName?: string;
  objectTypeId?: string;
  active: boolean;
}

/**
 * HubSpot webhooks are the app's, not the portal's [H84]: with the app id and the developer API
 * key the connector points the app's one target URL at the shim's per-app route and subscribes
 * through the v3 API, keyed for dispatch by the portal its token is for [H105]; without them (or
 * for a private app) it says exactly what to set by hand. It removes only what it is handed: the
 * lifecycle hands it nothing another connection of the app still holds.
 */
describe('HubSpot webhook subscriptions', () => {
  let hs: HubSpotSandbox;
  let receiver: WebhookReceiver;
  let callbackUrl: string;
  const opened: HubSpotConnector[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });
  afterEach(async () => {
    await hs?.stop();
    receiver.deliveries.length = 0;
  });

  async function subscriber(withApp: boolean, developerApiKey?: string, options: { privateApp?: boolean; appId?: number } = {}): Promise<WebhookSubscriber> {
    hs = await startHubSpotSandbox({ limits: false });
    const { clientId, clientSecret, refreshToken, publicAppId, accessToken } = hs.credentials;
    const connector = await createHubSpotConnector({
      connectionId: 'hs-main',
      basePath: hs.url,
      auth: options.privateApp ? { kind: 'private-app', accessToken } : { kind: 'oauth', clientId, clientSecret, refreshToken },
      webhookApp: withApp ? { appId: options.appId ?? Number(publicAppId), developerApiKey: developerApiKey ?? hs.credentials.developerApiKey } : undefined,
    });
    opened.push(connector);
    const subscriptions = connector.webhookSubscriptions as WebhookSubscriber;
    // As the lifecycle builds it: the shim's per-app route when the subscriber has one, else the connection's own.
    callbackUrl = `${receiver.url}${subscriptions.sharedCallbackPath ?? '/webhooks/hubspot/hs-main'}`;
    return subscriptions;
  }
  /** The sandbox's own v3 endpoints, with the developer key. */
  const v3 = (path: string, init: RequestInit = {}) =>
    fetch(`${hs.url}/webhooks/v3/${hs.credentials.publicAppId}/${path}${path.includes('?') ? '&' : '?'}hapikey=${hs.credentials.developerApiKey}`, { ...init, headers: init.body !== undefined ? { 'content-type': 'application/json' } : {} });
  const listed = async (): Promise<ListedSubscription[]> => ((await (await v3('subscriptions')).json()) as { results: ListedSubscription[] }).results;
  const request = (): WebhookSubscribeRequest => ({ callbackUrl, objects: ['contact', 'company', 'deal', 'activity'], deliverySecret: 'unused-by-hubspot' });
  const verified = (delivery: ReceivedDelivery, secrets: Record<string, string>) =>
    verifyHubSpot({ rawBody: delivery.rawBody, headers: delivery.headers, method: delivery.method, uri: delivery.uri, secrets, now: Date.now(), toleranceMs: DEFAULT_TOLERANCE_MS });

  it('without an app id and developer key: answers what to set by hand, and sets nothing', async () => {
    const subscriptions = await subscriber(false);
    const result = await subscriptions.subscribe(request());
    expect(result.kind).toBe('manual');
    if (result.kind !== 'manual') return;
    expect(result.instructions).toContain(`Target URL: ${callbackUrl}`);
    expect(result.instructions).toEqual(expect.arrayContaining(['  contact.creation', '  contact.deletion', '  contact.propertyChange, property email', '  deal.associationChange', '  object.creation (object type 0-27)', '  object.propertyChange (object type 0-48), property hs_call_title']));
    expect((await v3('settings')).status).toBe(404);
    expect(await listed()).toEqual([]);
  });

  it('with them: sets the target URL and one subscription per event; a change then arrives signed, verified and parsed', async () => {
    const subscriptions = await subscriber(true);
    expect(subscriptions.sharedCallbackPath).toBe(`/webhooks/hubspot/app/${hs.credentials.publicAppId}`);
    const result = await subscriptions.subscribe(request());
    expect(result.kind).toBe('registered');
    if (result.kind !== 'registered') return;
    expect(result.webhookCredentials).toEqual({ secret: hs.credentials.clientSecret });
    // The portal the connection's token is for, as HubSpot's token metadata names it.
    expect(result.dispatchKey).toBe(`${hs.credentials.publicAppId}:${hs.portalId}`);
    expect(await (await v3('settings')).json()).toMatchObject({ targetUrl: callbackUrl, throttling: { maxConcurrentRequests: 10 } });
    const all = await listed();
    expect(result.subscriptions[0]).toEqual({ kind: 'hubspot-app-target', id: hs.credentials.publicAppId, objectType: null, expiresAt: null });
    expect(all.map((subscription) => subscription.id).sort()).toEqual(result.subscriptions.slice(1).map((subscription) => subscription.id).sort());
    expect(all.every((subscription) => subscription.active)).toBe(true);
    expect(all).toEqual(expect.arrayContaining([
      expect.objectContaining({ eventType: 'contact.creation' }),
      expect.objectContaining({ eventType: 'contact.propertyChange', propertyName: 'email' }),
      expect.objectContaining({ eventType: 'company.associationChange' }),
      expect.objectContaining({ eventType: 'object.deletion', objectTypeId: '0-27' }),
    ]));

    const contact = hs.admin.createAsUser('contacts', { email: 'ada@acme.example', lastname: 'Lovelace' });
    await hs.admin.flushWebhooks();
    expect(receiver.deliveries.length).toBeGreaterThan(0);
    const ids = new Set(all.map((subscription) => Number(subscription.id)));
    for (const delivery of receiver.deliveries) {
      expect(delivery.path).toBe(new URL(callbackUrl).pathname);
      expect(() => verified(delivery, result.webhookCredentials)).not.toThrow();
      const events = JSON.parse(delivery.rawBody.toString('utf8')) as { subscriptionId: number; appId: number; subscriptionType: string; propertyName?: string }[];
      for (const event of events) {
        expect(ids.has(event.subscriptionId)).toBe(true);
        expect(event.appId).toBe(Number(hs.credentials.publicAppId));
      }
      // lastname is mapped, so subscribed; a property nobody subscribed to is never sent.
      expect(events.filter((event) => event.subscriptionType === 'contact.propertyChange').map((event) => event.propertyName).sort()).toEqual(expect.arrayContaining(['email', 'lastname']));
      const parsed = parseHubSpot(JSON.parse(delivery.rawBody.toString('utf8')), { headers: delivery.headers });
      expect(parsed.events).toContainEqual(expect.objectContaining({ objectType: 'contact', externalId: contact.id }));
    }
  });

  it('subscribing twice doubles nothing; a paused subscription is resumed and one deleted out of band is made again', async () => {
    const subscriptions = await subscriber(true);
    const first = await subscriptions.subscribe(request());
    const before = await listed();
    const second = await subscriptions.subscribe(request());
    expect(await listed()).toEqual(before);
    if (first.kind !== 'registered' || second.kind !== 'registered') throw new Error('expected registrations');
    expect(second.subscriptions.map((subscription) => subscription.id)).toEqual(first.subscriptions.map((subscription) => subscription.id));

    const [paused, deleted] = before as [ListedSubscription, ListedSubscription];
    expect((await v3(`subscriptions/${paused.id}`, { method: 'PATCH', body: JSON.stringify({ active: false }) })).status).toBe(200);
    expect((await v3(`subscriptions/${deleted.id}`, { method: 'DELETE' })).status).toBe(204);
    await subscriptions.subscribe(request());
    const after = await listed();
    expect(after).toHaveLength(before.length);
    expect(after.find((subscription) => subscription.id === paused.id)?.active).toBe(true);
    expect(after.filter((subscription) => subscription.eventType === deleted.eventType && subscription.propertyName === deleted.propertyName && subscription.objectTypeId === deleted.objectTypeId)).toHaveLength(1);
  });

  it('unsubscribe removes exactly what it is handed: some subscriptions leave the target; the target entry clears it; gone ones count as removed', async () => {
    const subscriptions = await subscriber(true);
    const result = await subscriptions.subscribe(request());
    if (result.kind !== 'registered') throw new Error('expected a registration');
    const [target, first, ...rest] = result.subscriptions;
    if (!target || !first) throw new Error('expected the target and a subscription');
    await subscriptions.unsubscribe([first]);
    expect((await listed()).map((subscription) => subscription.id).sort()).toEqual(rest.map((subscription) => subscription.id).sort());
    expect(await (await v3('settings')).json()).toMatchObject({ targetUrl: callbackUrl });

    await subscriptions.unsubscribe(result.subscriptions);
    expect(await listed()).toEqual([]);
    expect((await v3('settings')).status).toBe(404);
  });

  it("a target on this shim's per-connection route (set before the per-app route) is moved to the app's route", async () => {
    const subscriptions = await subscriber(true);
    const old = `${receiver.url}/webhooks/hubspot/hs-main`;
    expect((await v3('settings', { method: 'PUT', body: JSON.stringify({ targetUrl: old, throttling: { maxConcurrentRequests: 10 } }) })).status).toBe(200);
    const result = await subscriptions.subscribe(request());
    expect(result.kind).toBe('registered');
    expect(await (await v3('settings')).json()).toMatchObject({ targetUrl: callbackUrl });
  });

  it("a private app's token: its webhooks are edited in its settings only, so the answer says what to set there", async () => {
    const subscriptions = await subscriber(true, undefined, { privateApp: true });
    expect(subscriptions.sharedCallbackPath).toBeUndefined();
    const result = await subscriptions.subscribe(request());
    expect(result.kind).toBe('manual');
    if (result.kind !== 'manual') return;
    expect(result.instructions[0]).toContain("private app's token");
    expect(result.instructions).toContain(`Target URL: ${callbackUrl}`);
    expect((await v3('settings')).status).toBe(404);
  });

  it('a grant for another app than the configured one is refused with both ids, before anything is set', async () => {
    const subscriptions = await subscriber(true, undefined, { appId: 99 });
    await expect(subscriptions.subscribe(request())).rejects.toThrow(`portal ${hs.portalId} installed HubSpot app ${hs.credentials.publicAppId} through this connection's OAuth grant, but crm-sync configures the webhooks of app 99`);
    expect((await v3('settings')).status).toBe(404);
  });

  it('a target URL elsewhere (another deployment) is left alone, and the answer says what to do', async () => {
    const subscriptions = await subscriber(true);
    expect((await v3('settings', { method: 'PUT', body: JSON.stringify({ targetUrl: 'https://other.example/webhooks/hubspot/t2/c2', throttling: { maxConcurrentRequests: 10 } }) })).status).toBe(200);
    const result = await subscriptions.subscribe(request());
    expect(result.kind).toBe('manual');
    if (result.kind !== 'manual') return;
    expect(result.instructions[0]).toContain('https://other.example/webhooks/hubspot/t2/c2');
    expect(await (await v3('settings')).json()).toMatchObject({ targetUrl: 'https://other.example/webhooks/hubspot/t2/c2' });
    expect(await listed()).toEqual([]);
  });

  it('a wrong developer key is refused by HubSpot and surfaces as an error', async () => {
    const subscriptions = await subscriber(true, 'not-the-key');
    await expect(subscriptions.subscribe(request())).rejects.toThrow(/401/);
    expect(await listed()).toEqual([]);
  });
});

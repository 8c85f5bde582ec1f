import { Signature } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotWebhookEvent } from '../../../src/sandbox/hubspot';
import { startWebhookReceiver, type WebhookReceiver } from '../../connectors/webhook-receiver';

/**
 * The app's v3 webhook configuration decides what is delivered [H84]-[H87]: only events an active
 * subscription covers reach the app's target URL, named by that subscription, signed by the app.
 */
describe('HubSpot sandbox: app-level webhook settings and subscriptions', () => {
  let hs: HubSpotSandbox | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await hs?.stop();
    await receiver?.close();
  });

  async function start(): Promise<{ sandbox: HubSpotSandbox; v3: (path: string, init?: RequestInit) => Promise<Response> }> {
    hs = await startHubSpotSandbox({ limits: false });
    const sandbox = hs;
    const v3 = (path: string, init: RequestInit = {}) =>
      fetch(`${sandbox.url}/webhooks/v3/${sandbox.credentials.publicAppId}/${path}?hapikey=${sandbox.credentials.developerApiKey}`, { ...init, headers: init.body !== undefined ? { 'content-type': 'application/json' } : {} });
    return { sandbox, v3 };
  }
  const post = (v3: (path: string, init?: RequestInit) => Promise<Response>, body: Record<string, unknown>) => v3('subscriptions', { method: 'POST', body: JSON.stringify(body) });

  it('delivers only what active subscriptions cover, by property and object type, to the configured target', async () => {
    receiver = await startWebhookReceiver();
    const { sandbox, v3 } = await start();
    expect((await v3('settings', { method: 'PUT', body: JSON.stringify({ targetUrl: `${receiver.url}/app-target`, throttling: { maxConcurrentRequests: 10 } }) })).status).toBe(200);
    const creation = (await (await post(v3, { eventType: 'contact.creation' })).json()) as { id: string };
    const email = (await (await post(v3, { eventType: 'contact.propertyChange', propertyName: 'email' })).json()) as { id: string };
    const paused = (await (await post(v3, { eventType: 'contact.propertyChange', propertyName: 'lastname', active: false })).json()) as { id: string };
    await post(v3, { eventType: 'object.creation', objectTypeId: '0-48' });
    expect(paused).toMatchObject({ active: false });

    sandbox.admin.createAsUser('contacts', { email: 'ada@acme.example', lastname: 'Lovelace', firstname: 'Ada' });
    sandbox.admin.createAsUser('tasks', { hs_task_subject: 'Not subscribed: tasks are 0-27' });
    await sandbox.admin.flushWebhooks();

    const events = receiver.deliveries.flatMap((delivery) => JSON.parse(delivery.rawBody.toString('utf8')) as HubSpotWebhookEvent[]);
    expect(events.map((event) => [event.subscriptionType, event.propertyName ?? null, event.subscriptionId]).sort()).toEqual(
      [
        ['contact.creation', null, Number(creation.id)],
        ['contact.propertyChange', 'email', Number(email.id)],
      ].sort(),
    );
    for (const delivery of receiver.deliveries) {
      expect(delivery.path).toBe('/app-target');
      const valid = Signature.isValid({
        signatureVersion: 'v3',
        method: 'POST',
        url: delivery.uri,
        clientSecret: sandbox.credentials.clientSecret,
        signature: String(delivery.headers['x-hubspot-signature-v3']),
        requestBody: delivery.rawBody.toString('utf8'),
        timestamp: Number(delivery.headers['x-hubspot-request-timestamp']),
      });
      expect(valid).toBe(true);
    }
    expect(events.every((event) => event.appId === Number(sandbox.credentials.publicAppId))).toBe(true);
  });

  it('refuses a portal token, a duplicate subscription, a missing propertyName and a plain-http public target', async () => {
    const { sandbox, v3 } = await start();
    const withToken = await fetch(`${sandbox.url}/webhooks/v3/${sandbox.credentials.publicAppId}/subscriptions`, { headers: { authorization: `Bearer ${sandbox.credentials.accessToken}` } });
    expect(withToken.status).toBe(401);
    expect(await withToken.json()).toMatchObject({ category: 'INVALID_AUTHENTICATION' });
    expect((await post(v3, { eventType: 'contact.deletion' })).status).toBe(201);
    expect((await post(v3, { eventType: 'contact.deletion' })).status).toBe(409);
    const missing = await post(v3, { eventType: 'deal.propertyChange' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ category: 'VALIDATION_ERROR' });
    expect((await post(v3, { eventType: 'contact.nosuchthing' })).status).toBe(400);
    expect((await v3('settings', { method: 'PUT', body: JSON.stringify({ targetUrl: 'http://hooks.example/x', throttling: { maxConcurrentRequests: 10 } }) })).status).toBe(400);
  });
});

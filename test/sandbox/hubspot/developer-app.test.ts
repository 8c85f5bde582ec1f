import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubSpotDeveloperApp, DEFAULT_PUBLIC_APP_SCOPES, startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions, type HubSpotWebhookEvent } from '../../../src/sandbox/hubspot';
import { DEFAULT_TOLERANCE_MS } from '../../../src/webhooks/verify';
import { verifyHubSpot } from '../../../src/webhooks/verify-hubspot';
import { startWebhookReceiver, type WebhookReceiver } from '../../connectors/webhook-receiver';

/**
 * One legacy public app installed in several portals [H84]: the product routes every portal's
 * deliveries to one target and tells portals apart by `portalId`, and finds an install's portal
 * from its access token's metadata [H105].
 */
describe('HubSpot sandbox: token metadata and one public app installed in several portals', () => {
  const started: HubSpotSandbox[] = [];
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sandbox) => sandbox.stop()));
    await receiver?.close();
    receiver = undefined;
  });

  async function start(options: HubSpotSandboxOptions): Promise<HubSpotSandbox> {
    const sandbox = await startHubSpotSandbox({ limits: false, ...options });
    started.push(sandbox);
    return sandbox;
  }

  const form = (url: string, body: Record<string, string>): Promise<Response> =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString(), redirect: 'manual' });

  async function tokenGrant(sandbox: HubSpotSandbox, body: Record<string, string>): Promise<{ access_token: string; refresh_token: string }> {
    const answer = await form(`${sandbox.url}/oauth/v1/token`, { client_id: sandbox.credentials.clientId, client_secret: sandbox.credentials.clientSecret, ...body });
    expect(answer.status).toBe(200);
    return (await answer.json()) as { access_token: string; refresh_token: string };
  }

  /** A person installs the app through the consent page, asking for `scope`; the app redeems the code. */
  async function install(sandbox: HubSpotSandbox, scope: string): Promise<{ access_token: string; refresh_token: string }> {
    const redirectUri = 'https://app.example/hubspot/callback';
    sandbox.consent.registerRedirectUri(redirectUri);
    const decision = await form(`${sandbox.url}/oauth/authorize`, { client_id: sandbox.credentials.clientId, redirect_uri: redirectUri, scope, state: 's1', decision: 'allow' });
    expect(decision.status).toBe(302);
    const code = new URL(String(decision.headers.get('location'))).searchParams.get('code');
    return tokenGrant(sandbox, { grant_type: 'authorization_code', code: String(code), redirect_uri: redirectUri });
  }

  const metadata = async (sandbox: HubSpotSandbox, token: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    // No Authorization header: the token is the path [H105].
    const answer = await fetch(`${sandbox.url}/oauth/v1/access-tokens/${encodeURIComponent(token)}`);
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
  };

  it('answers an access token from a code exchange and from a refresh with its portal, app, scopes and the seconds left', async () => {
    let clock = Date.parse('2026-03-02T09:00:00Z');
    const hs = await start({ portalId: 4_400_001, now: () => clock });
    const installed = await install(hs, 'oauth crm.objects.contacts.read');

    const fresh = await metadata(hs, installed.access_token);
    expect(fresh).toEqual({
      status: 200,
      body: {
        token: installed.access_token,
        user: expect.any(String) as unknown,
        hub_domain: expect.any(String) as unknown,
        scopes: ['oauth', 'crm.objects.contacts.read'],
        hub_id: 4_400_001,
        app_id: Number(hs.credentials.publicAppId),
        expires_in: 1800,
        user_id: expect.any(Number) as unknown,
        token_type: 'access',
      },
    });
    clock += 10 * 60_000 + 400;
    expect((await metadata(hs, installed.access_token)).body.expires_in).toBe(1200 - 1);

    // A refresh carries the install's scopes; the sandbox's starting refresh token stands for an install of the app's configured ones.
    const refreshed = await tokenGrant(hs, { grant_type: 'refresh_token', refresh_token: installed.refresh_token });
    expect((await metadata(hs, refreshed.access_token)).body).toMatchObject({ hub_id: 4_400_001, app_id: Number(hs.credentials.publicAppId), scopes: ['oauth', 'crm.objects.contacts.read'], expires_in: 1800 });
    const configured = await tokenGrant(hs, { grant_type: 'refresh_token', refresh_token: hs.credentials.refreshToken });
    expect((await metadata(hs, configured.access_token)).body).toMatchObject({ hub_id: 4_400_001, scopes: [...DEFAULT_PUBLIC_APP_SCOPES] });

    clock += 20 * 60_000;
    const expired = await metadata(hs, installed.access_token);
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ status: 'error', category: 'EXPIRED_AUTHENTICATION' });
    expect((await metadata(hs, refreshed.access_token)).body.expires_in).toBe(1800 - 20 * 60);
  });

  it('answers an unknown token 404, a private-app token the format error, an app-level token as unknown', async () => {
    const hs = await start({ portalId: 4_400_002 });
    const unknown = await metadata(hs, `C${randomBytes(60).toString('base64url')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: 'error', correlationId: expect.any(String) as unknown });
    const privateApp = await metadata(hs, hs.credentials.accessToken);
    expect(privateApp).toEqual({ status: 400, body: { status: 'error', message: 'The access token must have the correct format', correlationId: expect.any(String) as unknown } });
    const appLevel = await tokenGrant(hs, { grant_type: 'client_credentials', scope: 'developer.webhooks_journal.read' });
    expect((await metadata(hs, appLevel.access_token)).status).toBe(404);
  });

  it('is not counted against the portal API limits', async () => {
    const hs = await start({ portalId: 4_400_003, limits: { tenSecondly: { max: 1, intervalMs: 60_000 }, daily: 1 } });
    const { access_token } = await tokenGrant(hs, { grant_type: 'refresh_token', refresh_token: hs.credentials.refreshToken });
    const crm = (): Promise<Response> => fetch(`${hs.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${access_token}` } });
    expect((await crm()).status).toBe(200);
    expect((await crm()).status).toBe(429);
    for (let call = 0; call < 5; call += 1) expect((await metadata(hs, access_token)).status).toBe(200);
  });

  it('shares the app identity and its v3 webhook settings across portals; each portal delivers its own events to the one target', async () => {
    receiver = await startWebhookReceiver();
    const app = createHubSpotDeveloperApp({ appId: 3_000_003 });
    const a = await start({ portalId: 5_100_001, developerApp: app });
    const b = await start({ portalId: 5_200_002, developerApp: app });
    for (const key of ['publicAppId', 'clientId', 'clientSecret', 'developerApiKey', 'webhookClientSecret'] as const) expect(a.credentials[key]).toBe(b.credentials[key]);
    expect(a.credentials.publicAppId).toBe('3000003');
    expect(a.credentials.refreshToken).not.toBe(b.credentials.refreshToken);
    expect(app.portalIds()).toEqual([5_100_001, 5_200_002]);

    const v3 = (sandbox: HubSpotSandbox, path: string, init: RequestInit = {}): Promise<Response> =>
      fetch(`${sandbox.url}/webhooks/v3/${app.appId}/${path}?hapikey=${app.developerApiKey}`, { ...init, headers: init.body !== undefined ? { 'content-type': 'application/json' } : {} });
    const target = `${receiver.url}/hubspot/app`;
    expect((await v3(a, 'settings', { method: 'PUT', body: JSON.stringify({ targetUrl: target, throttling: { maxConcurrentRequests: 10 } }) })).status).toBe(200);
    expect(await (await v3(b, 'settings')).json()).toMatchObject({ targetUrl: target });
    const created = (await (await v3(b, 'subscriptions', { method: 'POST', body: JSON.stringify({ eventType: 'contact.creation' }) })).json()) as { id: string };
    expect(((await (await v3(a, 'subscriptions')).json()) as { results: { id: string }[] }).results.map((subscription) => subscription.id)).toEqual([created.id]);

    // Each portal issues its own tokens; any portal's host tells which portal a token belongs to (one api.hubapi.com).
    const tokenOfA = await tokenGrant(a, { grant_type: 'refresh_token', refresh_token: a.credentials.refreshToken });
    expect((await metadata(b, tokenOfA.access_token)).body).toMatchObject({ hub_id: 5_100_001, app_id: 3_000_003 });
    expect((await form(`${b.url}/oauth/v1/token`, { grant_type: 'refresh_token', refresh_token: a.credentials.refreshToken, client_id: app.clientId, client_secret: app.clientSecret })).status).toBe(400);

    a.admin.createAsUser('contacts', { email: 'ada@portal-a.example' });
    b.admin.createAsUser('contacts', { email: 'grace@portal-b.example' });
    await a.admin.flushWebhooks();
    await b.admin.flushWebhooks();

    const events = receiver.deliveries.flatMap((delivery) => JSON.parse(delivery.rawBody.toString('utf8')) as HubSpotWebhookEvent[]);
    expect(events.map((event) => [event.portalId, event.appId, event.subscriptionType, event.subscriptionId]).sort()).toEqual([
      [5_100_001, 3_000_003, 'contact.creation', Number(created.id)],
      [5_200_002, 3_000_003, 'contact.creation', Number(created.id)],
    ]);
    expect(receiver.deliveries).toHaveLength(2);
    for (const delivery of receiver.deliveries) {
      expect(delivery.path).toBe('/hubspot/app');
      const check = { rawBody: delivery.rawBody, headers: delivery.headers, method: delivery.method, uri: delivery.uri, now: Date.now(), toleranceMs: DEFAULT_TOLERANCE_MS };
      expect(() => verifyHubSpot({ ...check, secrets: { secret: app.clientSecret } })).not.toThrow();
      expect(() => verifyHubSpot({ ...check, secrets: { secret: 'another app' } })).toThrow(/does not match/);
      expect(delivery.headers['x-hubspot-signature']).toBe(createHash('sha256').update(app.clientSecret).update(delivery.rawBody).digest('hex'));
    }

    // Clearing the app's settings through either host stops every portal's deliveries.
    expect((await v3(b, 'settings', { method: 'DELETE' })).status).toBe(204);
    expect((await v3(a, 'settings')).status).toBe(404);
    a.admin.createAsUser('contacts', { email: 'after-a@portal-a.example' });
    b.admin.createAsUser('contacts', { email: 'after-b@portal-b.example' });
    await a.admin.flushWebhooks();
    await b.admin.flushWebhooks();
    expect(receiver.deliveries).toHaveLength(2);
  });

  it('refuses a second sandbox for a portal already running with the app, and app settings given beside it', async () => {
    const app = createHubSpotDeveloperApp();
    await start({ portalId: 5_300_003, developerApp: app });
    await expect(startHubSpotSandbox({ portalId: 5_300_003, developerApp: app })).rejects.toThrow(/already runs/);
    await expect(startHubSpotSandbox({ portalId: 5_300_004, developerApp: app, publicApp: { clientSecret: 'x' } })).rejects.toThrow(/clientSecret/);
    expect(app.portalIds()).toEqual([5_300_003]);
    await started.splice(0)[0]?.stop();
    expect(app.portalIds()).toEqual([]);
  });
});

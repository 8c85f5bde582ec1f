import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionToken } from '../../src/connectors/token-provider';
import { findFreePort } from '../../src/devserver/dev-server';
import type { CrmProvider } from '../../src/model/identifiers';
import { consentCallbackDependencies } from '../../src/oauth/callback-dependencies';
import { loadOAuthApps } from '../../src/oauth/oauth-apps';
import { startDynamicsSandbox, type DynamicsSandbox } from '../../src/sandbox/dynamics';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';
import { hostLabel, startZohoSandbox, type ZohoSandbox } from '../../src/sandbox/zoho';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../src/sandbox/pipedrive';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce';
import { tokenBinding } from '../../src/store/connection-tokens-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { consentBinding } from '../../src/store/oauth-consents-repository';
import { storedWebhookRegistration } from '../../src/lifecycle/webhook-registration';
import { ConnectionTokensRepository } from '../../src/store/connection-tokens-repository';
import { WebhookSubscriptionsRepository } from '../../src/store/webhook-subscriptions-repository';
import { buildShimApp } from '../../src/webhooks/app';
import { temporalSignalConnection } from '../../src/webhooks/signal';
import { syncStatusQuery, type ChangeNotices } from '../../src/workflows/messages';
import { cliEnvironment, runCli, type CliResult } from '../cli/support';
import { dumpHistories, dumpSchema, findLeaks, knownSecret, type KnownSecret } from '../support/secret-sweep';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

const CHROMIUM = '/usr/bin/chromium';
const SYNC = { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 };

/**
 * Issue #15, consent flows: a new user connects each CRM the way the README tells them to, through
 * the spawned `crm-sync connection connect`, the printed URL followed in headless Chromium to the
 * sandbox's consent page and approved, the vendor's redirect to the shim's callback (real HTTP),
 * the connection stored sealed and its workflow running on the real Temporal dev server; then a
 * change made in that CRM reaches a peer connection of the tenant. Then every bad input, each
 * answered precisely with nothing stored; and a sweep for every secret the flows handled.
 */
describe('connect a CRM through OAuth consent', { timeout: 300_000 }, () => {
  const key = randomBytes(32);
  const cipher = new CredentialCipher(new Map([['k1', key]]), 'k1');
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-consent-'));
  const settingsFile = path.join(dir, 'settings.json');
  writeFileSync(settingsFile, JSON.stringify({ sync: SYNC }));
  let h: SyncHarness;
  let sf: SalesforceSandbox;
  let hs: HubSpotSandbox;
  let pd: PipedriveSandbox;
  let zoho: ZohoSandbox;
  let dyn: DynamicsSandbox;
  const peers: { stop(): Promise<void> }[] = [];
  let shim: FastifyInstance;
  let tokens: ConnectionTokensRepository | undefined;
  let shimUrl: string;
  let env: NodeJS.ProcessEnv;
  /** The shim's consent callback as the shim wires it, over this test's apps, keyring and database. */
  const callbackDependencies = (run: Pick<Parameters<typeof consentCallbackDependencies>[0], 'startWorkflow' | 'now' | 'webhooks'>) =>
    consentCallbackDependencies({ apps: loadOAuthApps(env), keyring: { keys: new Map([['k1', key]]), activeKeyId: 'k1' }, db: h.db.pool, cipher, connections: h.connectionsRepository, ...run });
  let browser: Browser;
  let shimLog = '';
  const cliOutput: string[] = [];
  /** Every authorization code seen on a callback URL (for the secrets sweep). */
  const codes = new Set<string>();

  const cli = async (args: string[], overrides: NodeJS.ProcessEnv = {}): Promise<CliResult> => {
    const result = await runCli(args, { ...env, ...overrides });
    cliOutput.push(result.stdout, result.stderr);
    return result;
  };
  const signal = (tenantId: string, connectionId: string, notices: ChangeNotices = { events: [] }): Promise<void> =>
    temporalSignalConnection({ client: h.client, taskQueue: h.taskQueue, timeoutMs: 10_000 })({ tenantId, connectionId }, notices);
  const status = (tenantId: string, connectionId: string) => h.client.workflow.getHandle(`sync:${tenantId}:${connectionId}`).query(syncStatusQuery);

  interface Peer {
    tenantId: string;
    peerId: string;
    /** The e-mail addresses of the peer CRM's contacts. */
    emails(): string[];
  }
  /**
   * A tenant added as a new user adds it, with a peer connection added by hand (a Pipedrive API
   * token; a HubSpot private app when Pipedrive is the CRM under test).
   */
  const tenantWithPeer = async (name: string, kind: 'pipedrive' | 'hubspot' = 'pipedrive'): Promise<Peer> => {
    const tenantId = `${name}-${randomBytes(3).toString('hex')}`;
    expect(await cli(['tenant', 'add', tenantId, '--name', name])).toMatchObject({ code: 0 });
    const peerId = `${tenantId}-peer`;
    if (kind === 'pipedrive') {
      const peer = await startPipedriveSandbox({ limits: false });
      peers.push(peer);
      await h.connectionsRepository.addConnection({
        id: peerId,
        tenantId,
        provider: 'pipedrive',
        settings: { apiDomain: peer.url, sync: SYNC },
        credentials: { kind: 'api-token', apiToken: peer.credentials.apiToken },
      });
      return { tenantId, peerId, emails: () => peer.admin.listRecords('persons').flatMap((person) => ((person.emails ?? []) as { value: string }[]).map((entry) => entry.value)) };
    }
    const peer = await startHubSpotSandbox({ limits: false });
    peers.push(peer);
    await h.connectionsRepository.addConnection({ id: peerId, tenantId, provider: 'hubspot', settings: { basePath: peer.url, sync: SYNC }, credentials: { kind: 'private-app', accessToken: peer.credentials.accessToken } });
    return { tenantId, peerId, emails: () => peer.admin.listRecords('contacts').map((contact) => String(contact.properties.email)) };
  };

  /** `connection connect` as printed, then the URL in Chromium: Allow, and the shim's page. */
  const connectInBrowser = async (tenantId: string, connectionId: string, provider: CrmProvider, extra: string[] = []): Promise<{ url: URL; title: string; message: string }> => {
    const result = await cli(['connection', 'connect', tenantId, connectionId, '--provider', provider, ...(extra.includes('--settings-file') ? [] : ['--settings-file', settingsFile]), ...extra]);
    expect(result.code, result.stderr).toBe(0);
    const printed = /^(https?:\/\/\S+)$/m.exec(result.stdout)?.[1];
    expect(printed, result.stdout).toBeDefined();
    // The Dynamics sandbox's authority is https with a self-signed certificate.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    try {
      page.on('request', (request) => {
        const code = new URL(request.url()).searchParams.get('code');
        if (request.url().startsWith(shimUrl) && code) codes.add(code);
      });
      await page.goto(printed!);
      await page.locator('#allow').click();
      await page.waitForURL((url) => url.href.startsWith(`${shimUrl}/oauth/${provider}/callback`));
      return { url: new URL(printed!), title: (await page.locator('#title').textContent()) ?? '', message: (await page.locator('#message').textContent()) ?? '' };
    } finally {
      await context.close();
    }
  };

  /**
   * The new connection's workflow runs and first-polls (so the change below is new); then a record
   * created in its CRM reaches the peer, and nobody signals the workflow: the change travels only
   * through the push channel the product registered (the poll runs hourly and has run once; that
   * it did not run again is asserted), which `delivered` counts at the sandbox (webhook deliveries
   * to the registered URL, or change events sent over the Pub/Sub API).
   */
  const expectReachingPeerByWebhook = async (peer: Peer, connectionId: string, create: () => string, email: string, delivered: () => number): Promise<void> => {
    const { tenantId, peerId } = peer;
    const description = await h.client.workflow.getHandle(`sync:${tenantId}:${connectionId}`).describe();
    expect(description.status.name).toBe('RUNNING');
    await signal(tenantId, peerId);
    for (const id of [connectionId, peerId]) await expect.poll(async () => (await status(tenantId, id)).watermarks.contact !== undefined, { timeout: 90_000, interval: 250 }).toBe(true);
    const polledAt = (await status(tenantId, connectionId)).lastPolledAt;
    const deliveredBefore = delivered();
    create();
    await expect.poll(() => peer.emails(), { timeout: 60_000, interval: 250 }).toContain(email);
    expect(delivered()).toBeGreaterThan(deliveredBefore);
    expect((await status(tenantId, connectionId)).lastPolledAt).toBe(polledAt);
  };

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`).toBe(true);
    h = await startSyncHarness({ crms: [], encryptionKey: { id: 'k1', key } });
    // Refresh token rotation on: the refresh token the flow stores must survive its first use [S62].
    // A new org: nothing selected for Change Data Capture until the product selects it at connect.
    sf = await startSalesforceSandbox({ dailyApiRequests: false, refreshTokenRotation: true, changeDataCapture: { selected: [] } });
    hs = await startHubSpotSandbox({ limits: false });
    pd = await startPipedriveSandbox({ limits: false });
    // An EU account; the sandbox also runs the US data centre, which must never be called.
    zoho = await startZohoSandbox({ limits: false, region: 'eu', regions: ['us', 'eu'] });
    // Client credentials refused until an administrator consents (AADSTS700016) [D59].
    dyn = await startDynamicsSandbox({ tls: true, serviceProtection: { enabled: false }, adminConsent: 'pending' });
    shimUrl = `http://127.0.0.1:${await findFreePort()}`;
    // What the operator registers in each vendor's console: the shim's callback as redirect URI.
    sf.consent.registerRedirectUri(`${shimUrl}/oauth/salesforce/callback`);
    hs.consent.registerRedirectUri(`${shimUrl}/oauth/hubspot/callback`);
    pd.consent.registerRedirectUri(`${shimUrl}/oauth/pipedrive/callback`);
    zoho.consent.registerRedirectUri(`${shimUrl}/oauth/zoho/callback`);
    dyn.consent.registerRedirectUri(`${shimUrl}/oauth/dynamics/callback`);
    env = cliEnvironment(
      { schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` },
      {
        SHIM_PUBLIC_URL: shimUrl,
        CRM_SYNC_OAUTH_SALESFORCE_CLIENT_ID: sf.credentials.clientId,
        CRM_SYNC_OAUTH_SALESFORCE_CLIENT_SECRET: sf.credentials.clientSecret,
        CRM_SYNC_OAUTH_SALESFORCE_LOGIN_URL: sf.url,
        CRM_SYNC_OAUTH_HUBSPOT_CLIENT_ID: hs.credentials.clientId,
        CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET: hs.credentials.clientSecret,
        CRM_SYNC_OAUTH_HUBSPOT_AUTHORIZE_URL: `${hs.url}/oauth/authorize`,
        CRM_SYNC_OAUTH_HUBSPOT_API_URL: hs.url,
        // The public app's id and the developer key: crm-sync sets the app's webhooks itself.
        CRM_SYNC_OAUTH_HUBSPOT_APP_ID: hs.credentials.publicAppId,
        CRM_SYNC_OAUTH_HUBSPOT_DEVELOPER_API_KEY: hs.credentials.developerApiKey,
        CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_ID: pd.credentials.clientId,
        CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_SECRET: pd.credentials.clientSecret,
        CRM_SYNC_OAUTH_PIPEDRIVE_OAUTH_URL: pd.url,
        CRM_SYNC_OAUTH_ZOHO_CLIENT_ID: zoho.credentials.clientId,
        CRM_SYNC_OAUTH_ZOHO_CLIENT_SECRET: zoho.credentials.clientSecret,
        CRM_SYNC_OAUTH_ZOHO_ACCOUNTS_SERVERS: `us=${zoho.regions.us!.accountsUrl},eu=${zoho.regions.eu!.accountsUrl}`,
        CRM_SYNC_OAUTH_DYNAMICS_CLIENT_ID: dyn.credentials.clientId,
        CRM_SYNC_OAUTH_DYNAMICS_CLIENT_SECRET: dyn.credentials.clientSecret,
        CRM_SYNC_OAUTH_DYNAMICS_AUTHORITY_HOST: dyn.url,
      },
    );
    const startWorkflow = temporalSignalConnection({ client: h.client, taskQueue: h.taskQueue, timeoutMs: 10_000 });
    // As the shim wires it (src/webhooks/server.ts): the callback registers the new connection's
    // webhooks at its vendor, through the shared tokens, to this shim's own webhook route.
    tokens = new ConnectionTokensRepository(h.db.pool, cipher, { lockPoolSize: 1 });
    const webhooks = storedWebhookRegistration({ pool: h.db.pool, connections: h.connectionsRepository, tokens, publicUrl: shimUrl });
    shim = buildShimApp({
      readiness: {},
      // The shim's production logger (query strings redacted), captured for the sweep.
      logger: { level: 'info', stream: { write: (line: string) => void (shimLog += line) } },
      webhooks: { connections: h.connectionsRepository, signal: { client: h.client, taskQueue: h.taskQueue }, secretCacheTtlMs: 0, sharedRoutes: new WebhookSubscriptionsRepository(h.db.pool) },
      oauth: callbackDependencies({ startWorkflow: (target) => startWorkflow(target, { events: [] }), webhooks }),
    });
    await shim.listen({ host: '127.0.0.1', port: Number(new URL(shimUrl).port) });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await shim?.close();
    await tokens?.close();
    await h?.stop();
    await Promise.all([sf?.stop(), hs?.stop(), pd?.stop(), zoho?.stop(), dyn?.stop(), ...peers.map((peer) => peer.stop())]);
  });

  it('Salesforce: connect prints a PKCE consent URL; Allow in Chromium stores the connection, selects Change Data Capture and starts its sync; a new contact reaches the peer through the change events', async () => {
    const peer = await tenantWithPeer('acme');
    const { tenantId } = peer;
    const id = `${tenantId}-sf`;
    // The connection hears Salesforce through Change Data Capture over the Pub/Sub API.
    const cdcSettings = path.join(dir, 'salesforce-cdc.json');
    const sync = { ...SYNC, changeEvents: 'cdc' };
    writeFileSync(cdcSettings, JSON.stringify({ sync, pubSub: { endpoint: sf.credentials.pubSubEndpoint, tls: false } }));
    const { url, title, message } = await connectInBrowser(tenantId, id, 'salesforce', ['--settings-file', cdcSettings]);
    expect(url.origin + url.pathname).toBe(`${sf.url}/services/oauth2/authorize`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toBe(`${shimUrl}/oauth/salesforce/callback`);
    expect([title, message]).toEqual([
      'Connected',
      `Connection ${id} (salesforce) was added to tenant ${tenantId} and is syncing. Change Data Capture selected for Contact (by crm-sync: 1; already selected in the org: 0); crm-sync reads their change events over the Pub/Sub API. You can close this page.`,
    ]);
    expect(sf.consent.decisions.allow).toBeGreaterThanOrEqual(1);

    const stored = await h.connectionsRepository.getConnection(id);
    expect(stored).toMatchObject({ tenantId, provider: 'salesforce', status: 'active', settings: { instanceUrl: sf.url, loginUrl: sf.url, sync } });
    // The callback selected the synced object's change events on the org's ChangeEvents channel
    // (Tooling API), and recorded the member it created.
    const members = sf.admin.changeDataCaptureMembers();
    expect(members.map((member) => [member.EventChannel, member.SelectedEntity])).toEqual([['ChangeEvents', 'ContactChangeEvent']]);
    expect(await new WebhookSubscriptionsRepository(h.db.pool).get(id)).toMatchObject({ state: 'registered', subscriptions: [{ kind: 'salesforce-cdc-member', id: members[0]!.Id, objectType: 'contact' }] });
    const credentials = await h.connectionsRepository.loadCredentials(id);
    expect(credentials).toMatchObject({ grant: 'refresh_token', clientId: sf.credentials.clientId });
    expect(credentials.refreshToken).toMatch(/^5Aep/);

    // The workflow holds a position in the change event stream before the change is made.
    await expect.poll(async () => (await status(tenantId, id)).changeEvents?.replayId ?? null, { timeout: 90_000, interval: 250 }).not.toBeNull();
    await expectReachingPeerByWebhook(
      peer,
      id,
      () => String(sf.admin.createAsUser('Contact', { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace@consent.example' }).Id),
      'grace@consent.example',
      () => sf.admin.stats().pubSubEventsDelivered,
    );
    // The connector renewed through the shared token store with the consented refresh token, which
    // the sandbox then rotated: the newest one is stored (sealed) and differs from the consented one.
    const shared = cipher.open(await tokenRow(id), tokenBinding(id)) as ConnectionToken;
    expect(shared.refreshToken).toMatch(/^5Aep/);
    expect(shared.refreshToken).not.toBe(credentials.refreshToken);

    // Disabling deselects what crm-sync selected: the org's selection is empty again.
    const disabled = await cli(['connection', 'disable', id, '--yes']);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain(`connection ${id} disabled: 1 webhook subscription(s) removed`);
    expect(sf.admin.changeDataCaptureMembers()).toEqual([]);
  });

  it('HubSpot: the install page approved in Chromium connects an OAuth app (refresh token, 30-minute access tokens); a new contact reaches the peer', async () => {
    const peer = await tenantWithPeer('globex');
    const { tenantId } = peer;
    const id = `${tenantId}-hs`;
    const { url, title } = await connectInBrowser(tenantId, id, 'hubspot');
    expect(url.origin + url.pathname).toBe(`${hs.url}/oauth/authorize`);
    expect(url.searchParams.get('scope')).toContain('crm.objects.contacts.write');
    expect(title).toBe('Connected');
    expect(await h.connectionsRepository.getConnection(id)).toMatchObject({ provider: 'hubspot', status: 'active', settings: { basePath: hs.url } });
    expect(await h.connectionsRepository.loadCredentials(id)).toMatchObject({ kind: 'oauth', clientId: hs.credentials.clientId, tokenUrl: `${hs.url}/oauth/v1/token` });
    // HubSpot subscribes per app [H84]: the callback set the app's one target URL to the shim's
    // per-app route and subscribed the contact events, through the v3 webhooks API with the
    // developer key; the shim finds this connection by the portal its token is for [H105].
    const appApi = async (resource: string) =>
      (await (await fetch(`${hs.url}/webhooks/v3/${hs.credentials.publicAppId}/${resource}?hapikey=${hs.credentials.developerApiKey}`)).json()) as Record<string, unknown>;
    expect((await appApi('settings')).targetUrl).toBe(`${shimUrl}/webhooks/hubspot/app/${hs.credentials.publicAppId}`);
    const subscribed = ((await appApi('subscriptions')).results as { eventType: string; active: boolean }[]).filter((subscription) => subscription.active).map((subscription) => subscription.eventType);
    expect(subscribed).toEqual(expect.arrayContaining(['contact.creation', 'contact.propertyChange', 'contact.deletion']));
    expect(await new WebhookSubscriptionsRepository(h.db.pool).get(id)).toMatchObject({ state: 'registered', dispatchKey: `${hs.credentials.publicAppId}:${hs.portalId}` });
    await expectReachingPeerByWebhook(
      peer,
      id,
      () => hs.admin.createAsUser('contacts', { firstname: 'Katherine', lastname: 'Johnson', email: 'katherine@consent.example' }).id,
      'katherine@consent.example',
      () => hs.counters.snapshot().webhooks.delivered,
    );

    // The app's only connection: disabling it removes the app's subscriptions and its target URL.
    const recorded = (await new WebhookSubscriptionsRepository(h.db.pool).get(id))?.subscriptions ?? [];
    const disabled = await cli(['connection', 'disable', id, '--yes']);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain(`connection ${id} disabled: ${recorded.length} webhook subscription(s) removed, workflow stopped`);
    expect((await appApi('subscriptions')).results).toEqual([]);
    expect((await fetch(`${hs.url}/webhooks/v3/${hs.credentials.publicAppId}/settings?hapikey=${hs.credentials.developerApiKey}`)).status).toBe(404);
  });

  it("Pipedrive: the install page approved in Chromium connects the company at its token answer's api_domain; a new person reaches the peer", async () => {
    const peer = await tenantWithPeer('initech', 'hubspot');
    const id = `${peer.tenantId}-pd`;
    const { url, title } = await connectInBrowser(peer.tenantId, id, 'pipedrive');
    expect(url.origin + url.pathname).toBe(`${pd.url}/oauth/authorize`);
    expect(title).toBe('Connected');
    expect(await h.connectionsRepository.getConnection(id)).toMatchObject({ provider: 'pipedrive', status: 'active', settings: { apiDomain: pd.url } });
    expect(await h.connectionsRepository.loadCredentials(id)).toMatchObject({ kind: 'oauth', clientId: pd.credentials.clientId, tokenUrl: `${pd.url}/oauth/token` });
    // The callback registered one v2 webhook per synced object at the sandbox, to this connection's
    // shim route, with Basic-auth credentials sealed in the connection (never in the webhook table).
    const hooks = pd.admin.webhookSubscriptions().filter((hook) => hook.subscription_url === `${shimUrl}/webhooks/pipedrive/${id}`);
    expect(hooks.map((hook) => hook.event_object)).toEqual(['person']);
    const { webhook } = (await h.connectionsRepository.loadCredentials(id)) as { webhook: { user: string; password: string } };
    expect(hooks[0]).toMatchObject({ event_action: '*', version: '2.0', http_auth_user: webhook.user, http_auth_password: webhook.password });
    expect(await new WebhookSubscriptionsRepository(h.db.pool).get(id)).toMatchObject({ state: 'registered', subscriptions: [{ kind: 'pipedrive-webhook', id: String(hooks[0]!.id), objectType: 'contact' }] });
    await expectReachingPeerByWebhook(
      peer,
      id,
      () => String(pd.admin.createAsUser('persons', { name: 'Mary Jackson', emails: [{ value: 'mary@consent.example', primary: true }] }).id),
      'mary@consent.example',
      () => pd.counters.snapshot().webhooks.delivered,
    );
  });

  it('Zoho: --region eu consents at the EU accounts server, exchanges there, calls the EU API domain, and never touches a US host; a new contact reaches the peer', async () => {
    const peer = await tenantWithPeer('umbrella');
    const id = `${peer.tenantId}-zoho`;
    const { url, title } = await connectInBrowser(peer.tenantId, id, 'zoho', ['--region', 'eu']);
    expect(url.origin + url.pathname).toBe(`${zoho.regions.eu!.accountsUrl}/oauth/v2/auth`);
    expect(url.searchParams.get('access_type')).toBe('offline');
    expect(title).toBe('Connected');
    expect(await h.connectionsRepository.getConnection(id)).toMatchObject({
      provider: 'zoho',
      settings: { region: 'eu', accountsServer: zoho.regions.eu!.accountsUrl, apiDomain: zoho.regions.eu!.apiUrl },
    });
    // The callback opened a notification channel at the EU data centre for this connection's shim
    // route, with the channel token sealed in the connection (what the shim compares).
    const channels = zoho.admin.channels().filter((channel) => channel.notify_url === `${shimUrl}/webhooks/zoho/${id}`);
    expect(channels.map((channel) => channel.events)).toEqual([['Contacts.all']]);
    const { webhook } = (await h.connectionsRepository.loadCredentials(id)) as { webhook: { token: string } };
    expect(channels[0]!.token).toBe(webhook.token);
    expect(await new WebhookSubscriptionsRepository(h.db.pool).get(id)).toMatchObject({ state: 'registered', subscriptions: [{ kind: 'zoho-channel', id: channels[0]!.channel_id, expiresAt: channels[0]!.channel_expiry }] });
    await expectReachingPeerByWebhook(
      peer,
      id,
      () => String(zoho.admin.createAsUser('Contacts', { First_Name: 'Dorothy', Last_Name: 'Vaughan', Email: 'dorothy@consent.example' }).id),
      'dorothy@consent.example',
      () => zoho.counters.snapshot().webhooks.delivered,
    );
    const hosts = zoho.admin.hostCounts();
    expect(hosts[hostLabel('accounts', 'eu')]).toBeGreaterThan(0);
    expect(hosts[hostLabel('api', 'eu')]).toBeGreaterThan(0);
    expect([hosts[hostLabel('accounts', 'us')] ?? 0, hosts[hostLabel('api', 'us')] ?? 0]).toEqual([0, 0]);
  });

  it("Dynamics 365: the tenant-wide admin consent approved in Chromium makes the app's client credentials work; a new contact reaches the peer", async () => {
    const peer = await tenantWithPeer('hooli');
    const id = `${peer.tenantId}-dyn`;
    const dynamicsSettings = path.join(dir, 'dynamics-settings.json');
    writeFileSync(dynamicsSettings, JSON.stringify({ sync: SYNC, ca: dyn.tls!.ca }));
    const { url, title } = await connectInBrowser(peer.tenantId, id, 'dynamics', ['--org-url', dyn.url, '--settings-file', dynamicsSettings]);
    expect(url.origin + url.pathname).toBe(`${dyn.url}/organizations/v2.0/adminconsent`);
    expect(url.searchParams.get('scope')).toBe(`${dyn.url}/.default`);
    expect(title).toBe('Connected');
    expect(dyn.consent.decisions.allow).toBe(1);
    expect(await h.connectionsRepository.getConnection(id)).toMatchObject({ provider: 'dynamics', settings: { orgUrl: dyn.url, authorityHost: dyn.url } });
    expect(await h.connectionsRepository.loadCredentials(id)).toMatchObject({ tenantId: dyn.credentials.tenantId, clientId: dyn.credentials.clientId, authority: `${dyn.url}/${dyn.credentials.tenantId}` });
    // The callback registered a webhook service endpoint for this connection's shim route, with
    // asynchronous PostOperation steps on the contact table, through the Web API.
    const endpoints = dyn.admin.listRecords('serviceendpoints').filter((endpoint) => endpoint.url === `${shimUrl}/webhooks/dynamics/${id}`);
    expect(endpoints).toHaveLength(1);
    const steps = dyn.admin.listRecords('sdkmessageprocessingsteps').filter((step) => step._eventhandler_value === endpoints[0]!.serviceendpointid);
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(await new WebhookSubscriptionsRepository(h.db.pool).get(id)).toMatchObject({ state: 'registered' });
    await expectReachingPeerByWebhook(
      peer,
      id,
      () => String(dyn.admin.uiCreate('contacts', { firstname: 'Annie', lastname: 'Easley', emailaddress1: 'annie@consent.example' }).contactid),
      'annie@consent.example',
      () => dyn.counters.snapshot().webhooks.delivered,
    );
    // Disabling deletes the steps and the service endpoint crm-sync registered.
    const disabled = await cli(['connection', 'disable', id, '--yes']);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(dyn.admin.listRecords('serviceendpoints').filter((endpoint) => endpoint.url === `${shimUrl}/webhooks/dynamics/${id}`)).toEqual([]);
    expect(dyn.admin.listRecords('sdkmessageprocessingsteps').filter((step) => step._eventhandler_value === endpoints[0]!.serviceendpointid)).toEqual([]);
  });

  async function tokenRow(connectionId: string): Promise<{ ciphertext: Buffer; keyId: string }> {
    const rows = await h.db.pool.query<{ token: Buffer; token_key_id: string }>('SELECT token, token_key_id FROM connection_tokens WHERE connection_id = $1', [connectionId]);
    expect(rows.rows).toHaveLength(1);
    return { ciphertext: rows.rows[0]!.token, keyId: rows.rows[0]!.token_key_id };
  }

  describe('bad input: a precise answer, nothing stored', () => {
    let tenantId: string;
    beforeAll(async () => {
      tenantId = `bad-${randomBytes(3).toString('hex')}`;
      await h.connectionsRepository.addTenant(tenantId, 'Bad input');
    });

    /** `connection connect` through the CLI; the consent URL it printed. */
    const connectUrl = async (connectionId: string, provider: CrmProvider = 'salesforce'): Promise<string> => {
      const result = await cli(['connection', 'connect', tenantId, connectionId, '--provider', provider]);
      expect(result.code, result.stderr).toBe(0);
      return /^(https?:\/\/\S+)$/m.exec(result.stdout)![1]!;
    };
    /** A plain HTTP client at the consent page: the form's fields, posted with Allow or Deny; the redirect (not followed). */
    const decide = async (consentUrl: string, decision: 'allow' | 'deny'): Promise<URL> => {
      const page = await fetch(consentUrl);
      expect(page.status).toBe(200);
      const html = await page.text();
      const fields = new URLSearchParams();
      for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields.set(unescape(name!), unescape(value!));
      fields.set('decision', decision);
      const action = new URL(/<form method="post" action="([^"]+)"/.exec(html)![1]!, consentUrl);
      const answer = await fetch(action, { method: 'POST', body: fields, redirect: 'manual' });
      expect(answer.status).toBe(302);
      const location = new URL(answer.headers.get('location')!);
      if (location.searchParams.get('code')) codes.add(location.searchParams.get('code')!);
      return location;
    };
    const callback = async (target: URL): Promise<{ status: number; text: string }> => {
      const answer = await fetch(target);
      return { status: answer.status, text: message(await answer.text()) };
    };
    const nothingStored = async (connectionId: string): Promise<void> => {
      expect(await h.connectionsRepository.getConnection(connectionId)).toBeUndefined();
    };

    it('a tampered state is refused (400) before anything is used; the untouched callback then connects, and replaying it is refused (400)', async () => {
      const id = `${tenantId}-tamper`;
      const redirect = await decide(await connectUrl(id), 'allow');
      const state = redirect.searchParams.get('state')!;
      const [body, mac] = state.split('.');
      const claims = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>;
      const forged = new URL(redirect);
      forged.searchParams.set('state', `${Buffer.from(JSON.stringify({ ...claims, c: `${id}-evil` })).toString('base64url')}.${mac}`);
      expect(await callback(forged)).toEqual({ status: 400, text: 'The state parameter was altered: its signature does not match. Nothing was stored; start again with `crm-sync connection connect`.' });
      await nothingStored(`${id}-evil`);
      await nothingStored(id);

      const connected = await callback(redirect);
      expect(connected.status).toBe(200);
      expect(connected.text).toContain(`Connection ${id} (salesforce) was added`);
      const before = await h.connectionsRepository.loadCredentials(id);
      expect(await callback(redirect)).toEqual({ status: 400, text: 'This consent link was already used. Nothing was stored; start again with `crm-sync connection connect`.' });
      // What was accepted stays as it was.
      expect(await h.connectionsRepository.loadCredentials(id)).toEqual(before);
    });

    it('an expired state is refused (400): the shim 11 minutes later', async () => {
      const id = `${tenantId}-late`;
      const redirect = await decide(await connectUrl(id), 'allow');
      const later = buildShimApp({
        readiness: {},
        oauth: callbackDependencies({ startWorkflow: async () => undefined, now: () => Date.now() + 11 * 60_000 }),
      });
      try {
        const answer = await later.inject({ method: 'GET', url: `${redirect.pathname}${redirect.search}` });
        expect([answer.statusCode, message(answer.body)]).toEqual([400, 'This consent link expired (links are valid for 10 minutes). Nothing was stored; start again with `crm-sync connection connect`.']);
      } finally {
        await later.close();
      }
      await nothingStored(id);
    });

    it('consent denied: the vendor redirects with access_denied, the page says so (403)', async () => {
      const id = `${tenantId}-deny`;
      const redirect = await decide(await connectUrl(id), 'deny');
      expect(redirect.searchParams.get('error')).toBe('access_denied');
      expect(await callback(redirect)).toEqual({
        status: 403,
        text: `Access was not granted: access_denied: end-user denied authorization. Connection ${id} was not created; run \`crm-sync connection connect\` again.`,
      });
      await nothingStored(id);
    });

    /** The code of `codeFrom` presented with the state of a fresh consent for `id`: the vendor's refusal, and nothing stored. */
    const refusedUnderAnotherConsent = async (codeFrom: URL, id: string, vendorError: string): Promise<void> => {
      const fresh = await decide(await connectUrl(id), 'deny');
      const presented = new URL(codeFrom);
      presented.searchParams.set('state', fresh.searchParams.get('state')!);
      expect(await callback(presented)).toEqual({
        status: 400,
        text: `The vendor refused the authorization code (already used, expired, or issued for another request): ${vendorError}. Connection ${id} was not created; run \`crm-sync connection connect\` again.`,
      });
      await nothingStored(id);
    };

    it('a code already used is refused by the vendor (invalid_grant, 400)', async () => {
      const used = await decide(await connectUrl(`${tenantId}-first`), 'allow');
      expect((await callback(used)).status).toBe(200);
      await refusedUnderAnotherConsent(used, `${tenantId}-reuse`, 'invalid_grant: invalid authorization code');
    });

    it("a code presented with another consent's PKCE verifier is refused (invalid_grant, 400)", async () => {
      // An intercepted code injected into the attacker's own consent: its verifier is not the victim's.
      const victim = await decide(await connectUrl(`${tenantId}-victim`), 'allow');
      await refusedUnderAnotherConsent(victim, `${tenantId}-inject`, 'invalid_grant: invalid code verifier');
    });

    it('Zoho: consent at the US accounts server for an EU account is refused as the wrong region (400) before any token request', async () => {
      const id = `${tenantId}-zoho-us`;
      const result = await cli(['connection', 'connect', tenantId, id, '--provider', 'zoho', '--region', 'us']);
      expect(result.code, result.stderr).toBe(0);
      const redirect = await decide(/^(https?:\/\/\S+)$/m.exec(result.stdout)![1]!, 'allow');
      expect([redirect.searchParams.get('location'), redirect.searchParams.get('accounts-server')]).toEqual(['eu', zoho.regions.eu!.accountsUrl]);
      const hostsBefore = zoho.admin.hostCounts();
      expect(await callback(redirect)).toEqual({
        status: 400,
        text: `The account is in another data centre: the Zoho account is in the "eu" data centre, not "us"; run connect with --region eu. Connection ${id} was not created; run \`crm-sync connection connect\` again.`,
      });
      // No token request anywhere: the code was not sent to any accounts server.
      expect(zoho.admin.hostCounts()).toEqual(hostsBefore);
      await nothingStored(id);
    });

    it('a callback without state, for an unknown provider, or for an app not configured is refused', async () => {
      expect(await callback(new URL(`${shimUrl}/oauth/salesforce/callback?code=abc`))).toEqual({ status: 400, text: 'The callback carries no state parameter: start again with `crm-sync connection connect`.' });
      expect(await callback(new URL(`${shimUrl}/oauth/sugarcrm/callback?code=abc&state=x`))).toEqual({ status: 404, text: 'No OAuth app is configured for "sugarcrm".' });
      expect((await callback(new URL(`${shimUrl}/oauth/salesforce/callback?code=abc&state=garbage`))).status).toBe(400);
    });

    it('connect refuses bad arguments with one line and the documented exit code, storing nothing', async () => {
      const [unknownTenant, exists, noApp, badRegion, zohoRegion, noOrgUrl, noPublicUrl, halfApp] = await Promise.all([
        cli(['connection', 'connect', 'no-such-tenant', 'x-1', '--provider', 'salesforce']),
        cli(['connection', 'connect', tenantId, `${tenantId}-tamper`, '--provider', 'salesforce']),
        cli(['connection', 'connect', tenantId, 'x-2', '--provider', 'pipedrive'], { CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_ID: '', CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_SECRET: '' }),
        cli(['connection', 'connect', tenantId, 'x-3', '--provider', 'salesforce', '--region', 'eu']),
        cli(['connection', 'connect', tenantId, 'x-4', '--provider', 'zoho', '--region', 'mars']),
        cli(['connection', 'connect', tenantId, 'x-5', '--provider', 'dynamics']),
        cli(['connection', 'connect', tenantId, 'x-6', '--provider', 'hubspot'], { SHIM_PUBLIC_URL: '' }),
        cli(['connection', 'connect', tenantId, 'x-7', '--provider', 'hubspot'], { CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET: '' }),
      ]);
      expect([unknownTenant.code, unknownTenant.stderr.trim()]).toEqual([3, 'crm-sync: unknown tenant "no-such-tenant" (add it first: crm-sync tenant add no-such-tenant)']);
      expect([exists.code, exists.stderr.trim()]).toEqual([1, `crm-sync: connection "${tenantId}-tamper" already exists (to replace its credentials: crm-sync connection reauthorise ${tenantId}-tamper)`]);
      expect([noApp.code, noApp.stderr.trim()]).toEqual([78, 'crm-sync: no OAuth app is configured for pipedrive: set CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_ID and CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_SECRET (see the README, "Connect your CRM")']);
      expect([badRegion.code, badRegion.stderr.trim()]).toEqual([2, 'crm-sync: --region is for Zoho only: a Salesforce org is found through its login URL']);
      expect([zohoRegion.code, zohoRegion.stderr.trim()]).toEqual([2, 'crm-sync: --region must be one of us, eu, in, au, jp, ca, cn for Zoho, got "mars"']);
      expect([noOrgUrl.code, noOrgUrl.stderr.trim()]).toEqual([2, 'crm-sync: Dynamics needs --org-url https://<org>.crm.dynamics.com (the environment URL)']);
      expect([noPublicUrl.code, noPublicUrl.stderr.trim()]).toEqual([78, 'crm-sync: SHIM_PUBLIC_URL is not set: the vendor must redirect to the shim at <SHIM_PUBLIC_URL>/oauth/<provider>/callback']);
      expect([halfApp.code, halfApp.stderr.trim()]).toEqual([78, 'crm-sync: invalid configuration: CRM_SYNC_OAUTH_HUBSPOT_CLIENT_ID and CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET must be set together']);
      // The secret of the half-configured app is not quoted anywhere.
      expect(halfApp.stderr).not.toContain(hs.credentials.clientId);
      const consents = await h.db.pool.query('SELECT connection_id FROM oauth_consents WHERE connection_id = ANY($1)', [['x-1', 'x-2', 'x-3', 'x-4', 'x-5', 'x-6', 'x-7']]);
      expect(consents.rows).toEqual([]);
    });
  });

  it('leaves no client secret, code, PKCE verifier or token in PostgreSQL, the logs or the Temporal history', async () => {
    const secrets: KnownSecret[] = [
      knownSecret('Salesforce client secret', sf.credentials.clientSecret),
      knownSecret('HubSpot client secret', hs.credentials.clientSecret),
      knownSecret('HubSpot developer API key', hs.credentials.developerApiKey),
      knownSecret('Pipedrive client secret', pd.credentials.clientSecret),
      knownSecret('Zoho client secret', zoho.credentials.clientSecret),
      knownSecret('Dynamics client secret', dyn.credentials.clientSecret!),
    ];
    for (const code of codes) secrets.push(knownSecret(`authorization code ${code.slice(0, 6)}…`, code));
    const consents = await h.db.pool.query<{ id: string; secret: Buffer; secret_key_id: string }>('SELECT id, secret, secret_key_id FROM oauth_consents');
    for (const row of consents.rows) {
      const { codeVerifier } = cipher.open({ ciphertext: row.secret, keyId: row.secret_key_id }, consentBinding(row.id)) as { codeVerifier: string | null };
      if (codeVerifier) secrets.push(knownSecret(`PKCE verifier of consent ${row.id}`, codeVerifier));
    }
    const connections = await h.db.pool.query<{ id: string }>('SELECT id FROM connections');
    for (const { id } of connections.rows) {
      const credentials = await h.connectionsRepository.loadCredentials(id);
      for (const field of ['refreshToken', 'clientSecret', 'apiToken'] as const) {
        if (typeof credentials[field] === 'string') secrets.push(knownSecret(`${id} ${field}`, credentials[field]));
      }
      // The webhook delivery secrets the product generated (Basic-auth password, channel token).
      for (const [field, value] of Object.entries((credentials.webhook ?? {}) as Record<string, unknown>)) {
        if (field !== 'user' && typeof value === 'string') secrets.push(knownSecret(`${id} webhook ${field}`, value));
      }
    }
    const tokens = await h.db.pool.query<{ connection_id: string; token: Buffer; token_key_id: string }>('SELECT connection_id, token, token_key_id FROM connection_tokens');
    for (const row of tokens.rows) {
      const token = cipher.open({ ciphertext: row.token, keyId: row.token_key_id }, tokenBinding(row.connection_id)) as ConnectionToken;
      secrets.push(knownSecret(`${row.connection_id} access token`, token.accessToken));
      if (token.refreshToken) secrets.push(knownSecret(`${row.connection_id} refresh token`, token.refreshToken));
    }
    // Not vacuous: codes were seen, consents with verifiers exist, consented connections renewed tokens.
    expect(codes.size).toBeGreaterThanOrEqual(5);
    expect(secrets.filter((secret) => secret.name.startsWith('PKCE verifier')).length).toBeGreaterThanOrEqual(5);
    expect(tokens.rows.length).toBeGreaterThanOrEqual(2);
    expect(secrets.filter((secret) => secret.name.includes(' webhook ')).length).toBeGreaterThanOrEqual(2);

    const histories = await dumpHistories(h.client, `TaskQueue = "${h.taskQueue}"`);
    const places = {
      'PostgreSQL (every table of the schema as JSON rows)': await dumpSchema(h.db.pool, h.db.schema),
      'the CLI output (stdout and stderr)': cliOutput.join('\n'),
      "the shim's log": shimLog,
      'the Temporal history of every workflow (raw JSON, payloads decoded)': histories.text,
    };
    expect(places['PostgreSQL (every table of the schema as JSON rows)']).toContain('oauth_consents');
    expect(shimLog).toContain('oauth callback');
    expect(histories.workflowIds.length).toBeGreaterThanOrEqual(2);
    expect(findLeaks(places, secrets)).toEqual([]);
  });
});

/** The page's message paragraph, as text. */
function message(html: string): string {
  return unescape(/<p id="message">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? html);
}

function unescape(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

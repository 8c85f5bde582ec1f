import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotDeveloperApp, startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../src/sandbox/pipedrive';
import { WebhookSubscriptionsRepository } from '../../src/store/webhook-subscriptions-repository';
import { temporalSignalConnection } from '../../src/webhooks/signal';
import { syncStatusQuery } from '../../src/workflows/messages';
import { cliEnvironment, runCli } from '../cli/support';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

const SYNC = { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 };

interface Tenant {
  tenantId: string;
  hubspotId: string;
  portal: HubSpotSandbox;
  peerId: string;
  peer: PipedriveSandbox;
}

/**
 * Issue #15, HubSpot's app-level webhooks with more than one customer: two tenants, each with its
 * own HubSpot portal (two sandboxes sharing one developer app: one target URL, one set of
 * subscriptions, every delivery signed with the app's client secret [H84][H86]) synced to its own
 * Pipedrive. Subscribed through the spawned CLI, both portals deliver to the shim's one per-app
 * route, and each change reaches its own tenant's peer only, carried by the webhook (nobody
 * signals, the hourly poll does not run again). Disabling one connection keeps what the other
 * still uses; disabling the last leaves nothing at the app.
 */
describe('HubSpot app webhooks shared by several portals', { timeout: 300_000 }, () => {
  const key = randomBytes(32);
  let h: SyncHarness;
  let env: NodeJS.ProcessEnv;
  const developerApp = createHubSpotDeveloperApp();
  const tenants: Tenant[] = [];
  let acme: Tenant;
  let globex: Tenant;

  const appApi = (resource: string, portal: HubSpotSandbox = acme.portal) => fetch(`${portal.url}/webhooks/v3/${developerApp.appId}/${resource}?hapikey=${developerApp.developerApiKey}`);
  const appSubscriptions = async (): Promise<{ id: string; eventType: string }[]> => ((await (await appApi('subscriptions')).json()) as { results: { id: string; eventType: string }[] }).results;
  const status = (tenant: Tenant, connectionId: string) => h.client.workflow.getHandle(`sync:${tenant.tenantId}:${connectionId}`).query(syncStatusQuery);
  const emails = (tenant: Tenant): string[] => tenant.peer.admin.listRecords('persons').flatMap((person) => ((person.emails ?? []) as { value: string }[]).map((entry) => entry.value));
  const delivered = (tenant: Tenant): number => tenant.portal.counters.snapshot().webhooks.delivered;

  const addTenant = async (name: string, portalId: number): Promise<Tenant> => {
    const tenantId = `${name}-${randomBytes(3).toString('hex')}`;
    await h.connectionsRepository.addTenant(tenantId, name);
    const portal = await startHubSpotSandbox({ limits: false, portalId, developerApp });
    const peer = await startPipedriveSandbox({ limits: false });
    const tenant = { tenantId, hubspotId: `${tenantId}-hs`, portal, peerId: `${tenantId}-pd`, peer };
    tenants.push(tenant);
    const { clientId, clientSecret, refreshToken } = portal.credentials;
    await h.connectionsRepository.addConnection({
      id: tenant.hubspotId,
      tenantId,
      provider: 'hubspot',
      settings: { basePath: portal.url, sync: SYNC },
      credentials: { kind: 'oauth', clientId, clientSecret, refreshToken, webhookApp: { appId: developerApp.appId, developerApiKey: developerApp.developerApiKey } },
    });
    await h.connectionsRepository.addConnection({ id: tenant.peerId, tenantId, provider: 'pipedrive', settings: { apiDomain: peer.url, sync: SYNC }, credentials: { kind: 'api-token', apiToken: peer.credentials.apiToken } });
    return tenant;
  };

  /** Both workflows of the tenant run and have polled once, so what follows is new to them. */
  const started = async (tenant: Tenant): Promise<void> => {
    const signal = temporalSignalConnection({ client: h.client, taskQueue: h.taskQueue, timeoutMs: 10_000 });
    for (const id of [tenant.hubspotId, tenant.peerId]) {
      await signal({ tenantId: tenant.tenantId, connectionId: id }, { events: [] });
      await expect.poll(async () => (await status(tenant, id)).watermarks.contact !== undefined, { timeout: 90_000, interval: 250 }).toBe(true);
    }
  };

  /** A contact made by a person in the tenant's portal reaches its own peer through the app's webhook, and no other tenant's. */
  const reachesOwnPeerByWebhook = async (tenant: Tenant, email: string): Promise<void> => {
    const polledAt = (await status(tenant, tenant.hubspotId)).lastPolledAt;
    const before = delivered(tenant);
    tenant.portal.admin.createAsUser('contacts', { firstname: 'Ada', lastname: tenant.tenantId, email });
    await expect.poll(() => emails(tenant), { timeout: 60_000, interval: 250 }).toContain(email);
    expect(delivered(tenant)).toBeGreaterThan(before);
    expect((await status(tenant, tenant.hubspotId)).lastPolledAt).toBe(polledAt);
    for (const other of tenants) if (other !== tenant) expect(emails(other)).not.toContain(email);
  };

  beforeAll(async () => {
    h = await startSyncHarness({ crms: [], shim: true, encryptionKey: { id: 'k1', key } });
    env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` }, { SHIM_PUBLIC_URL: h.shimUrl });
    acme = await addTenant('acme', 101_001);
    globex = await addTenant('globex', 202_002);
  }, 180_000);

  afterAll(async () => {
    await h?.stop();
    await Promise.all(tenants.flatMap((tenant) => [tenant.portal.stop(), tenant.peer.stop()]));
  });

  it("subscribes both portals' connections to the app's one per-app target, doubling nothing; each change reaches its own tenant's peer by webhook", async () => {
    const route = `${h.shimUrl}/webhooks/hubspot/app/${developerApp.appId}`;
    const first = await runCli(['connection', 'subscribe', acme.hubspotId], env);
    expect(first.code, first.stderr).toBe(0);
    const registrations = new WebhookSubscriptionsRepository(h.db.pool);
    const acmeRegistration = await registrations.get(acme.hubspotId);
    expect(acmeRegistration).toMatchObject({ state: 'registered', callbackUrl: route, dispatchKey: `${developerApp.appId}:101001` });
    const count = acmeRegistration!.subscriptions.length;
    expect(first.stdout).toBe(`connection ${acme.hubspotId}: Webhooks registered: ${count} subscription(s) delivering to ${route}.\n`);
    const subscriptionsBefore = await appSubscriptions();

    const second = await runCli(['connection', 'subscribe', globex.hubspotId], env);
    expect([second.code, second.stdout]).toEqual([0, `connection ${globex.hubspotId}: Webhooks registered: ${count} subscription(s) delivering to ${route}.\n`]);
    expect(await registrations.get(globex.hubspotId)).toMatchObject({ state: 'registered', callbackUrl: route, dispatchKey: `${developerApp.appId}:202002` });
    // One app: the second portal's connection reuses every subscription, read through its own host.
    expect(await appSubscriptions()).toEqual(subscriptionsBefore);
    expect(((await (await appApi('settings', globex.portal)).json()) as { targetUrl: string }).targetUrl).toBe(route);

    await started(acme);
    await started(globex);
    await reachesOwnPeerByWebhook(acme, 'ada@acme.example');
    await reachesOwnPeerByWebhook(globex, 'ada@globex.example');

    const shown = await runCli(['sync', 'status', globex.hubspotId], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`keyed ${developerApp.appId}:202002`);
  });

  it("disabling one portal's connection keeps what the other uses; disabling the last removes the app's subscriptions and target", async () => {
    const subscriptionsBefore = await appSubscriptions();
    const count = subscriptionsBefore.length + 1;
    const first = await runCli(['connection', 'disable', acme.hubspotId, '--yes'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`connection ${acme.hubspotId} disabled: 0 webhook subscription(s) removed (${count} kept: other connections of the same app still receive through them), workflow stopped`);
    expect(await appSubscriptions()).toEqual(subscriptionsBefore);
    await reachesOwnPeerByWebhook(globex, 'grace@globex.example');

    const last = await runCli(['connection', 'disable', globex.hubspotId, '--yes'], env);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toContain(`connection ${globex.hubspotId} disabled: ${count} webhook subscription(s) removed, workflow stopped`);
    expect(await appSubscriptions()).toEqual([]);
    expect((await appApi('settings')).status).toBe(404);
  });
});

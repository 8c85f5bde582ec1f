import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionsRepository } from '../../src/store/connections-repository';
import { buildShimApp } from '../../src/webhooks/app';
import { isAck, outboundMessage, salesforceOrgId, startWebhookFixture, type WebhookFixture } from './support';

const TTL_MS = 3_000;

/**
 * The shim's per-connection cache of the connection row and unsealed webhook credentials, against
 * real PostgreSQL and Temporal, through the Salesforce route (whose credential is the org id an
 * Outbound Message must carry): deliveries within the TTL cost no load, a connection re-pointed
 * to another org (reauthorise) accepts that org's messages at once, the old org is refused once
 * the TTL has passed, and messages from other orgs neither get cached as valid nor turn into a
 * load each.
 */
describe('webhook secret cache', () => {
  let f: WebhookFixture;
  let app: FastifyInstance;
  let url: string;
  const loads = { rows: 0, unseals: 0 };
  // The cache's clock stands still unless a test moves it: a busy machine taking seconds over the
  // deliveries cannot expire an entry or open another reload.
  let now = Date.now();

  beforeAll(async () => {
    f = await startWebhookFixture();
    // The real repository, counted.
    const connections: Pick<ConnectionsRepository, 'getConnection' | 'loadCredentials'> = {
      getConnection: (id) => {
        loads.rows += 1;
        return f.connections.getConnection(id);
      },
      loadCredentials: (id) => {
        loads.unseals += 1;
        return f.connections.loadCredentials(id);
      },
    };
    app = buildShimApp({ readiness: {}, webhooks: { connections, signal: { client: f.client, taskQueue: f.taskQueue }, secretCacheTtlMs: TTL_MS, secretCacheNow: () => now } });
    url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/webhooks/salesforce/${f.ids.salesforce}`;
  });
  afterAll(async () => {
    await app?.close();
    await f?.stop();
  });

  const post = async (organizationId: string, eventId: string): Promise<{ status: number; code?: string; acked: boolean }> => {
    const message = outboundMessage(organizationId, [{ id: eventId }]);
    const response = await fetch(url, { method: 'POST', headers: message.headers, body: message.body });
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
    return { status: response.status, acked: isAck(text), ...(json ? (JSON.parse(text) as { code?: string }) : {}) };
  };
  const acked = { status: 200, acked: true };

  it('loads once for concurrent and repeated deliveries, takes a new org at once and drops the old one within the TTL', async () => {
    const oldOrg = f.secrets.salesforce;
    const first = await Promise.all(Array.from({ length: 20 }, (_, index) => post(oldOrg, `cached-${index}`)));
    expect(first).toEqual(first.map(() => acked));
    expect(loads).toEqual({ rows: 1, unseals: 1 });

    // Other orgs: refused, and not a load each (a mismatch reloads at most once a second).
    const forged = await Promise.all(Array.from({ length: 10 }, (_, index) => post(salesforceOrgId(), `forged-${index}`)));
    expect(forged.map((answer) => `${answer.status} ${answer.code}`)).toEqual(forged.map(() => '401 organization_mismatch'));
    expect(loads.rows).toBeLessThanOrEqual(2);

    // Reauthorise against another org: its Outbound Messages arrive from now on.
    const newOrg = salesforceOrgId();
    await f.connections.replaceCredentials(f.ids.salesforce, { webhook: { organizationId: newOrg } });
    now += 1_100;
    const beforeNew = loads.rows;
    expect(await post(newOrg, 'new-org-1')).toEqual(acked);
    expect(loads.rows).toBe(beforeNew + 1);
    const burst = await Promise.all(Array.from({ length: 10 }, (_, index) => post(salesforceOrgId(), `forged-again-${index}`)));
    expect(burst.every((answer) => answer.status === 401)).toBe(true);
    expect(loads.rows - beforeNew).toBeLessThanOrEqual(3);

    // The old org is refused once the cache entry has expired (here at once: the reload replaced it).
    expect(await post(oldOrg, 'old-org-after')).toMatchObject({ status: 401, code: 'organization_mismatch' });
    now += TTL_MS;
    expect(await post(oldOrg, 'old-org-after-ttl')).toMatchObject({ status: 401, code: 'organization_mismatch' });
    expect(await post(newOrg, 'new-org-2')).toEqual(acked);

    const eventIds = (await f.signals(f.ids.salesforce)).flatMap((notices) => notices.events.map((event) => event.eventId));
    expect(eventIds.filter((id) => !id!.startsWith('cached-'))).toEqual(['new-org-1', 'new-org-2']);
    expect(eventIds.filter((id) => id!.startsWith('cached-')).sort()).toEqual(first.map((_, index) => `cached-${index}`).sort());
  });

  it('a disabled connection is refused within the TTL (not at once), and an unknown connection id is not cached', async () => {
    await f.connections.setStatus(f.ids.salesforce, 'disabled');
    now += TTL_MS;
    const signed = outboundMessage(f.secrets.salesforce, [{}]);
    const response = await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'unknown_connection' });

    const rowsBefore = loads.rows;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const unknown = await fetch(url.replace(f.ids.salesforce, 'no-such-connection'), { method: 'POST', headers: signed.headers, body: signed.body });
      expect(unknown.status).toBe(404);
    }
    expect(loads.rows - rowsBefore).toBe(3);
  });
});

import type { Queryable } from '../store/database';
import type { ConnectionsRepository, NewConnection } from '../store/connections-repository';
import type { DemoSandboxes } from './demo-sandboxes';

export const DEMO_TENANT = 'demo';
export const DEMO_CONNECTIONS = { salesforce: 'demo-salesforce', hubspot: 'demo-hubspot' } as const;

/**
 * Companies before contacts (a contact's company must be linked first). Polling every minute
 * is the safety net; webhooks carry live edits within about a second.
 */
export const DEMO_SYNC_OBJECTS = ['company', 'contact'] as const;
const demoSync = { objects: DEMO_SYNC_OBJECTS, pollIntervalMs: 60_000, debounceMs: 300 };

export interface DemoTenant {
  tenantId: string;
  salesforceId: string;
  hubspotId: string;
  /** True when a previous `npm start` had stored them (their settings and credentials are refreshed). */
  reused: boolean;
}

/** The demo tenant's two connections as stored: URLs in settings, secrets in sealed credentials. */
export function demoConnections(sandboxes: Pick<DemoSandboxes, 'salesforce' | 'hubspot'>): NewConnection[] {
  const sf = sandboxes.salesforce.credentials;
  const hs = sandboxes.hubspot.credentials;
  return [
    {
      id: DEMO_CONNECTIONS.salesforce,
      tenantId: DEMO_TENANT,
      provider: 'salesforce',
      settings: { instanceUrl: sf.instanceUrl, loginUrl: sf.loginUrl, sync: demoSync },
      credentials: { grant: 'refresh_token', clientId: sf.clientId, clientSecret: sf.clientSecret, refreshToken: sf.refreshToken, webhook: { organizationId: sf.organizationId } },
    },
    {
      id: DEMO_CONNECTIONS.hubspot,
      tenantId: DEMO_TENANT,
      provider: 'hubspot',
      settings: { basePath: sandboxes.hubspot.url, sync: demoSync },
      credentials: { kind: 'oauth', clientId: hs.clientId, clientSecret: hs.clientSecret, refreshToken: hs.refreshToken, webhook: { secret: hs.webhookClientSecret } },
    },
  ];
}

/**
 * Stores tenant `demo` with its Salesforce and HubSpot connections, or reuses them from a previous
 * run. The sandboxes are new on every start, so a reused connection gets the new URLs and
 * credentials, and the record links to the previous sandboxes' records are forgotten: they
 * name records that no longer exist. Both connections are left paused, as an operator connecting
 * a company would keep them until the backfill is done: the supervisor may start their workflows
 * meanwhile, but they do not sync yet.
 */
export async function ensureDemoTenant(db: Queryable, connections: ConnectionsRepository, sandboxes: Pick<DemoSandboxes, 'salesforce' | 'hubspot'>): Promise<DemoTenant> {
  let reused = (await connections.listTenants()).some((tenant) => tenant.id === DEMO_TENANT);
  if (!reused) await connections.addTenant(DEMO_TENANT, 'Demo tenant (npm start)');
  for (const connection of demoConnections(sandboxes)) {
    const existing = await connections.getConnection(connection.id);
    if (!existing) {
      await connections.addConnection(connection);
      await connections.setStatus(connection.id, 'paused');
      continue;
    }
    if (existing.tenantId !== DEMO_TENANT) throw new Error(`connection "${connection.id}" belongs to tenant "${existing.tenantId}", not the demo's: remove it or use another database`);
    reused = true;
    await connections.updateSettings(connection.id, connection.settings);
    await connections.replaceCredentials(connection.id, connection.credentials);
    await connections.setStatus(connection.id, 'paused');
  }
  if (reused) {
    await db.query('DELETE FROM record_links WHERE tenant_id = $1', [DEMO_TENANT]);
    await db.query('DELETE FROM conflicts WHERE tenant_id = $1', [DEMO_TENANT]);
  }
  return { tenantId: DEMO_TENANT, salesforceId: DEMO_CONNECTIONS.salesforce, hubspotId: DEMO_CONNECTIONS.hubspot, reused };
}

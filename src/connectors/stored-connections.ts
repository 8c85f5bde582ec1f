import type pg from 'pg';
import { z } from 'zod';
import type { CrmProvider } from '../model/identifiers';
import type { ConnectionTokensRepository } from '../store/connection-tokens-repository';
import type { ConnectionsRepository } from '../store/connections-repository';
import type { CrmConnector } from './connector';
import type { ConnectorBaseOptions } from './connector-options';
import type { ConnectorRegistry } from './registry';

/**
 * Builds each connection's connector from what is stored: provider, non-secret settings
 * (validated here, with the path of any bad value) and credentials, unsealed only at this point
 * and never returned to a workflow. One connector per connection per worker, so its rate budget is
 * shared by every activity on the worker; its OAuth tokens are shared by every worker through
 * `tokens` (one refresh per expiry across all of them, a rotated refresh token stored before use).
 */

const url = z.string().url();
const mappingOverride = z.unknown().optional();

/**
 * The connection's own request budget (settings.rateLimits), replacing its vendor's default
 * windows: a HubSpot Professional portal's 190 per 10 s instead of Free/Starter's 100, an org's
 * own allocation. Same fields as the connector's `rateLimits` option (rate-budget.ts).
 */
const rateLimitsSetting = z.object({
  rateLimits: z
    .array(
      z
        .object({
          name: z.string().min(1),
          limit: z.number().int().positive(),
          windowMs: z.number().int().positive(),
          reserve: z.number().min(0).lt(1).optional(),
          quota: z.boolean().optional(),
          guardMs: z.number().int().min(0).optional(),
        })
        .strict(),
    )
    .nonempty()
    .optional(),
});

/** Change Data Capture over the Pub/Sub API (connectors/salesforce/change-events/feed.ts): where, and which channel. */
const salesforcePubSub = z.object({ endpoint: z.string().regex(/^[^\s:/]+:\d+$/, 'must be host:port').optional(), tls: z.boolean().optional(), topic: z.string().startsWith('/data/').optional(), organizationId: z.string().regex(/^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/, 'must be an org id (00D…)').optional() }).strict();
const salesforceSettings = z.object({ instanceUrl: url, loginUrl: url.optional(), clientName: z.string().optional(), pubSub: salesforcePubSub.optional(), mappingOverride });
const salesforceCredentials = z.discriminatedUnion('grant', [
  z.object({ grant: z.literal('refresh_token'), clientId: z.string().min(1), clientSecret: z.string().min(1), refreshToken: z.string().min(1) }),
  z.object({ grant: z.literal('client_credentials'), clientId: z.string().min(1), clientSecret: z.string().min(1) }),
]);

/** The webhooks journal (connectors/hubspot/journal/feed.ts): which portal's journal is read. */
const hubspotJournal = z.object({ portalId: z.number().int().positive() }).strict();
const hubspotSettings = z.object({ basePath: url.optional(), journal: hubspotJournal.optional(), mappingOverride });
/** The app whose client-credentials token reads the journal, when it is not the connection's OAuth app. */
const journalApp = z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) }).optional();
/** The public app's id and developer API key: the connector sets the app's webhooks itself (connectors/hubspot/webhook-subscriptions.ts). */
const webhookApp = z.object({ appId: z.number().int().positive(), developerApiKey: z.string().min(1), clientSecret: z.string().min(1).optional() }).strict().optional();
const hubspotCredentials = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('private-app'), accessToken: z.string().min(1), journalApp, webhookApp }),
  z.object({ kind: z.literal('oauth'), clientId: z.string().min(1), clientSecret: z.string().min(1), refreshToken: z.string().min(1), tokenUrl: url.optional(), journalApp, webhookApp }),
]);

const dynamicsSettings = z.object({ orgUrl: url, serviceRoot: url.optional(), authorityHost: url.optional(), ca: z.string().optional(), mappingOverride });
const dynamicsCredentials = z.object({
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  authority: url.optional(),
  scope: z.string().optional(),
});

// Pipedrive: the company's API domain (OAuth's api_domain); custom field keys are per company.
const pipedriveSettings = z.object({
  apiDomain: url,
  syncIdFieldKeys: z.partialRecord(z.enum(['contact', 'company', 'deal', 'activity']), z.string().regex(/^[0-9a-f]{40}$/, 'must be a 40-character custom field key')).optional(),
  syncIdFieldName: z.string().min(1).optional(),
  mappingOverride,
});
const pipedriveCredentials = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('api-token'), apiToken: z.string().min(1) }),
  z.object({ kind: z.literal('oauth'), clientId: z.string().min(1), clientSecret: z.string().min(1), refreshToken: z.string().min(1), tokenUrl: url.optional() }),
]);

// Zoho: the data centre and accounts server the consent redirect named; the API domain follows the token [Z1].
const zohoSettings = z.object({
  region: z.enum(['us', 'eu', 'in', 'au', 'jp', 'ca', 'cn']),
  accountsServer: url.optional(),
  apiDomain: url.optional(),
  syncIdField: z.string().min(1).optional(),
  /** How long each notification channel lasts before the workflow renews it (at most a week [Z53]). */
  webhookChannelLifetimeMs: z.number().int().min(1000).max(7 * 86_400_000).optional(),
  mappingOverride,
});
const zohoCredentials = z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1), refreshToken: z.string().min(1) });

const settingsSchemas: Record<CrmProvider, z.ZodType> = {
  salesforce: salesforceSettings,
  hubspot: hubspotSettings,
  dynamics: dynamicsSettings,
  pipedrive: pipedriveSettings,
  zoho: zohoSettings,
};

/** Each problem of a provider's stored settings (`path: message`), as building its connector would meet them. */
export function connectionSettingsIssues(provider: CrmProvider, settings: Record<string, unknown>): string[] {
  const parsed = settingsSchemas[provider].safeParse(settings);
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.') || 'settings'}: ${issue.message}`);
}

export interface StoredConnectionRegistryOptions {
  connections: ConnectionsRepository;
  /** Shared rate-budget counters. */
  pool?: pg.Pool | undefined;
  /**
   * Where every worker shares each connection's tokens (the worker always passes it). Without it a
   * connector keeps its tokens to itself: fine for a one-off check, but a refresh token a vendor
   * rotates is then lost with the process.
   */
  tokens?: ConnectionTokensRepository | undefined;
  /** Applied to every connector (tests shorten timeouts with it). */
  defaults?: Partial<Omit<ConnectorBaseOptions, 'connectionId' | 'mappingOverride' | 'pool' | 'tokenStore'>>;
}

export class InvalidConnectionError extends Error {
  constructor(connectionId: string, part: 'settings' | 'credentials', issues: readonly { path: readonly PropertyKey[]; message: string }[]) {
    // Credential issues name the path only: the message may quote the (secret) value.
    super(`connection ${connectionId} has invalid ${part}: ${issues.map((issue) => (part === 'credentials' ? issue.path.join('.') || part : `${issue.path.join('.')}: ${issue.message}`)).join('; ')}`);
    this.name = 'InvalidConnectionError';
  }
}

export function createStoredConnectionRegistry(options: StoredConnectionRegistryOptions): ConnectorRegistry {
  const built = new Map<string, { version: number; connector: Promise<CrmConnector> }>();
  return {
    async forConnection(connectionId) {
      // One primary-key read per call: a changed mapping, re-authorised credentials or any other
      // edit of the connection takes effect on the next activity, without restarting workers.
      const connection = await options.connections.getConnection(connectionId);
      if (!connection) throw new Error(`unknown connection "${connectionId}"`);
      const version = connection.updatedAt.getTime();
      const cached = built.get(connectionId);
      if (cached && cached.version === version) return cached.connector;
      const connector = build(options, connectionId);
      built.set(connectionId, { version, connector });
      // A failed build (bad settings, unreachable vendor) must not be cached.
      connector.catch(() => {
        if (built.get(connectionId)?.connector === connector) built.delete(connectionId);
      });
      // Activities already holding the old connector may still be mid-call: close it later.
      if (cached) setTimeout(() => void cached.connector.then(close, () => undefined), REPLACED_CONNECTOR_GRACE_MS).unref();
      return connector;
    },
  };
}

const REPLACED_CONNECTOR_GRACE_MS = 10 * 60_000;

/** Connectors holding sockets (Dynamics' pool) are closed when replaced. */
async function close(connector: CrmConnector): Promise<void> {
  const closable = connector as CrmConnector & { close?: () => Promise<void> };
  await closable.close?.().catch(() => undefined);
}

async function build(options: StoredConnectionRegistryOptions, connectionId: string): Promise<CrmConnector> {
  const connection = await options.connections.getConnection(connectionId);
  if (!connection) throw new Error(`unknown connection "${connectionId}"`);
  const credentials = await options.connections.loadCredentials(connectionId);
  const parse = <T>(schema: z.ZodType<T>, value: unknown, part: 'settings' | 'credentials'): T => {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidConnectionError(connectionId, part, result.error.issues);
    return result.data;
  };
  // The connection's own windows win over the worker's defaults, except a worker started without
  // client-side budgets (the engine-ceiling bench: `rateLimits: false`).
  const { rateLimits } = parse(rateLimitsSetting, connection.settings, 'settings');
  const base = {
    ...options.defaults,
    ...(rateLimits && options.defaults?.rateLimits !== false ? { rateLimits } : {}),
    connectionId,
    pool: options.pool,
    tokenStore: options.tokens?.forConnection(connectionId),
  };
  const provider: CrmProvider = connection.provider;
  switch (provider) {
    case 'salesforce': {
      const { createSalesforceConnector } = await import('./salesforce');
      const settings = parse(salesforceSettings, connection.settings, 'settings');
      const changeDataCapture = (connection.settings.sync as { changeEvents?: unknown } | undefined)?.changeEvents === 'cdc';
      return createSalesforceConnector({ ...base, ...settings, changeDataCapture, credentials: parse(salesforceCredentials, credentials, 'credentials') });
    }
    case 'hubspot': {
      const { createHubSpotConnector } = await import('./hubspot');
      const { journal, ...settings } = parse(hubspotSettings, connection.settings, 'settings');
      const { journalApp: app, webhookApp, ...auth } = parse(hubspotCredentials, credentials, 'credentials');
      return createHubSpotConnector({ ...base, ...settings, auth, journal: journal ? { ...journal, app } : undefined, webhookApp });
    }
    case 'dynamics': {
      const { createDynamicsConnector } = await import('./dynamics');
      const settings = parse(dynamicsSettings, connection.settings, 'settings');
      return createDynamicsConnector({ ...base, ...settings, credentials: parse(dynamicsCredentials, credentials, 'credentials') });
    }
    case 'pipedrive': {
      const { createPipedriveConnector } = await import('./pipedrive');
      const settings = parse(pipedriveSettings, connection.settings, 'settings');
      return createPipedriveConnector({ ...base, ...settings, auth: parse(pipedriveCredentials, credentials, 'credentials') });
    }
    case 'zoho': {
      const { createZohoConnector } = await import('./zoho');
      const settings = parse(zohoSettings, connection.settings, 'settings');
      return createZohoConnector({ ...base, ...settings, credentials: parse(zohoCredentials, credentials, 'credentials') });
    }
  }
}

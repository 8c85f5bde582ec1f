import { randomBytes } from 'node:crypto';
import type { CrmConnector } from '../connectors/connector';
import type { ConnectorRegistry } from '../connectors/registry';
import type { WebhookSubscribeRequest, WebhookSubscription } from '../connectors/webhook-subscriptions';
import { objectTypes, type CrmProvider, type ObjectType } from '../model/identifiers';
import { syncSettingsSchema } from '../model/sync-settings';
import type pg from 'pg';
import { createStoredConnectionRegistry } from '../connectors/stored-connections';
import type { ConnectionTokensRepository } from '../store/connection-tokens-repository';
import type { ConnectionsRepository } from '../store/connections-repository';
import { subscriptionKey, WebhookSubscriptionsRepository } from '../store/webhook-subscriptions-repository';

/**
 * The product side of webhook subscriptions (issue #15), the same for every vendor whose connector
 * exposes `webhookSubscriptions`: where deliveries go (SHIM_PUBLIC_URL), the delivery secret
 * (generated once, sealed in the connection's credentials under `webhook`, reused so subscribing
 * again changes nothing at the vendor), what was registered (PostgreSQL, no secret), and removing
 * exactly that again. Called by the consent callback, `connection subscribe|disable|delete`, and
 * the connection workflow's renewal activity.
 */
export interface WebhookRegistrationDependencies {
  connections: Pick<ConnectionsRepository, 'getConnection' | 'loadCredentials' | 'mergeWebhookCredentials'>;
  subscriptions: WebhookSubscriptionsRepository;
  registry: ConnectorRegistry;
  /** The shim's public base URL (SHIM_PUBLIC_URL); vendors deliver to `<it>/webhooks/<provider>/<connection>`. */
  publicUrl: string | undefined;
}

export type SubscribeOutcome =
  | { kind: 'registered'; subscriptions: WebhookSubscription[]; callbackUrl: string; summary?: string | undefined }
  | { kind: 'manual'; instructions: string[]; callbackUrl: string }
  /** The connector has no `webhookSubscriptions`: it registers nothing itself. */
  | { kind: 'unsupported' };

type CallbackLocks = Parameters<Parameters<WebhookSubscriptionsRepository['withConnectionLock']>[1]>[0];

export class WebhookSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSetupError';
  }
}

/** `<public base>/webhooks/<provider>/<connection>`: the shim's route (src/webhooks/routes.ts). */
export function webhookCallbackUrl(publicUrl: string, provider: CrmProvider, connectionId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/webhooks/${provider}/${encodeURIComponent(connectionId)}`;
}

/** Where the connector's vendor delivers for this connection: its shared path, or the connection's own route. */
function callbackUrlOf(publicUrl: string, connector: CrmConnector, provider: CrmProvider, connectionId: string): string {
  const shared = connector.webhookSubscriptions?.sharedCallbackPath;
  return shared === undefined ? webhookCallbackUrl(publicUrl, provider, connectionId) : `${publicUrl.replace(/\/+$/, '')}${shared}`;
}

/** The objects the connection syncs (settings.sync.objects), or every object when its settings say none. */
export function subscribedObjects(settings: Record<string, unknown>): ObjectType[] {
  const parsed = syncSettingsSchema.safeParse(settings.sync ?? {});
  return parsed.success ? [...parsed.data.objects] : [...objectTypes];
}

/** Zoho's channel token is at most 50 characters [Z12]: 24 random bytes are 32 in base64url. */
function newDeliverySecret(): string {
  return randomBytes(24).toString('base64url');
}

export class WebhookRegistration {
  constructor(private readonly deps: WebhookRegistrationDependencies) {}

  /** Registers (or confirms) the connection's subscriptions at its vendor and records them. */
  subscribe(connectionId: string): Promise<SubscribeOutcome> {
    return this.deps.subscriptions.withConnectionLock(connectionId, (locks) => this.subscribeLocked(connectionId, locks));
  }

  private async subscribeLocked(connectionId: string, locks: CallbackLocks): Promise<SubscribeOutcome> {
    const { connector, request } = await this.prepare(connectionId);
    const subscriber = connector.webhookSubscriptions;
    if (!subscriber) return { kind: 'unsupported' };
    // Serialised with every other connection delivering to the same URL: one may be removing
    // subscriptions this one is about to reuse.
    await locks.lockCallback(request.callbackUrl);
    let result;
    try {
      result = await subscriber.subscribe(request);
    } catch (error) {
      await this.deps.subscriptions.recordFailure(connectionId, request.callbackUrl, `subscribe failed: ${(error as Error).message}`);
      throw error;
    }
    if (result.kind === 'manual') {
      await this.deps.subscriptions.record(connectionId, { state: 'manual', callbackUrl: request.callbackUrl, instructions: result.instructions }, []);
      return { kind: 'manual', instructions: result.instructions, callbackUrl: request.callbackUrl };
    }
    // The secret before the record: a delivery that arrives once the vendor holds the subscription must verify.
    await this.deps.connections.mergeWebhookCredentials(connectionId, { ...result.webhookCredentials, deliverySecret: request.deliverySecret });
    await this.deps.subscriptions.record(connectionId, { state: 'registered', callbackUrl: request.callbackUrl, dispatchKey: result.dispatchKey }, result.subscriptions);
    return { kind: 'registered', subscriptions: result.subscriptions, callbackUrl: request.callbackUrl, summary: result.summary };
  }

  /**
   * Removes what was registered for the connection at its vendor, and the delivery secret with it.
   * A subscription another registered connection also holds (a shared callback: HubSpot's app-level
   * ones) stays at the vendor until the last of them goes. Returns how many vendor subscriptions
   * were removed, and how many were kept for the others.
   */
  unsubscribe(connectionId: string): Promise<{ removed: number; kept: number }> {
    return this.deps.subscriptions.withConnectionLock(connectionId, (locks) => this.unsubscribeLocked(connectionId, locks));
  }

  private async unsubscribeLocked(connectionId: string, locks: CallbackLocks): Promise<{ removed: number; kept: number }> {
    const registration = await this.deps.subscriptions.get(connectionId);
    if (!registration || registration.state === 'removed') return { removed: 0, kept: 0 };
    await locks.lockCallback(registration.callbackUrl);
    const shared = await this.deps.subscriptions.heldByOthers(connectionId, registration.subscriptions);
    const own = registration.subscriptions.filter((subscription) => !shared.has(subscriptionKey(subscription)));
    if (own.length > 0) {
      const connector = await this.deps.registry.forConnection(connectionId);
      if (!connector.webhookSubscriptions) throw new WebhookSetupError(`connection ${connectionId} has recorded subscriptions but its connector cannot remove them`);
      try {
        await connector.webhookSubscriptions.unsubscribe(own);
      } catch (error) {
        await this.deps.subscriptions.recordFailure(connectionId, registration.callbackUrl, `unsubscribe failed: ${(error as Error).message}`);
        throw error;
      }
    }
    await this.deps.subscriptions.record(connectionId, { state: 'removed', callbackUrl: registration.callbackUrl }, []);
    await this.deps.connections.mergeWebhookCredentials(connectionId, undefined);
    return { removed: own.length, kept: registration.subscriptions.length - own.length };
  }

  /**
   * Renews every subscription lapsing before `renewBefore` (the workflow's timer decides when);
   * answers the earliest expiry afterwards, null when nothing lapses.
   */
  renewLapsing(connectionId: string, renewBefore: Date): Promise<{ renewed: number; earliestExpiry: string | null }> {
    return this.deps.subscriptions.withConnectionLock(connectionId, () => this.renewLapsingLocked(connectionId, renewBefore));
  }

  private async renewLapsingLocked(connectionId: string, renewBefore: Date): Promise<{ renewed: number; earliestExpiry: string | null }> {
    const registration = await this.deps.subscriptions.get(connectionId);
    // Only what is registered now: a connection disabled meanwhile has nothing left to renew.
    const lapsing = (registration?.state === 'registered' ? registration.subscriptions : []).filter((subscription) => subscription.expiresAt !== null && Date.parse(subscription.expiresAt) <= renewBefore.getTime());
    if (lapsing.length > 0) {
      // Renewed for the URL the vendor holds: the renewal needs no SHIM_PUBLIC_URL (the worker runs it).
      const { connector, request } = await this.prepare(connectionId, registration?.callbackUrl);
      const subscriber = connector.webhookSubscriptions;
      if (!subscriber?.renew) throw new WebhookSetupError(`connection ${connectionId} has subscriptions that lapse but its connector cannot renew them`);
      for (const subscription of lapsing) {
        const renewed = await subscriber.renew(subscription, request);
        await this.deps.subscriptions.replaceSubscription(connectionId, subscription, renewed);
      }
    }
    return { renewed: lapsing.length, earliestExpiry: await this.deps.subscriptions.earliestExpiry(connectionId) };
  }

  private async prepare(connectionId: string, registeredUrl?: string): Promise<{ connector: CrmConnector; request: WebhookSubscribeRequest }> {
    const connection = await this.deps.connections.getConnection(connectionId);
    if (!connection) throw new WebhookSetupError(`unknown connection "${connectionId}"`);
    const publicUrl = this.deps.publicUrl;
    if (registeredUrl === undefined && !publicUrl) throw new WebhookSetupError('SHIM_PUBLIC_URL is not set: vendors deliver webhooks to <SHIM_PUBLIC_URL>/webhooks/<provider>/<connection>');
    const credentials = await this.deps.connections.loadCredentials(connectionId);
    const stored = (credentials.webhook as { deliverySecret?: unknown } | undefined)?.deliverySecret;
    const connector = await this.deps.registry.forConnection(connectionId);
    return {
      connector,
      request: {
        callbackUrl: registeredUrl ?? callbackUrlOf(publicUrl as string, connector, connection.provider, connectionId),
        objects: subscribedObjects(connection.settings),
        deliverySecret: typeof stored === 'string' && stored !== '' ? stored : newDeliverySecret(),
      },
    };
  }
}

/** One sentence on what subscribing did, for the consent page and the CLI. */
export function describeSubscribeOutcome(outcome: SubscribeOutcome): string {
  switch (outcome.kind) {
    case 'registered':
      return outcome.summary ?? `Webhooks registered: ${outcome.subscriptions.length} subscription(s) delivering to ${outcome.callbackUrl}.`;
    case 'manual':
      return `Webhooks must be set up at app level by an administrator: ${outcome.instructions.join(' ')}`;
    case 'unsupported':
      return 'crm-sync registers no webhooks for this CRM itself; polling (and any change feed configured in the CRM) carries changes.';
  }
}

/** The registration over what a process holds: PostgreSQL, the keyring's cipher, the shared tokens. */
export function storedWebhookRegistration(input: { pool: pg.Pool; connections: ConnectionsRepository; tokens: ConnectionTokensRepository; publicUrl: string | undefined }): WebhookRegistration {
  return new WebhookRegistration({
    connections: input.connections,
    subscriptions: new WebhookSubscriptionsRepository(input.pool),
    // The workers' shared tokens: a refresh here stores a rotated refresh token as theirs does.
    registry: createStoredConnectionRegistry({ connections: input.connections, pool: input.pool, tokens: input.tokens, defaults: { requestTimeoutMs: 15_000, maxBudgetWaitMs: 5_000 } }),
    publicUrl: input.publicUrl,
  });
}

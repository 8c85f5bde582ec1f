import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorBody, HubSpotError, validationError } from './errors';

/**
 * The legacy public app's webhook configuration, v3 API [H84][H85][H86]: one target URL per app
 * (`/webhooks/v3/{appId}/settings`) and event subscriptions (`/subscriptions`), authenticated with
 * the developer account's API key (`?hapikey=`), never a portal's OAuth token. App-level: every
 * portal that installed the app gets the same subscriptions [H84].
 */

/** Event types the v3 API takes, as @hubspot/api-client's SubscriptionCreateRequest enumerates them [H87]. */
const CLASSIC_OBJECTS = ['contact', 'company', 'deal', 'ticket', 'product', 'line_item'] as const;
const EVENT_TYPES: ReadonlySet<string> = new Set([
  ...CLASSIC_OBJECTS.flatMap((object) => ['propertyChange', 'creation', 'deletion', 'merge', 'restore'].map((kind) => `${object}.${kind}`)),
  ...['contact', 'company', 'deal', 'ticket', 'line_item'].map((object) => `${object}.associationChange`),
  'contact.privacyDeletion',
  ...['creation', 'deletion', 'privacyDeletion', 'newMessage', 'propertyChange'].map((kind) => `conversation.${kind}`),
  ...['propertyChange', 'creation', 'deletion', 'merge', 'restore', 'associationChange'].map((kind) => `object.${kind}`),
]);

export interface AppWebhookSettings {
  targetUrl: string;
  throttling: { maxConcurrentRequests: number };
  createdAt: string;
  updatedAt: string;
}

export interface AppSubscription {
  id: string;
  eventType: string;
  propertyName?: string;
  objectTypeId?: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What a pending event needs to be matched against the app's subscriptions. */
export interface SubscribableEvent {
  subscriptionType: string;
  propertyName?: string;
  objectTypeId?: string;
}

/** One public app's webhook settings and subscriptions, and the identity its deliveries carry. */
export class AppWebhookRegistry {
  private settings: AppWebhookSettings | undefined;
  private readonly subscriptions = new Map<string, AppSubscription>();
  private nextId = 1;

  constructor(
    readonly appId: number,
    readonly clientSecret: string,
    private readonly developerApiKey: string,
    private readonly now: () => number,
  ) {}

  /** Where the app's events go, once settings exist. */
  targetUrl(): string | undefined {
    return this.settings?.targetUrl;
  }

  /** The id of the active subscription an event falls under, if any. */
  subscriptionFor(event: SubscribableEvent): number | undefined {
    for (const subscription of this.subscriptions.values()) {
      if (!subscription.active || subscription.eventType !== event.subscriptionType) continue;
      if (subscription.objectTypeId !== undefined && subscription.objectTypeId !== event.objectTypeId) continue;
      if (event.subscriptionType.endsWith('.propertyChange') && subscription.propertyName !== event.propertyName) continue;
      return Number(subscription.id);
    }
    return undefined;
  }

  authenticate(request: FastifyRequest, appId: string): void {
    const key = (request.query as Record<string, unknown>).hapikey;
    if (typeof key !== 'string' || key !== this.developerApiKey) {
      // HubSpot's answer to a missing or wrong key [H88].
      throw new HubSpotError(401, errorBody('The API key provided is invalid. View or manage your API key here: https://app.hubspot.com/l/api-key/', 'INVALID_AUTHENTICATION'));
    }
    // UNCONFIRMED: status and wording for an app the developer account does not own.
    if (appId !== String(this.appId)) throw new HubSpotError(404, errorBody(`App ${appId} not found for this developer account`, 'OBJECT_NOT_FOUND'));
  }

  readSettings(): AppWebhookSettings {
    // UNCONFIRMED: wording of the 404 for an app with no settings yet.
    if (!this.settings) throw new HubSpotError(404, errorBody(`No webhook settings found for app ${this.appId}`, 'OBJECT_NOT_FOUND'));
    return this.settings;
  }

  configure(body: unknown): AppWebhookSettings {
    const input = record(body);
    const targetUrl = input.targetUrl;
    const throttling = record(input.throttling ?? {});
    if (typeof targetUrl !== 'string' || !isSecureUrl(targetUrl)) throw validationError('targetUrl must be a publicly available HTTPS URL');
    const max = throttling.maxConcurrentRequests;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) throw validationError('throttling.maxConcurrentRequests must be a positive integer');
    const stamp = new Date(this.now()).toISOString();
    this.settings = { targetUrl, throttling: { maxConcurrentRequests: max }, createdAt: this.settings?.createdAt ?? stamp, updatedAt: stamp };
    return this.settings;
  }

  clearSettings(): void {
    this.settings = undefined;
  }

  list(): AppSubscription[] {
    return [...this.subscriptions.values()];
  }

  get(id: string): AppSubscription {
    const subscription = this.subscriptions.get(id);
    // UNCONFIRMED: wording of the 404 for an unknown subscription id.
    if (!subscription) throw new HubSpotError(404, errorBody(`Subscription ${id} not found for app ${this.appId}`, 'OBJECT_NOT_FOUND'));
    return subscription;
  }

  create(body: unknown): AppSubscription {
    const input = record(body);
    const { eventType, propertyName, objectTypeId } = input;
    if (typeof eventType !== 'string' || !EVENT_TYPES.has(eventType)) throw validationError(`eventType must be one of the supported subscription types; got ${JSON.stringify(eventType)}`);
    const isPropertyChange = eventType.endsWith('.propertyChange');
    if (isPropertyChange !== (typeof propertyName === 'string' && propertyName !== '')) {
      throw validationError(isPropertyChange ? `propertyName is required for ${eventType}` : `propertyName is only allowed for propertyChange subscriptions`);
    }
    if (eventType.startsWith('object.') !== (typeof objectTypeId === 'string' && objectTypeId !== '')) {
      throw validationError(eventType.startsWith('object.') ? `objectTypeId is required for ${eventType}` : 'objectTypeId is only allowed for object.* subscriptions');
    }
    const duplicate = this.list().find((existing) => existing.eventType === eventType && existing.propertyName === propertyName && existing.objectTypeId === objectTypeId);
    // UNCONFIRMED: HubSpot refuses a second identical subscription; status and wording are the sandbox's.
    if (duplicate) throw new HubSpotError(409, errorBody(`A subscription for ${eventType}${typeof propertyName === 'string' ? ` (${propertyName})` : ''} already exists: ${duplicate.id}`, 'CONFLICT'));
    const stamp = new Date(this.now()).toISOString();
    const subscription: AppSubscription = {
      id: String(this.nextId++),
      eventType,
      ...(typeof propertyName === 'string' ? { propertyName } : {}),
      ...(typeof objectTypeId === 'string' ? { objectTypeId } : {}),
      active: input.active !== false,
      createdAt: stamp,
      updatedAt: stamp,
    };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  setActive(id: string, active: unknown): AppSubscription {
    const subscription = this.get(id);
    if (typeof active !== 'boolean') throw validationError('active must be a boolean');
    subscription.active = active;
    subscription.updatedAt = new Date(this.now()).toISOString();
    return subscription;
  }

  archive(id: string): void {
    this.get(id);
    this.subscriptions.delete(id);
  }
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw validationError('Invalid input JSON: expected an object');
  return value as Record<string, unknown>;
}

/** HTTPS, as HubSpot requires [H84]; loopback http is let through so tests can receive locally. */
function isSecureUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost'));
  } catch {
    return false;
  }
}

export const APP_WEBHOOKS_PREFIX = '/webhooks/v3/';

export function registerAppWebhookRoutes(app: FastifyInstance, registry: AppWebhookRegistry): void {
  const base = '/webhooks/v3/:appId';
  const params = (request: FastifyRequest): { appId: string; subscriptionId?: string } => request.params as { appId: string; subscriptionId?: string };
  app.addHook('preHandler', async (request) => {
    if (request.url.startsWith(APP_WEBHOOKS_PREFIX)) registry.authenticate(request, params(request).appId);
  });
  app.get(`${base}/settings`, async () => registry.readSettings());
  app.put(`${base}/settings`, async (request) => registry.configure(request.body));
  app.delete(`${base}/settings`, async (_request, reply) => {
    registry.clearSettings();
    return reply.code(204).send();
  });
  app.get(`${base}/subscriptions`, async () => ({ results: registry.list() }));
  app.post(`${base}/subscriptions`, async (request, reply) => reply.code(201).send(registry.create(request.body)));
  app.get(`${base}/subscriptions/:subscriptionId`, async (request) => registry.get(String(params(request).subscriptionId)));
  app.patch(`${base}/subscriptions/:subscriptionId`, async (request) => registry.setActive(String(params(request).subscriptionId), record(request.body).active));
  app.delete(`${base}/subscriptions/:subscriptionId`, async (request, reply) => {
    registry.archive(String(params(request).subscriptionId));
    return reply.code(204).send();
  });
  app.post(`${base}/subscriptions/batch/update`, async (request) => {
    const startedAt = new Date().toISOString();
    const inputs = record(request.body).inputs;
    if (!Array.isArray(inputs)) throw validationError('inputs must be an array');
    const results = inputs.map((input) => {
      const entry = record(input);
      return registry.setActive(String(entry.id), entry.active);
    });
    return { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
  });
}

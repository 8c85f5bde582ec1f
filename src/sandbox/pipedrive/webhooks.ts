import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import { errorBody, PipedriveError, validation } from './errors';
import { SINGULAR } from './schema';
import { renderRecord, type RecordChange } from './store';

/** A webhook as `POST /v1/webhooks` registers it [P4]. */
export interface WebhookSubscription {
  id: number;
  subscription_url: string;
  event_action: 'create' | 'change' | 'delete' | '*';
  event_object: string;
  version: '2.0';
  http_auth_user: string | null;
  http_auth_password: string | null;
  add_time: string;
}

/** The v2 delivery body: `{ meta, data, previous }` [P4]. */
export interface PipedriveWebhookPayload {
  meta: {
    action: 'create' | 'change' | 'delete';
    entity: string;
    entity_id: string;
    /** Unique per event (redeliveries of one event keep it). */
    id: string;
    timestamp: string;
    version: '2.0';
    webhook_id: string;
    company_id: string;
    user_id: string;
    /** `api` for API writes, `app` for people (UNCONFIRMED value set). */
    change_source: 'api' | 'app';
    is_bulk_edit: boolean;
    correlation_id: string;
    attempt: number;
  };
  data: Record<string, unknown> | null;
  previous: Record<string, unknown> | null;
}

const ACTIONS = new Set(['create', 'change', 'delete', '*']);
const OBJECTS = new Set(['person', 'organization', 'deal', 'activity', '*']);

/**
 * Webhooks v2: one delivery per subscription per event, HTTP Basic auth when the subscription has
 * credentials (Pipedrive signs nothing), `previous` holding only changed fields' old values.
 * Deliveries, retries (3, 30, 150 s by default), drops and duplicates go through the shared
 * dispatcher; each attempt names its own URL.
 */
export class PipedriveWebhooks {
  private readonly subscriptions = new Map<number, WebhookSubscription>();
  private nextId = 1;
  /** Set while seeding: seeded records stand for data that existed before the sync started. */
  muted = false;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly companyId: number,
    private readonly userId: number,
  ) {}

  subscribe(input: Record<string, unknown>): WebhookSubscription {
    const url = input.subscription_url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw validation('Validation failed: subscription_url: must be a URL');
    if (typeof input.event_action !== 'string' || !ACTIONS.has(input.event_action)) throw validation('Validation failed: event_action: must be one of create, change, delete, *');
    if (typeof input.event_object !== 'string' || !OBJECTS.has(input.event_object)) throw validation('Validation failed: event_object: unsupported object');
    if (input.version !== undefined && input.version !== '2.0') throw validation('Validation failed: version: the sandbox emulates webhooks v2 ("2.0") only');
    const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
    const subscription: WebhookSubscription = {
      id: this.nextId++,
      subscription_url: url,
      event_action: input.event_action as WebhookSubscription['event_action'],
      event_object: input.event_object,
      version: '2.0',
      http_auth_user: text(input.http_auth_user),
      http_auth_password: text(input.http_auth_password),
      add_time: new Date().toISOString(),
    };
    this.subscriptions.set(subscription.id, subscription);
    // The shared dispatcher only delivers while it has a target; each attempt names its own URL.
    if (this.dispatcher.target() === undefined) this.dispatcher.setTarget(url);
    return subscription;
  }

  unsubscribe(id: number): boolean {
    return this.subscriptions.delete(id);
  }

  list(): WebhookSubscription[] {
    return [...this.subscriptions.values()];
  }

  record(change: RecordChange): void {
    if (this.muted) return;
    const entity = SINGULAR[change.record.entity];
    const after = renderRecord(change.record);
    const data = change.action === 'delete' ? null : after;
    const previous = change.action === 'create' ? null : change.action === 'delete' ? change.before : changedFields(change.before ?? {}, after);
    if (change.action === 'change' && previous && Object.keys(previous).length === 0) return;
    const eventId = randomUUID();
    for (const subscription of this.subscriptions.values()) {
      if (subscription.event_action !== '*' && subscription.event_action !== change.action) continue;
      if (subscription.event_object !== '*' && subscription.event_object !== entity) continue;
      this.dispatcher.enqueue(({ attempt }) => {
        const payload: PipedriveWebhookPayload = {
          meta: {
            action: change.action,
            entity,
            entity_id: String(change.record.id),
            id: eventId,
            timestamp: new Date(change.record.updateTime).toISOString(),
            version: '2.0',
            webhook_id: String(subscription.id),
            company_id: String(this.companyId),
            user_id: String(this.userId),
            change_source: change.source,
            is_bulk_edit: false,
            correlation_id: eventId,
            attempt: attempt + 1,
          },
          data,
          previous,
        };
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (subscription.http_auth_user !== null) {
          headers.authorization = `Basic ${Buffer.from(`${subscription.http_auth_user}:${subscription.http_auth_password ?? ''}`).toString('base64')}`;
        }
        return { body: JSON.stringify(payload), headers, url: subscription.subscription_url };
      });
    }
  }
}

/** The old values of the fields that changed (v2 `previous` on change) [P4]. */
function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const previous: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(after)) {
    if (name === 'update_time') continue;
    if (JSON.stringify(before[name]) !== JSON.stringify(value)) previous[name] = before[name] ?? null;
  }
  return previous;
}

/** `POST/GET/DELETE /v1/webhooks` (the webhooks API is v1 only) [P4]. */
export function registerWebhookRoutes(app: FastifyInstance, webhooks: PipedriveWebhooks): void {
  app.post<{ Body: Record<string, unknown> | undefined }>('/v1/webhooks', async (request, reply) => {
    const subscription = webhooks.subscribe(request.body ?? {});
    return reply.code(201).send({ success: true, status: 'ok', data: withoutPassword(subscription) });
  });
  app.get('/v1/webhooks', async () => ({ success: true, status: 'ok', data: webhooks.list().map(withoutPassword) }));
  app.delete<{ Params: { id: string } }>('/v1/webhooks/:id', async (request) => {
    if (!webhooks.unsubscribe(Number(request.params.id))) throw new PipedriveError(404, errorBody('Webhook not found', { code: 'ERR_NOT_FOUND' }));
    return { success: true, status: 'ok' };
  });
}

/** Pipedrive never echoes the Basic auth password back. */
function withoutPassword(subscription: WebhookSubscription): Omit<WebhookSubscription, 'http_auth_password'> {
  const { http_auth_password: _password, ...rest } = subscription;
  return rest;
}

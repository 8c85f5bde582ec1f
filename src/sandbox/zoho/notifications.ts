import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import { errorBody, ZohoError } from './errors';
import { isModule, type ZohoModule } from './modules';
import type { RecordChange } from './store';

/** One channel of `POST /actions/watch` [Z12]. */
export interface WatchChannel {
  channel_id: string;
  events: string[];
  notify_url: string;
  token?: string | undefined;
  channel_expiry: string;
  return_affected_field_values: boolean;
}

/**
 * The callback body. Sourced [Z12]: `token` and `channel_id` are echoed. UNCONFIRMED (as the
 * facts say, callback field names are not in a primary source; these follow Zoho's published
 * sample): `server_time`, `query_params`, `module`, `resource_uri`, `ids`, `affected_fields`,
 * `operation` (`insert` | `update` | `delete`).
 */
export interface ZohoCallback {
  server_time: number;
  query_params: Record<string, string>;
  module: ZohoModule;
  resource_uri: string;
  ids: string[];
  affected_fields: { [id: string]: string[] }[];
  operation: 'insert' | 'update' | 'delete';
  channel_id: string;
  token: string | null;
}

const OPERATION_EVENTS: Record<RecordChange['operation'], string> = { insert: 'create', update: 'edit', delete: 'delete' };
const WEEK_MS = 7 * 86_400_000;

/** Subscriptions and their deliveries (at least once, through the shared dispatcher's chaos). */
export class ZohoNotifications {
  private readonly channels = new Map<string, WatchChannel & { expiresAt: number }>();
  /** Set while seeding: seeded records stand for data that was already there. */
  muted = false;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly apiUrl: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Validates and stores channels as `POST /actions/watch` does; one answer entry per channel. */
  watch(body: unknown): { watch: unknown[] } {
    return { watch: this.entries(body).map((raw) => this.enable(raw as Partial<Record<keyof WatchChannel, unknown>>, undefined)) };
  }

  /**
   * `PATCH /actions/watch`, "update specific information": the given keys replace the channel's,
   * the rest stay [Z54]. A later `channel_expiry` renews the channel. A channel that lapsed or was
   * disabled is no longer there to update (UNCONFIRMED answer: `INVALID_DATA` naming channel_id).
   */
  update(body: unknown): { watch: unknown[] } {
    return {
      watch: this.entries(body).map((raw) => {
        const entry = raw as Partial<Record<keyof WatchChannel, unknown>>;
        const current = this.channels.get(String(entry.channel_id));
        if (!current || current.expiresAt <= this.now()) return errorBody('INVALID_DATA', 'invalid data', { api_name: 'channel_id' });
        return this.enable({ ...current, channel_expiry: undefined, ...entry }, current);
      }),
    };
  }

  /** `DELETE /actions/watch?channel_ids=1,2`: one entry per module of each channel ended [Z55]; an unknown id answers INVALID_DATA (UNCONFIRMED). */
  disable(channelIds: string | undefined): { status: number; body: { watch: unknown[] } } {
    const ids = (channelIds ?? '').split(',').map((id) => id.trim()).filter(Boolean);
    if (ids.length === 0) throw new ZohoError(400, errorBody('MANDATORY_NOT_FOUND', 'required param not found', { param_name: 'channel_ids' }));
    const watch = ids.flatMap((id): unknown[] => {
      const channel = this.channels.get(id);
      if (!channel || channel.expiresAt <= this.now()) return [errorBody('INVALID_DATA', 'invalid data', { api_name: 'channel_ids', value: id })];
      this.channels.delete(id);
      return [...new Set(channel.events.map((event) => event.split('.')[0]))].map((module) => ({
        code: 'SUCCESS',
        details: { resource_uri: `${this.apiUrl()}/crm/v6/${module}`, channel_id: id },
        message: 'Successfully un-subscribed from actions-watch',
        status: 'success',
      }));
    });
    return { status: watch.some((entry) => (entry as { status?: string }).status === 'success') ? 200 : 400, body: { watch } };
  }

  /**
   * `GET /actions/watch`: one entry per module of each channel still delivering, with its events,
   * URL, token and expiry, and `info` (a lapsed channel is gone, UNCONFIRMED); undefined for 204 [Z56].
   */
  details(): { watch: unknown[]; info: Record<string, unknown> } | undefined {
    const live = [...this.channels.values()].filter((channel) => channel.expiresAt > this.now());
    const watch = live.flatMap((channel) =>
      [...new Set(channel.events.map((event) => event.split('.')[0] as string))].map((module) => ({
        channel_expiry: channel.channel_expiry,
        channel_id: channel.channel_id,
        events: channel.events.filter((event) => event.startsWith(`${module}.`)),
        notify_on_related_action: true,
        notify_url: channel.notify_url,
        resource_name: module,
        resource_uri: `${this.apiUrl()}/crm/v6/${module}`,
        return_affected_field_values: channel.return_affected_field_values,
        token: channel.token ?? null,
      })),
    );
    if (watch.length === 0) return undefined;
    return { watch, info: { count: watch.length, more_records: false, page: 1, per_page: 200 } };
  }

  private entries(body: unknown): unknown[] {
    const list = (body as { watch?: unknown } | undefined)?.watch;
    if (!Array.isArray(list) || list.length === 0) throw new ZohoError(400, errorBody('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'watch' }));
    return list;
  }

  private enable(entry: Partial<Record<keyof WatchChannel, unknown>>, current: WatchChannel | undefined): unknown {
    const refuse = (code: string, message: string, details: Record<string, unknown>) => errorBody(code, message, details);
    if (typeof entry.channel_id !== 'string' && typeof entry.channel_id !== 'number') return refuse('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'channel_id' });
    if (typeof entry.notify_url !== 'string' || !/^https?:\/\//.test(entry.notify_url)) return refuse('INVALID_DATA', 'invalid data', { api_name: 'notify_url' });
    if (!Array.isArray(entry.events) || entry.events.length === 0) return refuse('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'events' });
    for (const event of entry.events) {
      const [module, operation] = String(event).split('.');
      if (!module || !isModule(module) || !['all', 'create', 'edit', 'delete'].includes(operation ?? '')) return refuse('INVALID_DATA', 'invalid data', { api_name: 'events', value: event });
    }
    // Token at most 50 characters; channel_expiry at most one week ahead [Z12][Z53].
    if (entry.token !== undefined && (typeof entry.token !== 'string' || entry.token.length > 50)) return refuse('INVALID_DATA', 'invalid data', { api_name: 'token', maximum_length: 50 });
    // Without channel_expiry a channel lasts an hour [Z53]; an update without one keeps the channel's.
    const expiry = typeof entry.channel_expiry === 'string' ? Date.parse(entry.channel_expiry) : current ? Date.parse(current.channel_expiry) : this.now() + 3_600_000;
    if (Number.isNaN(expiry) || expiry > this.now() + WEEK_MS) return refuse('INVALID_DATA', 'invalid data', { api_name: 'channel_expiry' });
    const channel = {
      channel_id: String(entry.channel_id),
      events: entry.events.map(String),
      notify_url: entry.notify_url,
      token: typeof entry.token === 'string' ? entry.token : undefined,
      channel_expiry: new Date(expiry).toISOString(),
      return_affected_field_values: entry.return_affected_field_values === true,
      expiresAt: expiry,
    };
    this.channels.set(channel.channel_id, channel);
    // The core dispatcher delivers only while it has a target; each callback names its own URL.
    if (this.dispatcher.target() === undefined) this.dispatcher.setTarget(channel.notify_url);
    return {
      code: 'SUCCESS',
      details: { events: channel.events.map((event) => ({ channel_expiry: channel.channel_expiry, resource_uri: `${this.apiUrl()}/crm/v6/${event.split('.')[0]}`, resource_name: event.split('.')[0], channel_id: channel.channel_id })) },
      message: current ? 'Successfully updated the subscribe details' : 'Successfully subscribed for actions-watch of the given module',
      status: 'success',
    };
  }

  list(): WatchChannel[] {
    return [...this.channels.values()].map(({ expiresAt: _expiresAt, ...channel }) => channel);
  }

  /** One callback per channel per write call, carrying every id the call wrote. */
  record(change: RecordChange): void {
    if (this.muted) return;
    const now = this.now();
    for (const channel of this.channels.values()) {
      if (channel.expiresAt <= now) continue;
      const wanted = channel.events.some((event) => event === `${change.module}.all` || event === `${change.module}.${OPERATION_EVENTS[change.operation]}`);
      if (!wanted) continue;
      const callback: ZohoCallback = {
        server_time: now,
        query_params: Object.fromEntries(new URL(channel.notify_url).searchParams),
        module: change.module,
        resource_uri: `${this.apiUrl()}/crm/v6/${change.module}`,
        ids: change.ids,
        affected_fields: change.operation === 'update' ? change.ids.map((id) => ({ [id]: change.fields[id] ?? [] })) : [],
        operation: change.operation,
        channel_id: channel.channel_id,
        token: channel.token ?? null,
      };
      const body = JSON.stringify(callback);
      this.dispatcher.enqueue(() => ({ url: channel.notify_url, body, headers: { 'content-type': 'application/json' } }));
    }
  }
}

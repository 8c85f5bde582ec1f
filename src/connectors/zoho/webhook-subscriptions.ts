import { randomInt } from 'node:crypto';
import type { ObjectType } from '../../model/identifiers';
import type { WebhookSubscribeRequest, WebhookSubscriber, WebhookSubscription } from '../webhook-subscriptions';
import { ACTIVITY_MODULES } from './activity-modules';
import type { ZohoHttp } from './http';
import { ZOHO_MODULES } from './spec';

const KIND = 'zoho-channel';
/** Zoho ends a channel at `channel_expiry`, at most one week ahead from API v4 on [Z53]. */
export const MAX_CHANNEL_LIFETIME_MS = 7 * 86_400_000;
/** Asked for a little under the maximum, so clocks a few minutes apart never make the request exceed it. */
export const DEFAULT_CHANNEL_LIFETIME_MS = MAX_CHANNEL_LIFETIME_MS - 10 * 60_000;

/** One module of a channel as `GET /actions/watch` lists it [Z56]. */
interface WatchEntry {
  channel_id: string | number;
  notify_url?: string;
  channel_expiry?: string;
  events?: string[];
}

interface WatchAnswer {
  watch?: { code?: string; status?: string; message?: string; details?: { events?: { channel_expiry?: string }[]; channel_expiry?: string } }[];
}

/** The events of one object: `<Module>.all` (an activity is a record of Tasks, Calls or Events). */
function eventsOf(objectType: ObjectType): string[] {
  return objectType === 'activity' ? ACTIVITY_MODULES.map((module) => `${module}.all`) : [`${ZOHO_MODULES[objectType].module}.all`];
}

class ChannelRefusedError extends Error {
  override name = 'ChannelRefusedError';
}

export interface ZohoWebhookOptions {
  /** How long each channel (or renewal) lasts. @default just under a week */
  channelLifetimeMs?: number | undefined;
  now?: () => number;
}

/**
 * Zoho's notification channel [Z12][Z53–Z56]: one channel per connection watching `<Module>.all`
 * of every synced object, delivering to the shim with the generated token (Zoho signs nothing;
 * the shim compares the echoed `token`). `POST /actions/watch` opens it; a channel already
 * delivering to the same URL is reused; `PATCH` with a later `channel_expiry` renews it before it
 * lapses (the connection workflow's timer decides when); `DELETE ?channel_ids=` ends it.
 */
export function zohoWebhookSubscriber(http: ZohoHttp, options: ZohoWebhookOptions = {}): WebhookSubscriber {
  const lifetimeMs = Math.min(options.channelLifetimeMs ?? DEFAULT_CHANNEL_LIFETIME_MS, MAX_CHANNEL_LIFETIME_MS);
  const now = options.now ?? Date.now;
  const expiry = (): string => new Date(now() + lifetimeMs).toISOString();
  const watchEntry = (channelId: string, request: WebhookSubscribeRequest, channelExpiry: string) => ({
    channel_id: channelId,
    events: request.objects.flatMap(eventsOf),
    notify_url: request.callbackUrl,
    token: request.deliverySecret,
    channel_expiry: channelExpiry,
  });
  /** The single entry's answer, or the vendor's refusal as an error naming its code. */
  const send = async (method: 'POST' | 'PATCH', entry: ReturnType<typeof watchEntry>): Promise<string> => {
    const response = await http.call<WatchAnswer>({ method, path: 'actions/watch', body: { watch: [entry] }, answerStatuses: [400] });
    const answer = response.body?.watch?.[0];
    if (answer?.status !== 'success') throw new ChannelRefusedError(`Zoho refused the notification channel: ${answer?.code ?? 'no answer'} (${answer?.message ?? ''})`);
    return answer.details?.events?.[0]?.channel_expiry ?? answer.details?.channel_expiry ?? entry.channel_expiry;
  };
  const subscription = (channelId: string, expiresAt: string): WebhookSubscription => ({ kind: KIND, id: channelId, objectType: null, expiresAt: new Date(expiresAt).toISOString() });

  return {
    async subscribe(request) {
      const listed = (await http.call<{ watch?: WatchEntry[] }>({ method: 'GET', path: 'actions/watch' })).body?.watch ?? [];
      const held = listed.find((entry) => entry.notify_url === request.callbackUrl);
      // Channel ids are longs the subscriber chooses [Z12].
      const channelId = held ? String(held.channel_id) : String(randomInt(1_000_000_000, 281_474_976_710_655));
      const expiresAt = await send(held ? 'PATCH' : 'POST', watchEntry(channelId, request, expiry()));
      return { kind: 'registered', subscriptions: [subscription(channelId, expiresAt)], webhookCredentials: { token: request.deliverySecret } };
    },
    async renew(current, request) {
      const entry = watchEntry(current.id, request, expiry());
      try {
        return subscription(current.id, await send('PATCH', entry));
      } catch (error) {
        // A channel that lapsed meanwhile (a paused run, a long outage) is no longer there to update: open it again.
        if (!(error instanceof ChannelRefusedError)) throw error;
        return subscription(current.id, await send('POST', entry));
      }
    },
    async unsubscribe(subscriptions) {
      const ids = subscriptions.filter((entry) => entry.kind === KIND).map((entry) => entry.id);
      // A channel Zoho no longer has (lapsed, or disabled elsewhere) answers per id, not as a failure [Z55].
      if (ids.length > 0) await http.call({ method: 'DELETE', path: `actions/watch?channel_ids=${ids.map(encodeURIComponent).join(',')}`, answerStatuses: [400] });
    },
  };
}

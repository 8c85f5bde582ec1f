import type { ChangeEventFeed, ChangeEventRead, ChangeEventReadRequest } from '../../connector';
import { withFreshToken } from '../../token-provider';
import type { SalesforceSession } from '../session';
import { changeEventNotices } from './notices';
import { PubSubSubscriber } from './pubsub-subscriber';

export interface PubSubSettings {
  /** `host:port` of the Pub/Sub API. @default 'api.pubsub.salesforce.com:7443' */
  endpoint?: string | undefined;
  /** TLS to the endpoint; only a local emulator goes without. @default true */
  tls?: boolean | undefined;
  /** The channel read: every selected object's changes in one stream, one replay position. @default '/data/ChangeEvents' */
  topic?: string | undefined;
  /** The org id sent as `tenantid`; by default the org id every session id starts with (S94). */
  organizationId?: string | undefined;
}

/**
 * Once events flow, answer this long after the first: a burst is read as one batch, and the wait
 * stays a small share of the live lag (issue #16: p95 under 1 s, bench/cdc-lag.bench.ts).
 */
const SETTLE_MS = 100;

/**
 * Salesforce Change Data Capture as the connector's change feed: a bounded Pub/Sub API read
 * under the session's tokens (a refused token is renewed once, as for REST), decoded to the
 * notices webhooks would give. Pub/Sub API events do not count against the REST daily
 * allocation, so the rate budget is not taken (S95).
 */
export function salesforceChangeEvents(session: SalesforceSession, settings: PubSubSettings): ChangeEventFeed {
  const subscriber = new PubSubSubscriber(settings.endpoint ?? 'api.pubsub.salesforce.com:7443', { tls: settings.tls ?? true });
  const topic = settings.topic ?? '/data/ChangeEvents';
  return {
    async read(request: ChangeEventReadRequest): Promise<ChangeEventRead> {
      const result = await withFreshToken(session.tokens, 'salesforce', (accessToken) =>
        subscriber.fetch(
          { accessToken, instanceUrl: session.conn.instanceUrl, tenantId: settings.organizationId ?? accessToken.split('!')[0] ?? '' },
          { topic, from: request.from, maxEvents: request.maxEvents, waitMs: request.waitMs, settleMs: SETTLE_MS },
        ),
      );
      if (result.kind === 'replay-invalid') return result;
      const { notices, pollObjects } = changeEventNotices(result.events, request.objects);
      return { kind: 'events', notices, pollObjects, received: result.events.length, replayId: result.replayId };
    },
  };
}

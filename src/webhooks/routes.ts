import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CrmProvider } from '../model/identifiers';
import { isSyncing, type ConnectionsRepository } from '../store/connections-repository';
import { decodedOnce, JSON_DELIVERY, mediaTypeOf, OUTBOUND_MESSAGE_DELIVERY, type DeliveryFormat } from './delivery-format';
import { fromFrameworkError, invalidPayload, unsupportedMediaType, WebhookError } from './errors';
import { isRecord, type DeliveryParser, type ParsedDelivery } from './parse';
import { parseDynamics } from './parse-dynamics';
import { parseHubSpot } from './parse-hubspot';
import { parsePipedrive } from './parse-pipedrive';
import { parseSalesforce } from './parse-salesforce';
import { parseZoho } from './parse-zoho';
import { webhookConnectionCache, type WebhookConnection } from './connection-cache';
import { temporalSignalConnection, type SignalConnection, type TemporalSignalOptions } from './signal';
import { SignalBatcher, type SignalBatchLimits } from './signal-batcher';
import { DEFAULT_TOLERANCE_MS, type Verifier } from './verify';
import { verifyDynamics } from './verify-dynamics';
import { verifyHubSpot } from './verify-hubspot';
import { verifyPipedrive } from './verify-pipedrive';
import { verifySalesforce } from './verify-salesforce';
import { verifyZoho } from './verify-zoho';
import { hubspotDispatchKey } from '../connectors/hubspot/webhook-subscriptions';
import type { WebhookSubscriptionsRepository } from '../store/webhook-subscriptions-repository';

export interface WebhookRouteOptions {
  connections: Pick<ConnectionsRepository, 'getConnection' | 'loadCredentials'>;
  /**
   * A Temporal client and task queue, or a function doing the signalWithStart. Either way calls
   * are coalesced per connection workflow (src/webhooks/signal-batcher.ts): one in flight, the
   * deliveries that arrive meanwhile go together in the next.
   */
  signal: SignalConnection | TemporalSignalOptions;
  /** Caps of one coalesced signal. Default 500 events, 256 Ki characters of JSON. */
  signalBatch?: Partial<SignalBatchLimits>;
  /**
   * How long a connection's row and unsealed webhook secret are reused without asking PostgreSQL
   * (src/webhooks/connection-cache.ts). Default 30 s: a revoked secret or a disabled connection
   * is still honoured that long by a running shim; 0 loads them for every delivery.
   */
  secretCacheTtlMs?: number;
  /** The cache's clock (default Date.now): tests move it past the TTL instead of waiting. */
  secretCacheNow?: () => number;
  /**
   * The shim's public base URL as configured at the vendor (e.g. `https://hooks.example.com`), for
   * HubSpot's v3 signature over the URI. Default: the request's own scheme and Host header.
   */
  publicUrl?: string;
  /**
   * Which connections a delivery to a shared route goes to (HubSpot's one target URL per app,
   * `POST /webhooks/hubspot/app/:appId`, dispatched by each event's portal). Without it that
   * route refuses every delivery as for an unknown connection.
   */
  sharedRoutes?: Pick<WebhookSubscriptionsRepository, 'connectionsByDispatchKey'> | undefined;
  /** Largest accepted body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** How old (or early) a signed timestamp may be. Default 5 minutes. */
  toleranceMs?: number;
  /** Seconds in `Retry-After` when Temporal is unreachable. Default 5. */
  retryAfterSeconds?: number;
  now?: () => number;
}

interface ProviderHandler {
  format: DeliveryFormat;
  verify: Verifier;
  parse: DeliveryParser;
}

const PROVIDERS: Partial<Record<CrmProvider, ProviderHandler>> = {
  salesforce: { format: OUTBOUND_MESSAGE_DELIVERY, verify: verifySalesforce, parse: parseSalesforce },
  hubspot: { format: JSON_DELIVERY, verify: verifyHubSpot, parse: parseHubSpot },
  dynamics: { format: JSON_DELIVERY, verify: verifyDynamics, parse: parseDynamics },
  pipedrive: { format: JSON_DELIVERY, verify: verifyPipedrive, parse: parsePipedrive },
  zoho: { format: JSON_DELIVERY, verify: verifyZoho, parse: parseZoho },
};

/** Refusals a reloaded connection may turn into an acceptance (a reauthorised secret, a re-pointed org). */
const RECHECKED_REFUSALS = new Set(['signature_invalid', 'webhook_not_configured', 'organization_mismatch']);

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * `POST /webhooks/:provider/:connectionId`: content type and size -> connection -> signature (or,
 * for Salesforce, the OrganizationId inside the envelope) -> document -> change notices ->
 * signalWithStart -> the vendor's acknowledgement (202 `{ accepted }`; Salesforce: 200 SOAP
 * `Ack`). No CRM is called here. Every refusal is JSON `{ code, message }` and signals nothing.
 */
export async function webhookRoutes(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const toleranceMs = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const now = options.now ?? Date.now;
  const retryAfter = String(options.retryAfterSeconds ?? 5);
  const signal = new SignalBatcher(typeof options.signal === 'function' ? options.signal : temporalSignalConnection(options.signal), options.signalBatch);
  const connections = webhookConnectionCache(options.connections, {
    ...(options.secretCacheTtlMs === undefined ? {} : { ttlMs: options.secretCacheTtlMs }),
    ...(options.secretCacheNow ? { now: options.secretCacheNow } : {}),
  });
  const unknownConnection = (provider: string, connectionId: string): WebhookError =>
    new WebhookError(404, 'unknown_connection', `No ${provider} connection "${connectionId}".`);
  const usable = (entry: WebhookConnection | undefined, provider: string): entry is WebhookConnection =>
    entry !== undefined && entry.connection.provider === provider && isSyncing(entry.connection.status);

  // Raw bytes only: signatures are over the body as sent, so JSON is parsed after verification
  // (Salesforce's verifier reads the org id from the decoded SOAP document).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/xml'], { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const refusal = error instanceof WebhookError ? error : fromFrameworkError(error);
    if (refusal.statusCode >= 500) request.log.error({ err: { name: error.name, code: error.code } }, 'webhook failed');
    else request.log.info({ code: refusal.code }, 'webhook refused');
    return reply.code(refusal.statusCode).headers(refusal.headers).send(refusal.toBody());
  });

  /** The delivery's body as sent, once its media type is the provider's. */
  const rawBodyOf = (request: FastifyRequest, format: DeliveryFormat): Buffer => {
    if (!Buffer.isBuffer(request.body) || mediaTypeOf(request.headers['content-type']) !== format.mediaType) throw unsupportedMediaType(format.mediaType);
    return request.body;
  };

  /**
   * Checks the delivery against the connection's secret. The cached secret may predate a
   * reauthorise: it is checked once more against a reloaded one (the cache reloads at most once a
   * second per connection, so forgeries cannot make every delivery a load). Answers the entry that verified.
   */
  const verified = async (handler: ProviderHandler, delivery: Omit<Parameters<Verifier>[0], 'secrets'>, connectionId: string, entry: WebhookConnection, provider: string): Promise<WebhookConnection> => {
    try {
      handler.verify({ ...delivery, secrets: entry.secrets });
      return entry;
    } catch (error) {
      if (!(error instanceof WebhookError) || !RECHECKED_REFUSALS.has(error.code)) throw error;
      const fresh = await connections.refresh(connectionId, entry);
      if (!fresh) throw error;
      if (!usable(fresh, provider)) throw unknownConnection(provider, connectionId);
      handler.verify({ ...delivery, secrets: fresh.secrets });
      return fresh;
    }
  };

  /** Resolves only once Temporal accepted the signals carrying these events (durably, for their workflows). */
  const signalAll = async (request: FastifyRequest, targets: readonly { connection: WebhookConnection['connection']; events: ParsedDelivery['events'] }[]): Promise<void> => {
    try {
      await Promise.all(targets.filter((target) => target.events.length > 0).map((target) => signal.submit({ tenantId: target.connection.tenantId, connectionId: target.connection.id }, target.events)));
    } catch (error) {
      request.log.error({ connectionIds: targets.map((target) => target.connection.id), err: { name: (error as Error).name } }, 'signalWithStart failed');
      throw new WebhookError(503, 'temporal_unavailable', 'The sync engine is unreachable; retry later.', { 'retry-after': retryAfter });
    }
  };

  const refuseIfOnlyUnsupported = (parsed: readonly ParsedDelivery[]): void => {
    const unsupported = parsed.flatMap((delivery) => delivery.unsupported);
    if (unsupported.length > 0 && parsed.every((delivery) => delivery.events.length === 0)) {
      throw new WebhookError(422, 'unsupported_event', `Unsupported event type: ${unsupported.slice(0, 5).join(', ')}.`);
    }
  };

  app.post<{ Params: { provider: string; connectionId: string } }>('/webhooks/:provider/:connectionId', { bodyLimit }, async (request, reply) => {
    const { provider, connectionId } = request.params;
    const handler = PROVIDERS[provider as CrmProvider];
    if (!handler) throw new WebhookError(404, 'unknown_provider', `No webhook route for provider "${provider}".`);
    const { format } = handler;
    const rawBody = rawBodyOf(request, format);

    const cached = await connections.get(connectionId);
    if (!usable(cached, provider)) throw unknownConnection(provider, connectionId);
    const document = decodedOnce(() => format.decode(rawBody));
    const delivery = { rawBody, document, headers: request.headers, method: request.method, uri: deliveryUri(request, options.publicUrl), now: now(), toleranceMs };
    const { connection } = await verified(handler, delivery, connectionId, cached, provider);

    const parsed = handler.parse(document(), { headers: request.headers });
    if (parsed.unsupported.length > 0) request.log.warn({ connectionId, provider, unsupported: parsed.unsupported }, 'unsupported webhook events ignored');
    refuseIfOnlyUnsupported([parsed]);
    await signalAll(request, [{ connection, events: parsed.events }]);
    request.log.info({ connectionId, provider, accepted: parsed.events.length, ms: Math.round(reply.elapsedTime) }, 'webhook accepted');
    const answer = format.accepted(parsed.events.length);
    return reply.code(answer.status).type(answer.contentType).send(answer.body);
  });

  /**
   * `POST /webhooks/hubspot/app/:appId`: HubSpot keeps one target URL per app [H86], so every
   * portal that installed the app delivers here; each event names its portal [H22]. The events are
   * grouped by portal and each group goes to the connections registered for (app, portal). Every
   * connection the delivery reaches must verify its signature, and a malformed event refuses the
   * whole delivery, before anything is signalled. A delivery no active connection holds any portal
   * of is refused (404, as on a connection's own route); in a delivery that also reaches others,
   * the events of such a portal are acknowledged with the rest and dropped (logged), since one
   * answer covers the whole batch.
   */
  app.post<{ Params: { appId: string } }>('/webhooks/hubspot/app/:appId', { bodyLimit }, async (request, reply) => {
    const handler = PROVIDERS.hubspot as ProviderHandler;
    const { appId } = request.params;
    const rawBody = rawBodyOf(request, handler.format);
    if (!/^[1-9]\d{0,17}$/.test(appId)) throw new WebhookError(404, 'unknown_connection', `No HubSpot app "${appId}".`);
    const document = decodedOnce(() => handler.format.decode(rawBody));
    const byPortal = eventsByPortal(document());

    const targets: { connectionId: string; entry: WebhookConnection; events: unknown[] }[] = [];
    const unrouted: number[] = [];
    for (const [portalId, events] of byPortal) {
      const ids = (await options.sharedRoutes?.connectionsByDispatchKey(hubspotDispatchKey(Number(appId), portalId))) ?? [];
      const before = targets.length;
      for (const connectionId of ids) {
        const entry = await connections.get(connectionId);
        if (usable(entry, 'hubspot')) targets.push({ connectionId, entry, events });
      }
      if (targets.length === before) unrouted.push(portalId);
    }
    if (targets.length === 0) throw new WebhookError(404, 'unknown_connection', `No active hubspot connection of app ${appId} for portal ${unrouted.join(', ')}.`);

    const delivery = { rawBody, document, headers: request.headers, method: request.method, uri: deliveryUri(request, options.publicUrl), now: now(), toleranceMs };
    const checked: { connection: WebhookConnection['connection']; parsed: ParsedDelivery }[] = [];
    for (const target of targets) {
      const { connection } = await verified(handler, delivery, target.connectionId, target.entry, 'hubspot');
      checked.push({ connection, parsed: handler.parse(target.events, { headers: request.headers }) });
    }
    const unsupported = checked.flatMap((target) => target.parsed.unsupported);
    if (unsupported.length > 0) request.log.warn({ appId, unsupported }, 'unsupported webhook events ignored');
    if (unrouted.length > 0) request.log.warn({ appId, portals: unrouted }, 'webhook events of portals without an active connection acknowledged and dropped');
    refuseIfOnlyUnsupported(checked.map((target) => target.parsed));

    await signalAll(request, checked.map((target) => ({ connection: target.connection, events: target.parsed.events })));
    const accepted = checked.reduce((sum, target) => sum + target.parsed.events.length, 0);
    request.log.info({ appId, connectionIds: checked.map((target) => target.connection.id), accepted, ms: Math.round(reply.elapsedTime) }, 'webhook accepted');
    const answer = handler.format.accepted(accepted);
    return reply.code(answer.status).type(answer.contentType).send(answer.body);
  });
}

/** HubSpot's array of events, grouped by the portal each names (`portalId`, a positive integer [H22]). */
export function eventsByPortal(body: unknown): Map<number, unknown[]> {
  if (!Array.isArray(body)) throw invalidPayload('Expected a JSON array of events.');
  const groups = new Map<number, unknown[]>();
  for (const event of body) {
    const portalId = isRecord(event) ? event.portalId : undefined;
    if (typeof portalId !== 'number' || !Number.isSafeInteger(portalId) || portalId <= 0) throw invalidPayload('Each event needs a portalId.');
    const group = groups.get(portalId);
    if (group) group.push(event);
    else groups.set(portalId, [event]);
  }
  return groups;
}

function deliveryUri(request: FastifyRequest, publicUrl: string | undefined): string {
  const base = publicUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.headers.host ?? request.hostname}`;
  return `${base}${request.url}`;
}

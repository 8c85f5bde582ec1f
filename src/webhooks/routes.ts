import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CrmProvider } from '../model/identifiers';
import type { ConnectionsRepository } from '../store/connections-repository';
import { fromFrameworkError, WebhookError } from './errors';
import type { DeliveryParser } from './parse';
import { parseDynamics } from './parse-dynamics';
import { parseHubSpot } from './parse-hubspot';
import { parsePipedrive } from './parse-pipedrive';
import { parseSalesforce } from './parse-salesforce';
import { parseZoho } from './parse-zoho';
import { webhookCredentials } from './secrets';
import { temporalSignalConnection, type SignalConnection, type TemporalSignalOptions } from './signal';
import { DEFAULT_TOLERANCE_MS, type Verifier } from './verify';
import { verifyDynamics } from './verify-dynamics';
import { verifyHubSpot } from './verify-hubspot';
import { verifyPipedrive } from './verify-pipedrive';
import { verifySalesforce } from './verify-salesforce';
import { verifyZoho } from './verify-zoho';

export interface WebhookRouteOptions {
  connections: Pick<ConnectionsRepository, 'getConnection' | 'loadCredentials'>;
  /** A Temporal client and task queue, or a function doing the signalWithStart. */
  signal: SignalConnection | TemporalSignalOptions;
  /**
   * The shim's public base URL as configured at the vendor (e.g. `https://hooks.example.com`), for
   * HubSpot's v3 signature over the URI. Default: the request's own scheme and Host header.
   */
  publicUrl?: string;
  /** Largest accepted body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** How old (or early) a signed timestamp may be. Default 5 minutes. */
  toleranceMs?: number;
  /** Seconds in `Retry-After` when Temporal is unreachable. Default 5. */
  retryAfterSeconds?: number;
  now?: () => number;
}

interface ProviderHandler {
  verify: Verifier;
  parse: DeliveryParser;
}

const PROVIDERS: Partial<Record<CrmProvider, ProviderHandler>> = {
  salesforce: { verify: verifySalesforce, parse: parseSalesforce },
  hubspot: { verify: verifyHubSpot, parse: parseHubSpot },
  dynamics: { verify: verifyDynamics, parse: parseDynamics },
  pipedrive: { verify: verifyPipedrive, parse: parsePipedrive },
  zoho: { verify: verifyZoho, parse: parseZoho },
};

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * `POST /webhooks/:provider/:connectionId`: content type and size -> connection -> signature ->
 * JSON -> change notices -> signalWithStart -> 202 `{ accepted }`. No CRM is called here. Every
 * refusal is `{ code, message }` and signals nothing.
 */
export async function webhookRoutes(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const toleranceMs = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const now = options.now ?? Date.now;
  const retryAfter = String(options.retryAfterSeconds ?? 5);
  const signal = typeof options.signal === 'function' ? options.signal : temporalSignalConnection(options.signal);

  // Raw bytes only: signatures are over the body as sent, so JSON is parsed after verification.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const refusal = error instanceof WebhookError ? error : fromFrameworkError(error);
    if (refusal.statusCode >= 500) request.log.error({ err: { name: error.name, code: error.code } }, 'webhook failed');
    else request.log.info({ code: refusal.code }, 'webhook refused');
    return reply.code(refusal.statusCode).headers(refusal.headers).send(refusal.toBody());
  });

  app.post<{ Params: { provider: string; connectionId: string } }>('/webhooks/:provider/:connectionId', { bodyLimit }, async (request, reply) => {
    const { provider, connectionId } = request.params;
    const handler = PROVIDERS[provider as CrmProvider];
    if (!handler) throw new WebhookError(404, 'unknown_provider', `No webhook route for provider "${provider}".`);
    if (!Buffer.isBuffer(request.body)) {
      throw new WebhookError(415, 'unsupported_media_type', 'Webhook bodies must be sent as application/json.');
    }
    const rawBody = request.body;

    const connection = await options.connections.getConnection(connectionId);
    if (!connection || connection.provider !== provider || connection.status === 'disabled') {
      throw new WebhookError(404, 'unknown_connection', `No ${provider} connection "${connectionId}".`);
    }
    const secrets = webhookCredentials(await options.connections.loadCredentials(connectionId)) ?? {};
    handler.verify({ rawBody, headers: request.headers, method: request.method, uri: deliveryUri(request, options.publicUrl), secrets, now: now(), toleranceMs });

    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new WebhookError(400, 'malformed_json', 'The request body is not valid JSON.');
    }
    const parsed = handler.parse(body, { headers: request.headers });
    if (parsed.unsupported.length > 0) request.log.warn({ connectionId, provider, unsupported: parsed.unsupported }, 'unsupported webhook events ignored');
    if (parsed.events.length === 0 && parsed.unsupported.length > 0) {
      throw new WebhookError(422, 'unsupported_event', `Unsupported event type: ${parsed.unsupported.slice(0, 5).join(', ')}.`);
    }

    if (parsed.events.length > 0) {
      try {
        await signal({ tenantId: connection.tenantId, connectionId }, { events: parsed.events });
      } catch (error) {
        request.log.error({ connectionId, err: { name: (error as Error).name } }, 'signalWithStart failed');
        throw new WebhookError(503, 'temporal_unavailable', 'The sync engine is unreachable; retry later.', { 'retry-after': retryAfter });
      }
    }
    request.log.info({ connectionId, provider, accepted: parsed.events.length }, 'webhook accepted');
    return reply.code(202).send({ accepted: parsed.events.length });
  });
}

function deliveryUri(request: FastifyRequest, publicUrl: string | undefined): string {
  const base = publicUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.headers.host ?? request.hostname}`;
  return `${base}${request.url}`;
}

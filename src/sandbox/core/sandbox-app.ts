import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { SandboxCounters } from './counters';
import type { FaultConfig, FaultInjector } from './faults';
import type { WebhookChaos, WebhookDispatcher } from './webhook-dispatcher';

/** Routes under this prefix are the sandbox's own admin surface: never faulted, limited or counted. */
export const ADMIN_PREFIX = '/__sandbox';

export interface SandboxAppOptions {
  faults: FaultInjector;
  counters: SandboxCounters;
  webhooks: WebhookDispatcher;
  /** Answers an injected fault in the vendor's own shape (status, body, headers). */
  renderFault(kind: 'server-error' | 'rate-limit', request: FastifyRequest, reply: FastifyReply): FastifyReply;
  /** Route patterns (as registered) of the vendor's token endpoint, for `FaultConfig.tokenEndpointOnly`. */
  tokenRoutes?: readonly string[];
  /** Answers an injected fault at the token endpoint, where the vendor's answer differs from its API's (default: renderFault). */
  renderTokenFault?(kind: 'server-error' | 'rate-limit', request: FastifyRequest, reply: FastifyReply): FastifyReply;
  /** Bytes; Bulk API 2.0 uploads may be up to 150 MB. */
  bodyLimit?: number;
  /** The vendor's clock (CommonSandboxOptions.now): every answer's `Date` header reads it. */
  now?: () => number;
}

/**
 * The HTTP shell every sandbox shares: content types the vendors use, injected latency and
 * faults, per-endpoint counters, and the common admin routes (counters, faults, webhook target).
 * Vendor routes are added by the caller.
 */
export function createSandboxApp(options: SandboxAppOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 160 * 1024 * 1024, forceCloseConnections: true, logger: false });

  // Bodies the vendors send that are not JSON: CSV (Bulk 2.0), multipart/mixed ($batch) and
  // form-encoded token requests. Kept as text; the vendor route parses them.
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser(/^multipart\/mixed/, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith(ADMIN_PREFIX)) return;
    const route = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
    options.counters.countRequest(route);
    const latency = options.faults.latencyMs();
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const atTokenEndpoint = options.tokenRoutes?.includes(request.routeOptions.url ?? '') ?? false;
    if (!options.faults.covers(atTokenEndpoint, route)) return;
    const fault = options.faults.decide();
    if (fault.kind === 'none') return;
    options.counters.injectedFaults += 1;
    if (fault.kind === 'timeout') {
      // Hold the request open and never answer: the client's own timeout must fire.
      reply.hijack();
      return;
    }
    if (fault.kind === 'rate-limit') options.counters.rateLimited += 1;
    if (atTokenEndpoint && options.renderTokenFault) return options.renderTokenFault(fault.kind, request, reply);
    return options.renderFault(fault.kind, request, reply);
  });

  // The vendor's own clock, the one its stamps come from: a client measuring skew or waiting for
  // the vendor's next second reads it here (tests may move it).
  const now = options.now ?? Date.now;
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('date', new Date(now()).toUTCString());
    return payload;
  });

  app.get(`${ADMIN_PREFIX}/counters`, async () => options.counters.snapshot());
  app.delete(`${ADMIN_PREFIX}/counters`, async (_request, reply) => {
    options.counters.reset();
    return reply.code(204).send();
  });
  app.get(`${ADMIN_PREFIX}/faults`, async () => options.faults.current());
  app.put<{ Body: FaultConfig }>(`${ADMIN_PREFIX}/faults`, async (request) => {
    options.faults.configure(request.body ?? {});
    return options.faults.current();
  });
  app.put<{ Body: { url?: string; chaos?: WebhookChaos } }>(`${ADMIN_PREFIX}/webhooks`, async (request) => {
    options.webhooks.setTarget(request.body?.url);
    if (request.body?.chaos) options.webhooks.setChaos(request.body.chaos);
    return { url: options.webhooks.target() ?? null };
  });

  return app;
}

/** Listens on 127.0.0.1 (port 0 = any free port) and returns the base URL. */
export async function listen(app: FastifyInstance, port = 0, host = '127.0.0.1'): Promise<string> {
  await app.listen({ port, host });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('sandbox did not bind a TCP port');
  return `http://${host}:${address.port}`;
}

import type { Tracer } from '@opentelemetry/api';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { codecEndpoint, type CodecEndpointOptions } from '../codec/endpoint';
import { oauthRoutes, type OAuthRouteOptions } from './oauth-route';
import { instrumentShim } from './observability';
import { webhookRoutes, type WebhookRouteOptions } from './routes';

/** A dependency the shim needs before it can accept webhooks: resolves when reachable, throws otherwise. */
export type ReadinessCheck = () => Promise<void>;

export interface ShimDependencies {
  readiness: Record<string, ReadinessCheck>;
  /** The webhook routes' dependencies; without them only the health routes exist. */
  webhooks?: WebhookRouteOptions;
  /** The OAuth consent callback (`GET /oauth/:provider/callback`); without it the route does not exist. */
  oauth?: OAuthRouteOptions;
  /** The Temporal codec endpoint (src/codec/endpoint.ts), served under `/codec` when given. */
  codec?: CodecEndpointOptions;
  /** Traces each webhook delivery (src/webhooks/observability.ts); unset, only metrics are kept. */
  tracer?: Tracer | undefined;
  /** Fastify's pino logger: off by default (tests); `true` or options in production. Query strings are redacted. */
  logger?: FastifyServerOptions['logger'];
}

/**
 * Request logs without query strings (Dynamics' `?code=` is the webhook key) and without headers
 * (signatures, HttpHeader keys).
 */
export function redactedLogger(options: Exclude<FastifyServerOptions['logger'], undefined | boolean> | true): FastifyServerOptions['logger'] {
  const base = options === true ? {} : options;
  return {
    ...base,
    serializers: {
      req: (request: { method: string; url: string }) => ({ method: request.method, url: request.url.split('?')[0] }),
      res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
    },
  };
}

/**
 * The webhook shim's HTTP app: liveness and readiness, so orchestration (compose, k8s)
 * can route traffic only to a shim that can reach Temporal and PostgreSQL; and, given its
 * dependencies, `POST /webhooks/:provider/:connectionId` (verify -> validate -> signalWithStart -> 202, or the SOAP Ack for Salesforce).
 */
export function buildShimApp(dependencies: ShimDependencies): FastifyInstance {
  const logger = dependencies.logger ? redactedLogger(dependencies.logger) : false;
  // A delivery logs one line of its own (accepted, refused or failed, with its connection):
  // Fastify's "incoming request" / "request completed" pair would triple the lines at hundreds
  // of deliveries per second. Other routes (health, codec) keep theirs.
  const logController = new LogController({ disableRequestLogging: (request) => request.url.startsWith('/webhooks/') });
  const app = Fastify({ logger, logController });

  // Graceful shutdown: close() waits for every open connection, and vendors keep theirs alive
  // (Fastify's keep-alive timeout is 72 s). A response sent while closing ends its connection, so
  // close() resolves once the in-flight deliveries are answered.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });

  instrumentShim(app, dependencies.tracer);

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, { ok: boolean; error?: string }> = {};
    await Promise.all(
      Object.entries(dependencies.readiness).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          checks[name] = { ok: true };
        } catch (error) {
          checks[name] = { ok: false, error: describe(error) };
        }
      }),
    );
    const ready = Object.values(checks).every((result) => result.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
  });

  const webhooks = dependencies.webhooks;
  if (webhooks) void app.register(async (scope) => webhookRoutes(scope, webhooks));
  const oauth = dependencies.oauth;
  if (oauth) void app.register(async (scope) => oauthRoutes(scope, oauth));
  if (dependencies.codec) void app.register(codecEndpoint, { ...dependencies.codec, prefix: '/codec' });

  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Error text without connection strings: a readiness answer is public, credentials are not. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\b[a-z]+:\/\/[^\s@]*@/gi, '<redacted>@').slice(0, 200);
}

import Fastify, { type FastifyInstance } from 'fastify';

/** A dependency the shim needs before it can accept webhooks: resolves when reachable, throws otherwise. */
export type ReadinessCheck = () => Promise<void>;

export interface ShimDependencies {
  readiness: Record<string, ReadinessCheck>;
}

/**
 * The webhook shim's HTTP app. For now: liveness and readiness, so orchestration (compose, k8s)
 * can route traffic only to a shim that can reach Temporal and PostgreSQL. Webhook routes
 * (verify -> validate -> signalWithStart -> 202) are added by the shim issue.
 */
export function buildShimApp(dependencies: ShimDependencies): FastifyInstance {
  const app = Fastify({ logger: false });

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

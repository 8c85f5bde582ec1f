import type { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type pg from 'pg';
import { codecEndpointOptions } from '../codec/endpoint-config';
import type { Config } from '../config';
import { WebhookSubscriptionsRepository } from '../store/webhook-subscriptions-repository';
import type { ConnectionsRepository } from '../store/connections-repository';
import { buildShimApp } from '../webhooks/app';

export interface DemoShim {
  /** Base URL the sandboxes deliver to, e.g. http://127.0.0.1:8080 */
  url: string;
  /** `<url>/webhooks/<provider>/<connectionId>` */
  webhookUrl(provider: string, connectionId: string): string;
  /** Whether `/codec` is served (CODEC_OPERATOR_TOKEN or CODEC_ALLOW_NO_TOKEN set). */
  codecEndpoint: boolean;
  /** Finishes in-flight requests, then stops listening. */
  stop(): Promise<void>;
}

/**
 * The webhook shim of `npm run shim`, in the demo's process: same app, same dependencies, on
 * SHIM_PORT. The sandboxes deliver straight to it, so SHIM_PUBLIC_URL (a proxy's address) does
 * not apply. Request logs are off (the demo prints its own lines); warnings and errors still show,
 * redacted as in production.
 */
export async function startDemoShim(config: Config, deps: { pool: pg.Pool; connections: ConnectionsRepository; client: Client; connection: Connection; payloadCodec: PayloadCodec }): Promise<DemoShim> {
  const codec = codecEndpointOptions(config, deps.payloadCodec);
  const app = buildShimApp({
    logger: { level: 'warn' },
    readiness: {
      postgres: async () => {
        await deps.pool.query('SELECT 1');
      },
      temporal: async () => {
        await deps.connection.healthService.check({});
      },
    },
    webhooks: {
      connections: deps.connections,
      signal: { client: deps.client, taskQueue: config.TEMPORAL_TASK_QUEUE },
      sharedRoutes: new WebhookSubscriptionsRepository(deps.pool),
    },
    // `/codec` for the Web UI and the temporal CLI, as `npm run shim` serves it (when configured).
    ...(codec ? { codec } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: config.SHIM_PORT });
  const url = `http://127.0.0.1:${config.SHIM_PORT}`;
  return {
    url,
    codecEndpoint: codec !== undefined,
    webhookUrl: (provider, connectionId) => `${url}/webhooks/${provider}/${connectionId}`,
    stop: () => app.close(),
  };
}

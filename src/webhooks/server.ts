/** `npm run shim`: the webhook shim process. */
import { Client, Connection } from '@temporalio/client';
import { codecDataConverter, loadPayloadCodec } from '../codec/data-converter';
import { CODEC_ENDPOINT_DISABLED, codecEndpointOptions } from '../codec/endpoint-config';
import { loadConfigOrExit } from '../config';
import { clientTracingInterceptors, tracingFromEnvironment } from '../observability/tracing';
import { storedWebhookRegistration } from '../lifecycle/webhook-registration';
import { ConnectionTokensRepository } from '../store/connection-tokens-repository';
import { ConnectionsRepository } from '../store/connections-repository';
import { WebhookSubscriptionsRepository } from '../store/webhook-subscriptions-repository';
import { createPool } from '../store/database';
import { consentCallbackDependencies } from '../oauth/callback-dependencies';
import { loadOAuthApps } from '../oauth/oauth-apps';
import { CredentialCipher } from '../store/credential-cipher';
import { loadEncryptionKeyring } from '../store/keyring';
import { buildShimApp } from './app';
import { temporalSignalConnection } from './signal';

const config = loadConfigOrExit();
const pool = createPool(config.DATABASE_URL, { max: 4 });
// Lazy: the shim starts (and answers 503 + Retry-After to webhooks, not-ready to /readyz) while Temporal is down.
// Address, TLS and API key: the envconfig settings the worker and the CLI use too.
const temporal = Connection.lazy({ ...config.temporal.connectionOptions, connectTimeout: 2000 });
// The worker's codec: the change notices this client signals are encrypted in history too.
const payloadCodec = await loadPayloadCodec(config);
const tracing = tracingFromEnvironment('crm-sync-shim');
const interceptors = clientTracingInterceptors(tracing);
const client = new Client({ connection: temporal, namespace: config.TEMPORAL_NAMESPACE, dataConverter: codecDataConverter(payloadCodec), ...(interceptors ? { interceptors } : {}) });
const codec = codecEndpointOptions(config, payloadCodec);
const keyring = await loadEncryptionKeyring(config);
const cipher = new CredentialCipher(keyring.keys, keyring.activeKeyId);
const connections = new ConnectionsRepository(pool, cipher);
// The operator's OAuth apps (CRM_SYNC_OAUTH_*): a bad variable stops the shim here, naming it.
let oauthApps;
try {
  oauthApps = loadOAuthApps();
} catch (error) {
  console.error((error as Error).message);
  process.exit(78);
}
// New connections' webhooks are registered by the consent callback, through the workers' shared tokens.
const tokens = new ConnectionTokensRepository(pool, cipher, { lockPoolSize: 1 });
const webhookRegistration = storedWebhookRegistration({ pool, connections, tokens, publicUrl: config.SHIM_PUBLIC_URL });
const startWorkflow = temporalSignalConnection({ client, taskQueue: config.TEMPORAL_TASK_QUEUE, timeoutMs: 10_000 });

const app = buildShimApp({
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
  tracer: tracing?.tracer,
  readiness: {
    postgres: async () => {
      await pool.query('SELECT 1');
    },
    temporal: async () => {
      await temporal.healthService.check({});
    },
  },
  webhooks: {
    connections,
    signal: { client, taskQueue: config.TEMPORAL_TASK_QUEUE },
    // HubSpot's per-app route finds each portal's connection among the registrations.
    sharedRoutes: new WebhookSubscriptionsRepository(pool),
    // The base URL HubSpot is configured with, when the shim sits behind a proxy (signature v3 covers the URI).
    ...(config.SHIM_PUBLIC_URL ? { publicUrl: config.SHIM_PUBLIC_URL } : {}),
  },
  oauth: consentCallbackDependencies({ apps: oauthApps, keyring, db: pool, cipher, connections, webhooks: webhookRegistration, startWorkflow: (target) => startWorkflow(target, { events: [] }) }),
  ...(codec ? { codec } : {}),
});

await app.listen({ host: '0.0.0.0', port: config.SHIM_PORT });
console.log(`Webhook shim listening on :${config.SHIM_PORT} (GET /healthz, /readyz, /metrics; POST /webhooks/:provider/:connectionId, /webhooks/hubspot/app/:appId; GET /oauth/:provider/callback); Temporal at ${config.temporal.description}.`);
console.log(codec ? `Codec endpoint: POST /codec/decode, /codec/encode (${codec.operatorToken ? 'operator token required' : 'NO token: development only'}).` : CODEC_ENDPOINT_DISABLED);

// Finish in-flight requests, then release connections.
const shutdown = async (): Promise<void> => {
  await app.close();
  await tracing?.shutdown();
  await temporal.close();
  await tokens.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities } from './activities';
import { ensureSupervisorSchedule, SUPERVISOR_SCHEDULE_ID, type SupervisorScheduleOptions } from './client/supervisor-schedule';
import { createStoredConnectionRegistry, type StoredConnectionRegistryOptions } from './connectors/stored-connections';
import { CanonicalRecordsRepository } from './store/canonical-records-repository';
import { ConflictsRepository } from './store/conflicts-repository';
import { HeldDeletionsRepository } from './store/held-deletions-repository';
import { ParkedRecordsRepository } from './store/parked-records-repository';
import { PendingReferencesRepository } from './store/pending-references-repository';
import { loadConfigOrExit, type Config } from './config';
import { diagnoseTls } from './temporal/connection-settings';
import { ConnectionsRepository } from './store/connections-repository';
import { WebhookSubscriptionsRepository } from './store/webhook-subscriptions-repository';
import { ConnectionTokensRepository } from './store/connection-tokens-repository';
import { createPool } from './store/database';
import { loadCredentialCipher } from './store/keyring';
import { codecDataConverter, loadPayloadCodec } from './codec/data-converter';
import { RecordLinksRepository } from './store/record-links-repository';
import { startMetricsServer } from './observability/metrics-endpoint';
import { installTemporalRuntime } from './observability/temporal-runtime';
import { clientTracingInterceptors, tracingFromEnvironment, workerTracingOptions, type Tracing } from './observability/tracing';

const here = fileURLToPath(import.meta.url);
export const WORKFLOWS_PATH = path.join(path.dirname(here), 'workflows', 'index.ts');
/**
 * Compiled (`npm run build` wrote this module as dist/worker.js), the worker runs the workflow
 * bundle built beside it: dist holds no workflow sources to bundle, and production images carry
 * no TypeScript. From source (tsx), src/workflows is bundled at start-up as before.
 */
export const COMPILED_WORKFLOW_BUNDLE_PATH = here.endsWith('.ts') ? undefined : path.join(path.dirname(here), 'workflow-bundle.js');

export interface WorkerContext {
  config: Config;
  /**
   * Overrides only the address of `config.temporal` (TLS, API key and namespace stay as
   * configured): the demo and tests pass the dev server they started. Unset: the configured one.
   */
  address?: string;
  pool: pg.Pool;
  /**
   * The supervisor schedule ensured at start-up (src/client/supervisor-schedule.ts); `false` to
   * leave it alone.
   * @default { interval: '1 minute' }
   */
  supervisorSchedule?: Omit<SupervisorScheduleOptions, 'taskQueue'> | false;
  log?: (line: string) => void;
  /**
   * Options for every connector this worker builds, e.g. `{ rateLimits: false }` for the engine
   * ceiling benchmark (bench/), which measures the engine without the vendors' budgets.
   */
  connectorDefaults?: StoredConnectionRegistryOptions['defaults'];
  /** Tracing for this worker's activities, workflows and client (src/observability/tracing.ts); unset: off. */
  tracing?: Tracing | undefined;
}

/**
 * Registers every workflow and activity on the task queue and makes sure the supervisor schedule
 * exists (idempotent, so every worker may do it); `run()` it, `shutdown()` to stop.
 */
export async function createWorker({ config, address, pool, supervisorSchedule = {}, log, connectorDefaults, tracing }: WorkerContext): Promise<Worker> {
  const cipher = await loadCredentialCipher(config);
  const connections = new ConnectionsRepository(pool, cipher);
  const connection = await NativeConnection.connect({ ...config.temporal.connectionOptions, ...(address ? { address } : {}) });
  // The supervisor's activity starts connection workflows through the worker's own connection.
  // Record data in history is encrypted; worker and client share the codec (src/codec).
  const dataConverter = codecDataConverter(await loadPayloadCodec(config));
  const interceptors = clientTracingInterceptors(tracing);
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter, ...(interceptors ? { interceptors } : {}) });
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  if (supervisorSchedule) {
    const outcome = await ensureSupervisorSchedule(client, { ...supervisorSchedule, taskQueue });
    log?.(`Supervisor schedule "${supervisorSchedule.scheduleId ?? SUPERVISOR_SCHEDULE_ID}": ${outcome}.`);
  }
  const source = workflowSource(config);
  return Worker.create({
    connection,
    dataConverter,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    // A prebuilt bundle keeps webpack (and the ~100 MB it leaves resident) out of the worker process.
    ...source,
    ...workerTracingOptions(tracing, 'workflowBundle' in source),
    activities: createActivities({
      connections,
      links: new RecordLinksRepository(pool),
      canonical: new CanonicalRecordsRepository(pool),
      conflicts: new ConflictsRepository(pool),
      pending: new PendingReferencesRepository(pool),
      parked: new ParkedRecordsRepository(pool),
      held: new HeldDeletionsRepository(pool),
      connectors: createStoredConnectionRegistry({ connections, pool, tokens: new ConnectionTokensRepository(pool, cipher), defaults: connectorDefaults }),
      temporal: { client, taskQueue },
      webhookSubscriptions: new WebhookSubscriptionsRepository(pool),
    }),
  });
}

function workflowSource(config: Config): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = config.WORKFLOW_BUNDLE_PATH ?? COMPILED_WORKFLOW_BUNDLE_PATH;
  return bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: WORKFLOWS_PATH };
}

// `npm run worker` (from source) or `node dist/worker.js` (compiled): the worker alone, against
// the Temporal settings of the environment (src/temporal/connection-settings.ts) or the local dev server.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const config = loadConfigOrExit();
  const pool = createPool(config.DATABASE_URL);
  // Before the first connection: the SDK's runtime (and its metrics exporter) is created once per process.
  const sdkMetricsUrl = installTemporalRuntime(config.TEMPORAL_METRICS_BIND_ADDRESS);
  const metrics = await startMetricsServer({ host: config.METRICS_HOST, port: config.METRICS_PORT, sdkMetricsUrl });
  const tracing = tracingFromEnvironment('crm-sync-worker');
  const worker = await createWorker({ config, pool, log: console.log, tracing }).catch(async (error: unknown) => {
    // One line an operator can act on (a TLS refusal names its cause), not a stack trace; 69: EX_UNAVAILABLE.
    const tls = await diagnoseTls(config.temporal);
    console.error(`Worker cannot start against Temporal at ${config.temporal.description}: ${error instanceof Error ? error.message : String(error)}${tls ? `; ${tls}` : ''}`);
    process.exit(69);
  });
  console.log(`Worker polling task queue "${config.TEMPORAL_TASK_QUEUE}" on Temporal at ${config.temporal.description}.`);
  console.log(`Metrics: GET ${metrics.url} (port ${config.METRICS_PORT}); tracing ${tracing ? 'on (OTLP)' : 'off (set OTEL_TRACES_EXPORTER=otlp)'}.`);
  await worker.run();
  await tracing?.shutdown();
  await metrics.close();
  await pool.end();
}

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { codecDataConverter } from '../../src/codec/data-converter';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { buildWorkflowBundle } from '../../src/build-workflow-bundle';
import { loadConfig } from '../../src/config';
import { findFreePort, startDevServer, type RunningDevServer } from '../../src/devserver/dev-server';
import { resolveTemporalCli } from '../../src/devserver/temporal-cli';
import type { SyncSettings } from '../../src/model/sync-settings';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions } from '../../src/sandbox/hubspot';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { createPool, ensureDatabase, quoteIdentifier } from '../../src/store/database';
import { migrateUp } from '../../src/store/migrate';

/**
 * The real product, assembled for one benchmark run: a Temporal dev server of its own (in memory,
 * free port, started through src/devserver like `npm start`), a private PostgreSQL schema,
 * Salesforce and HubSpot sandboxes over HTTP in this process, tenant and sealed connections, and
 * the worker as a separate process (src/worker.ts's createWorker), so its CPU and memory are its own.
 */
export interface StackOptions {
  salesforceContacts: number;
  /** HubSpot's real limits (100 requests per 10 s per app), or off. */
  hubspotLimits: boolean;
  /** The worker's client-side budgets; off for the engine ceiling. */
  workerRateLimits: boolean;
  /** Where the worker writes the CPU profile `profileWorker` asks for. */
  workerCpuProfileDir?: string;
  /** Extra node flags for the worker process, e.g. `--max-old-space-size=…`. */
  workerNodeFlags?: string[];
  /**
   * Run the worker on a workflow bundle built beforehand (`npm run build:workflows`, as a
   * deployment would), not bundling at start-up. Default true.
   */
  prebuiltWorkflowBundle?: boolean;
  sync?: Partial<SyncSettings>;
  /** Salesforce changes heard through Change Data Capture (the sandbox's Pub/Sub API) rather than webhooks. */
  salesforceChangeEvents?: boolean;
  hubspot?: Omit<HubSpotSandboxOptions, 'limits'>;
  log?: (line: string) => void;
}

export interface Stack {
  tenantId: string;
  taskQueue: string;
  client: Client;
  pool: pg.Pool;
  schema: string;
  databaseUrl: string;
  temporalAddress: string;
  temporalServerPid: number | undefined;
  connections: ConnectionsRepository;
  /** Environment for product processes (worker, shim) pointed at this stack. */
  productEnv: NodeJS.ProcessEnv;
  salesforce: { id: string; sandbox: SalesforceSandbox };
  hubspot: { id: string; sandbox: HubSpotSandbox };
  worker: ChildProcess;
  /** Asks the worker to start its main-thread CPU profile; `stop` ends it and gives the file. */
  profileWorker(): Promise<{ stop(): Promise<string> }>;
  /** The worker's own `process.memoryUsage()` (heap used vs RSS). */
  workerMemory(): Promise<NodeJS.MemoryUsage>;
  /** Rejects if the worker process dies before stopWorker (a crash); benchmarks race their waits with it. */
  workerCrashed: Promise<never>;
  /** Stops the worker gracefully and waits for it. */
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(here, '..', '..');

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => undefined);
  const config = loadConfig();

  // Temporal: TEMPORAL_ADDRESS if given, else a dev server of our own.
  let devServer: RunningDevServer | undefined;
  let temporalAddress = config.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    const cli = await resolveTemporalCli({ cacheDir: path.resolve(PROJECT_ROOT, config.CRM_SYNC_CACHE_DIR), explicitPath: config.TEMPORAL_CLI_PATH, log });
    devServer = await startDevServer({ cliPath: cli.path, port: await findFreePort() });
    temporalAddress = devServer.address;
  }
  log(`Temporal at ${temporalAddress}${devServer ? ' (dev server started for this run, in memory)' : ''}.`);

  // PostgreSQL: a private schema in the benchmark database.
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm_sync_bench';
  await ensureDatabase(databaseUrl);
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  await migrateUp({ databaseUrl, schema });
  const pool = createPool(databaseUrl, { schema, max: 4 });

  const key = randomBytes(32);
  const keys = new Map([['bench', key]]);
  const connections = new ConnectionsRepository(pool, new CredentialCipher(keys, 'bench'));
  const tenantId = `bench-${randomBytes(3).toString('hex')}`;
  const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
  await connections.addTenant(tenantId, 'Benchmark tenant');
  const sync = { pollIntervalMs: 60_000, debounceMs: 200, ...options.sync };

  log(`Seeding ${options.salesforceContacts.toLocaleString('en')} Salesforce contacts…`);
  const salesforceSandbox = await startSalesforceSandbox({ dailyApiRequests: false, seed: { contacts: options.salesforceContacts } });
  const hubspotSandbox = await startHubSpotSandbox({ ...options.hubspot, limits: options.hubspotLimits ? {} : false });
  const salesforceId = `${tenantId}-sf`;
  const hubspotId = `${tenantId}-hs`;
  const sf = salesforceSandbox.credentials;
  await connections.addConnection({
    id: salesforceId,
    tenantId,
    provider: 'salesforce',
    settings: {
      instanceUrl: sf.instanceUrl,
      loginUrl: salesforceSandbox.url,
      ...(options.salesforceChangeEvents ? { pubSub: { endpoint: sf.pubSubEndpoint, tls: false }, sync: { ...sync, changeEvents: 'cdc' } } : { sync }),
    },
    credentials: { grant: 'refresh_token', clientId: sf.clientId, clientSecret: sf.clientSecret, refreshToken: sf.refreshToken, webhook: { organizationId: sf.organizationId } },
  });
  await connections.addConnection({
    id: hubspotId,
    tenantId,
    provider: 'hubspot',
    settings: { basePath: hubspotSandbox.url, sync },
    credentials: { kind: 'private-app', accessToken: hubspotSandbox.credentials.accessToken, webhook: { secret: hubspotSandbox.credentials.webhookClientSecret } },
  });

  const productEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    // libpq's options parameter confines the product's own pools to the private schema.
    DATABASE_URL: `${databaseUrl}?options=${encodeURIComponent(`-c search_path=${quoteIdentifier(schema)}`)}`,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    CRM_SYNC_ENCRYPTION_KEYS: `bench:${key.toString('base64')}`,
    CRM_SYNC_ACTIVE_KEY_ID: 'bench',
  };

  const nodeFlags = [...(options.workerNodeFlags ?? [])];
  const workflowBundlePath = options.prebuiltWorkflowBundle === false ? undefined : await buildWorkflowBundle(path.join(os.tmpdir(), `crm-sync-bench-${taskQueue}.js`));
  if (options.workerCpuProfileDir) await mkdir(options.workerCpuProfileDir, { recursive: true });
  const worker = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(here, 'worker-main.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...productEnv,
      BENCH_SCHEMA: schema,
      ...(workflowBundlePath ? { WORKFLOW_BUNDLE_PATH: workflowBundlePath } : {}),
      BENCH_CONNECTOR_DEFAULTS: JSON.stringify(options.workerRateLimits ? {} : { rateLimits: false }),
      ...(options.workerCpuProfileDir ? { BENCH_PROFILE_DIR: options.workerCpuProfileDir } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const workerExited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping = false;
  const workerCrashed = new Promise<never>((_, reject) => {
    worker.once('exit', (code, signal) => {
      if (!stopping) reject(new Error(`the worker process died (code ${code}, signal ${signal})`));
    });
  });
  workerCrashed.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    worker.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('WORKER_READY')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`worker exited (code ${code}) before it was ready:\n${output}`)));
  });
  log(`Worker process ${worker.pid} polling task queue ${taskQueue}.`);

  const codec = EncryptionCodec.fromKeyring({ keys, activeKeyId: 'bench' });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, dataConverter: codecDataConverter(codec) });

  const stopWorker = async (): Promise<void> => {
    stopping = true;
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
    const forced = setTimeout(() => worker.kill('SIGKILL'), 30_000);
    await workerExited;
    clearTimeout(forced);
  };

  return {
    tenantId,
    taskQueue,
    client,
    pool,
    schema,
    databaseUrl,
    temporalAddress,
    temporalServerPid: devServer?.process.pid,
    connections,
    productEnv,
    salesforce: { id: salesforceId, sandbox: salesforceSandbox },
    hubspot: { id: hubspotId, sandbox: hubspotSandbox },
    worker,
    workerCrashed,
    stopWorker,
    workerMemory: async () => (await ask(worker, 'memory', 'memory')) as NodeJS.MemoryUsage,
    async profileWorker() {
      await ask(worker, 'profile-start', 'profileStarted');
      return { stop: async () => String(await ask(worker, 'profile-stop', 'profileWritten')) };
    },
    async stop() {
      salesforceSandbox.webhooks.setTarget(undefined);
      hubspotSandbox.webhooks.setTarget(undefined);
      for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
        await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('benchmark finished').catch(() => undefined);
      }
      await stopWorker();
      await connection.close();
      await Promise.all([salesforceSandbox.stop(), hubspotSandbox.stop()]);
      await pool.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
      await pool.end();
      await devServer?.stop();
      if (workflowBundlePath) await rm(workflowBundlePath, { force: true });
    },
  };
}

/** Sends a message to the worker and waits for the answer carrying `key`. */
function ask(worker: ChildProcess, message: string, key: string): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (answer: unknown): void => {
      if (typeof answer === 'object' && answer !== null && key in answer) {
        worker.off('message', onMessage);
        resolve((answer as Record<string, unknown>)[key]);
      }
    };
    worker.on('message', onMessage);
    worker.send(message);
  });
}

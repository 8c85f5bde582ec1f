import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowIdConflictPolicy } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { inject } from 'vitest';
import { createActivities } from '../../src/activities';
import type { ConnectorBaseOptions } from '../../src/connectors/connector-options';
import type { ConnectorRegistry } from '../../src/connectors/registry';
import type { SalesforceConnectorOptions } from '../../src/connectors/salesforce';
import { createStoredConnectionRegistry } from '../../src/connectors/stored-connections';
import type { CrmProvider } from '../../src/model/identifiers';
import type { SyncSettings } from '../../src/model/sync-settings';
import { startDynamicsSandbox, type DynamicsSandbox, type DynamicsSandboxOptions } from '../../src/sandbox/dynamics';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions } from '../../src/sandbox/hubspot';
import { startPipedriveSandbox, type PipedriveSandbox, type PipedriveSandboxOptions } from '../../src/sandbox/pipedrive';
import { startSalesforceSandbox, type SalesforceSandbox, type SalesforceSandboxOptions } from '../../src/sandbox/salesforce';
import { startZohoSandbox, type ZohoSandbox, type ZohoSandboxOptions } from '../../src/sandbox/zoho';
import { CanonicalRecordsRepository } from '../../src/store/canonical-records-repository';
import { ConflictsRepository } from '../../src/store/conflicts-repository';
import { HeldDeletionsRepository } from '../../src/store/held-deletions-repository';
import { ParkedRecordsRepository } from '../../src/store/parked-records-repository';
import { WebhookSubscriptionsRepository } from '../../src/store/webhook-subscriptions-repository';
import { PendingReferencesRepository } from '../../src/store/pending-references-repository';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { ConnectionTokensRepository } from '../../src/store/connection-tokens-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { codecDataConverter } from '../../src/codec/data-converter';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { RecordLinksRepository } from '../../src/store/record-links-repository';
import { clientTracingInterceptors, WORKFLOW_INTERCEPTOR_MODULES, workerTracingOptions, type Tracing } from '../../src/observability/tracing';
import { buildShimApp } from '../../src/webhooks/app';
import { WORKFLOWS_PATH } from '../../src/worker';
import type { SyncStatus } from '../../src/workflows/connection-sync-state';
import { changeNoticesSignal, syncStatusQuery, type ChangeNotices } from '../../src/workflows/messages';
import { createTestDatabase, type TestDatabase } from './test-database';

/**
 * Everything an end-to-end sync test needs, all real: a private PostgreSQL schema, sandbox CRMs
 * over HTTP, a tenant with stored (sealed) connections to them, and a worker running the real
 * workflows and activities on its own task queue of the shared dev server. The worker can be
 * killed and restarted mid-test.
 */
export interface SyncHarnessOptions {
  crms: readonly ('salesforce' | 'hubspot' | 'dynamics' | 'zoho' | 'pipedrive')[];
  sync?: Partial<SyncSettings>;
  salesforce?: SalesforceSandboxOptions;
  hubspot?: HubSpotSandboxOptions;
  dynamics?: DynamicsSandboxOptions;
  zoho?: ZohoSandboxOptions;
  pipedrive?: PipedriveSandboxOptions;
  /** Connector options for every connection (defaults: no client-side budget, 15 s timeouts). */
  connectorDefaults?: Partial<Omit<ConnectorBaseOptions, 'connectionId' | 'mappingOverride' | 'pool'>>;
  /** Options for one provider's connectors only, on top of connectorDefaults (e.g. Salesforce's bulk export page size). */
  providerConnectorOptions?: {
    salesforce?: Pick<SalesforceConnectorOptions, 'bulk'>;
  };
  /**
   * Worker tuning, e.g. a short heartbeat throttle so the server sees every checkpoint of a fast
   * activity, or activity interceptors that stand in for a failure's circumstances.
   */
  workerOptions?: Pick<WorkerOptions, 'maxHeartbeatThrottleInterval' | 'defaultHeartbeatThrottleInterval' | 'interceptors'>;
  /**
   * Start the webhook shim on 127.0.0.1 port 0, signalling this harness's task queue, and point
   * every sandbox's webhooks at `<shim>/webhooks/<provider>/<connection>`.
   */
  shim?: boolean;
  /**
   * Tracing for the worker, its client and the shim (src/observability/tracing.ts), e.g. with an
   * in-memory exporter. Unset: off, as in production without OTEL_* variables.
   */
  tracing?: Tracing;
  /** `host:port` of another Temporal server (e.g. a private one a test stops and restarts). Default: the shared dev server. */
  temporalAddress?: string;
  /** PostgreSQL to hold the harness's schema (default: the shared test database), e.g. a private server a test restarts. */
  databaseUrl?: string;
  /** The key sealing the harness's connections (default: a random one), e.g. to share it with a spawned `crm-sync`. */
  encryptionKey?: { id: string; key: Buffer };
}

export interface HarnessConnection<S> {
  id: string;
  provider: CrmProvider;
  sandbox: S;
}

export interface SyncHarness {
  tenantId: string;
  taskQueue: string;
  client: Client;
  db: TestDatabase;
  connectionsRepository: ConnectionsRepository;
  /** The payload codec the worker and client share (derived from the connections' key, as in production). */
  payloadCodec: EncryptionCodec;
  salesforce?: HarnessConnection<SalesforceSandbox>;
  hubspot?: HarnessConnection<HubSpotSandbox>;
  dynamics?: HarnessConnection<DynamicsSandbox>;
  zoho?: HarnessConnection<ZohoSandbox>;
  pipedrive?: HarnessConnection<PipedriveSandbox>;
  /** The webhook shim's base URL, with `shim: true`. */
  shimUrl?: string;
  /** `sync:<tenant>:<connection>` */
  syncWorkflowId(connectionId: string): string;
  /**
   * What the webhook shim does for a delivery: signalWithStart the connection's workflow with
   * change notices (an empty list just makes sure it runs).
   */
  notify(connectionId: string, notices?: ChangeNotices, input?: { continueAsNewAfterEvents?: number; parkedWindow?: number; heldWindow?: number }): Promise<void>;
  /** The connection workflow's status query. */
  syncStatus(connectionId: string): Promise<SyncStatus>;
  startWorker(): Promise<void>;
  /** Stops the worker abruptly (no graceful drain), as a crash would. */
  killWorker(): Promise<void>;
  stop(): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export async function startSyncHarness(options: SyncHarnessOptions): Promise<SyncHarness> {
  const db = await createTestDatabase(options.databaseUrl);
  const tenantId = `t-${randomBytes(4).toString('hex')}`;
  const taskQueue = `e2e-${randomUUID()}`;
  const key = options.encryptionKey ?? { id: 'test', key: randomBytes(32) };
  const cipher = new CredentialCipher(new Map([[key.id, key.key]]), key.id);
  const payloadCodec = EncryptionCodec.fromKeyring({ keys: new Map([[key.id, key.key]]), activeKeyId: key.id });
  const dataConverter = codecDataConverter(payloadCodec);
  const connectionsRepository = new ConnectionsRepository(db.pool, cipher);
  await connectionsRepository.addTenant(tenantId, 'E2E tenant');
  const sync = { pollIntervalMs: 60_000, debounceMs: 200, ...options.sync };

  const harness: Partial<SyncHarness> = {};
  if (options.crms.includes('salesforce')) {
    const sandbox = await startSalesforceSandbox({ dailyApiRequests: false, ...options.salesforce });
    const { instanceUrl, clientId, clientSecret, refreshToken } = sandbox.credentials;
    const id = `${tenantId}-sf`;
    await connectionsRepository.addConnection({
      id,
      tenantId,
      provider: 'salesforce',
      settings: { instanceUrl, loginUrl: sandbox.url, sync },
      credentials: { grant: 'refresh_token', clientId, clientSecret, refreshToken, webhook: { organizationId: sandbox.credentials.organizationId } },
    });
    harness.salesforce = { id, provider: 'salesforce', sandbox };
  }
  if (options.crms.includes('hubspot')) {
    const sandbox = await startHubSpotSandbox({ limits: false, ...options.hubspot });
    const id = `${tenantId}-hs`;
    await connectionsRepository.addConnection({
      id,
      tenantId,
      provider: 'hubspot',
      settings: { basePath: sandbox.url, sync },
      credentials: { kind: 'private-app', accessToken: sandbox.credentials.accessToken, webhook: { secret: sandbox.credentials.webhookClientSecret } },
    });
    harness.hubspot = { id, provider: 'hubspot', sandbox };
  }
  if (options.crms.includes('dynamics')) {
    const sandbox = await startDynamicsSandbox({ tls: true, serviceProtection: { enabled: false }, ...options.dynamics });
    const { tenantId: entraTenant = '', clientId = '', clientSecret = '', authority, scope } = sandbox.credentials;
    const id = `${tenantId}-dyn`;
    await connectionsRepository.addConnection({
      id,
      tenantId,
      provider: 'dynamics',
      settings: { orgUrl: sandbox.url, ca: sandbox.tls?.ca, sync },
      credentials: { tenantId: entraTenant, clientId, clientSecret, authority, scope, webhook: { key: sandbox.credentials.webhookKey } },
    });
    harness.dynamics = { id, provider: 'dynamics', sandbox };
  }
  if (options.crms.includes('zoho')) {
    const sandbox = await startZohoSandbox({ limits: false, ...options.zoho });
    const { region, accountsServer, apiDomain, clientId, clientSecret, refreshToken } = sandbox.credentials;
    const id = `${tenantId}-zoho`;
    await connectionsRepository.addConnection({
      id,
      tenantId,
      provider: 'zoho',
      settings: { region, accountsServer, apiDomain, sync },
      credentials: { clientId, clientSecret, refreshToken, webhook: { token: randomBytes(16).toString('hex') } },
    });
    harness.zoho = { id, provider: 'zoho', sandbox };
  }
  if (options.crms.includes('pipedrive')) {
    const sandbox = await startPipedriveSandbox({ limits: false, ...options.pipedrive });
    const id = `${tenantId}-pd`;
    await connectionsRepository.addConnection({
      id,
      tenantId,
      provider: 'pipedrive',
      settings: { apiDomain: sandbox.url, sync },
      credentials: { kind: 'api-token', apiToken: sandbox.credentials.apiToken, webhook: { user: sandbox.credentials.webhookUser, password: sandbox.credentials.webhookPassword } },
    });
    harness.pipedrive = { id, provider: 'pipedrive', sandbox };
  }

  const temporalAddress = options.temporalAddress ?? inject('temporalAddress');
  const connection = await Connection.connect({ address: temporalAddress });
  const interceptors = clientTracingInterceptors(options.tracing);
  const client = new Client({ connection, namespace: inject('temporalNamespace'), dataConverter, ...(interceptors ? { interceptors } : {}) });
  // As production bundles them (src/build-workflow-bundle.ts): with the OpenTelemetry workflow interceptors.
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES], logger: quietLogger });
  const workflowBundle = await bundle;

  let nativeConnection: NativeConnection | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;

  const startWorker = async (): Promise<void> => {
    nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    // A fresh registry per worker, as a new process would have (its own token and connector state).
    const defaults = { rateLimits: false as const, requestTimeoutMs: 15_000, ...options.connectorDefaults };
    // Tokens are shared through PostgreSQL as the product's workers share them.
    const tokens = new ConnectionTokensRepository(db.pool, cipher);
    const connectors = providerRoutedRegistry(connectionsRepository, createStoredConnectionRegistry({ connections: connectionsRepository, pool: db.pool, tokens, defaults }), {
      // The stored registry spreads its defaults into every factory's options: a provider's own
      // options ride along there, in a registry used only for that provider's connections.
      salesforce:
        options.providerConnectorOptions?.salesforce &&
        createStoredConnectionRegistry({ connections: connectionsRepository, pool: db.pool, tokens, defaults: { ...defaults, ...options.providerConnectorOptions.salesforce } }),
    });
    worker = await Worker.create({
      connection: nativeConnection,
      namespace: inject('temporalNamespace'),
      taskQueue,
      workflowBundle,
      dataConverter,
      ...workerTracingOptions(options.tracing, true),
      ...options.workerOptions,
      activities: createActivities({
        connections: connectionsRepository,
        links: new RecordLinksRepository(db.pool),
        canonical: new CanonicalRecordsRepository(db.pool),
        conflicts: new ConflictsRepository(db.pool),
        pending: new PendingReferencesRepository(db.pool),
        parked: new ParkedRecordsRepository(db.pool),
        held: new HeldDeletionsRepository(db.pool),
        connectors,
        // The supervisor starts connection workflows on this harness's own task queue.
        temporal: { client, taskQueue },
        webhookSubscriptions: new WebhookSubscriptionsRepository(db.pool),
      }),
    });
    running = worker.run();
  };

  const killWorker = async (): Promise<void> => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    // Closed once: a test that failed between a kill and the next start is stopped again in afterAll.
    const closing = nativeConnection;
    nativeConnection = undefined;
    worker = undefined;
    running = undefined;
    await closing?.close();
  };

  await startWorker();

  const shim = options.shim ? buildShimApp({ readiness: {}, tracer: options.tracing?.tracer, webhooks: { connections: connectionsRepository, signal: { client, taskQueue }, sharedRoutes: new WebhookSubscriptionsRepository(db.pool) } }) : undefined;
  if (shim) {
    const address = await shim.listen({ host: '127.0.0.1', port: 0 });
    harness.shimUrl = address;
    for (const target of [harness.salesforce, harness.hubspot, harness.dynamics]) {
      target?.sandbox.webhooks.setTarget(`${address}/webhooks/${target.provider}/${target.id}`);
    }
  }

  return {
    ...harness,
    tenantId,
    taskQueue,
    client,
    db,
    connectionsRepository,
    payloadCodec,
    syncWorkflowId: (connectionId) => `sync:${tenantId}:${connectionId}`,
    async notify(connectionId, notices = { events: [] }, input = {}) {
      await client.workflow.signalWithStart('connectionSync', {
        workflowId: `sync:${tenantId}:${connectionId}`,
        taskQueue,
        args: [{ tenantId, connectionId, ...input }],
        signal: changeNoticesSignal,
        signalArgs: [notices],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      });
    },
    syncStatus: (connectionId) => client.workflow.getHandle(`sync:${tenantId}:${connectionId}`).query(syncStatusQuery),
    startWorker,
    killWorker,
    async stop() {
      for (const target of [harness.salesforce, harness.hubspot, harness.dynamics]) target?.sandbox.webhooks.setTarget(undefined);
      await shim?.close();
      // Terminate what this test started, so nothing keeps polling the sandboxes.
      for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
        await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('test finished').catch(() => undefined);
      }
      await killWorker();
      await connection.close();
      await Promise.all([harness.salesforce?.sandbox.stop(), harness.hubspot?.sandbox.stop(), harness.dynamics?.sandbox.stop(), harness.zoho?.sandbox.stop(), harness.pipedrive?.sandbox.stop()]);
      await db.drop();
    },
  };
}

/** Routes a connection to its provider's registry when there is one, else to the shared one. */
function providerRoutedRegistry(connections: ConnectionsRepository, shared: ConnectorRegistry, byProvider: Partial<Record<CrmProvider, ConnectorRegistry | undefined>>): ConnectorRegistry {
  if (Object.values(byProvider).every((registry) => registry === undefined)) return shared;
  return {
    async forConnection(connectionId) {
      const connection = await connections.getConnection(connectionId);
      return ((connection && byProvider[connection.provider]) ?? shared).forConnection(connectionId);
    },
  };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

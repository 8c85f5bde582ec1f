import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildWorkflowBundle } from '../../src/build-workflow-bundle';
import { demoConnections } from '../../src/dev/demo-tenant';
import { startBackfill } from '../../src/client/backfill';
import { codecDataConverter } from '../../src/codec/data-converter';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import type { RateWindowPolicy } from '../../src/connectors/rate-budget';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { changeNoticesSignal } from '../../src/workflows/messages';
import { recordWrites } from '../support/sandbox-counters';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { createTestNamespace } from './support/namespace';
import { cleanEnvironment, startProcess } from './support/processes';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKERS = 3;
const CONTACTS = 6_000;
/** Companies created in Salesforce by a user while the backfill runs (the live sync's edits). */
const LIVE_BURST = 5;
/**
 * HubSpot's ten-second window scaled down to 10 calls per 2 s (5 a second, half the real rate), in
 * the sandbox and in the connection's stored budget alike: the backfill and the live sync want
 * far more, so the budget is what paces them.
 */
const WINDOW = { max: 10, intervalMs: 2_000 };
const HUBSPOT_BUDGET: RateWindowPolicy[] = [
  // The guard covers a call's way from admission to the vendor's clock. HubSpot's spec gives 300 ms;
  // on this machine (2 cores, often 8 processes a core) a process waits longer than that for a
  // core now and then: 3 of 16 runs with 300 ms drew one or two 429s (two of them after the kill,
  // when two workers carry the load of three). What this test checks is the sharing across processes.
  { name: 'ten-secondly', limit: WINDOW.max, windowMs: WINDOW.intervalMs, guardMs: 600 },
  { name: 'search', limit: 5, windowMs: 1_000 },
];

type WorkerProcess = Awaited<ReturnType<typeof startProcess>> & { pid: number; metricsUrl: string };

/**
 * Issue #17, acceptance 5: three worker processes (`tsx src/worker.ts`, as `npm run worker`
 * starts one) on one task queue, sharing PostgreSQL and the dev server. A Salesforce -> HubSpot
 * contact backfill runs while users create companies in Salesforce that the connection workflows
 * carry to HubSpot by polling. The worker running the backfill's page is killed with SIGKILL
 * mid-page while live edits are still on their way: another worker takes the page over from its
 * heartbeat checkpoint and the workflows over from history. Every record ends up in HubSpot
 * exactly once, nothing echoes back to Salesforce, and HubSpot never answers 429: the one budget
 * every worker shares through PostgreSQL (rate-budget-store.ts) holds across processes.
 */
describe('three workers on one task queue, one killed mid-backfill and mid-live-sync', { timeout: 900_000 }, () => {
  let db: TestDatabase;
  let dir: string;
  let sf: SalesforceSandbox;
  let hs: HubSpotSandbox;
  let connection: Connection;
  let client: Client;
  let codec: EncryptionCodec;
  const workers: WorkerProcess[] = [];
  const tenantId = `mw-${randomBytes(3).toString('hex')}`;
  const sfId = `${tenantId}-sf`;
  const hsId = `${tenantId}-hs`;
  const taskQueue = `multi-worker-${randomBytes(4).toString('hex')}`;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-multi-worker-'));
    const key = randomBytes(32);
    const keys = new Map([['k1', key]]);
    const connections = new ConnectionsRepository(db.pool, new CredentialCipher(keys, 'k1'));
    // Every Salesforce answer a second late: a connection workflow's read of it is in flight most of
    // the time, so a kill that finds one running takes it with it (not a read that ends meanwhile).
    sf = await startSalesforceSandbox({ dailyApiRequests: false, faults: { latencyMs: 1_000 } });
    hs = await startHubSpotSandbox({ limits: { tenSecondly: WINDOW, daily: false } });

    const sync = { objects: ['company'], pollIntervalMs: 1_000, debounceMs: 100 };
    await connections.addTenant(tenantId, 'multi-worker tenant');
    // The two connections `npm start` stores for the sandboxes, under this tenant, syncing companies
    // live; HubSpot's with the scaled window as its own budget (stored-connections.ts: settings.rateLimits).
    for (const stored of demoConnections({ salesforce: sf, hubspot: hs })) {
      const hubspot = stored.provider === 'hubspot';
      await connections.addConnection({
        ...stored,
        id: hubspot ? hsId : sfId,
        tenantId,
        settings: { ...stored.settings, sync, ...(hubspot ? { rateLimits: HUBSPOT_BUDGET } : {}) },
      });
    }

    const databaseUrl = new URL(inject('testDatabaseUrl'));
    databaseUrl.searchParams.set('options', `-c search_path=${db.schema}`);
    const namespace = await createTestNamespace(inject('temporalAddress'));
    env = {
      ...cleanEnvironment(),
      DATABASE_URL: databaseUrl.toString(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      CRM_SYNC_ENCRYPTION_KEYS: `k1:${key.toString('base64')}`,
      // Bundled once here, as production bundles at build time: three webpack runs would not fit the machine.
      WORKFLOW_BUNDLE_PATH: await buildWorkflowBundle(path.join(dir, 'workflow-bundle.js')),
      METRICS_HOST: '127.0.0.1',
      // No HOME: no ~/.config/temporalio/temporal.toml of whoever runs the tests.
      HOME: dir,
    };
    connection = await Connection.connect({ address: inject('temporalAddress') });
    codec = EncryptionCodec.fromKeyring({ keys, activeKeyId: 'k1' });
    client = new Client({ connection, namespace, dataConverter: codecDataConverter(codec) });
    for (let index = 0; index < WORKERS; index += 1) workers.push(await startWorker());
  });

  afterAll(async () => {
    if (client) {
      for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
        await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('test finished').catch(() => undefined);
      }
    }
    await Promise.all(workers.map((worker) => worker.stop()));
    await connection?.close();
    await Promise.all([sf?.stop(), hs?.stop()]);
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startWorker(): Promise<WorkerProcess> {
    const [metricsPort, sdkMetricsPort] = [await freePort(), await freePort()];
    const started = await startProcess(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      cwd: root,
      env: { ...env, METRICS_PORT: String(metricsPort), TEMPORAL_METRICS_BIND_ADDRESS: `127.0.0.1:${sdkMetricsPort}` },
      ready: /Worker polling task queue/,
    });
    if (started.child.pid === undefined) throw new Error('worker process has no pid');
    return { ...started, pid: started.child.pid, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
  }

  it('keeps the shared budget (no 429) and every record exactly once', async () => {
    sf.admin.seed({ contacts: CONTACTS });
    const sourceEmails = sf.admin
      .listRecords('Contact')
      .map((record) => String(record.Email).toLowerCase())
      .sort();
    expect(new Set(sourceEmails).size).toBe(CONTACTS);

    // The connection workflows, as the shim starts them (signalWithStart); they poll every second.
    for (const connectionId of [sfId, hsId]) {
      await client.workflow.signalWithStart('connectionSync', {
        workflowId: `sync:${tenantId}:${connectionId}`,
        taskQueue,
        args: [{ tenantId, connectionId }],
        signal: changeNoticesSignal,
        signalArgs: [{ events: [] }],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      });
    }
    const liveNames: string[] = [];
    const createLiveBurst = (): string[] => {
      for (let index = 0; index < LIVE_BURST; index += 1) {
        const name = `Live ${liveNames.length}`;
        sf.admin.createAsUser('Account', { Name: name, Website: `https://live-${liveNames.length}.example.com` });
        liveNames.push(name);
      }
      return liveNames.slice(-LIVE_BURST);
    };
    const hubspotCompanies = (): string[] => hs.admin.listRecords('companies').map((record) => String(record.properties?.name));
    const landed = (names: readonly string[]): number => {
      const present = new Set(hubspotCompanies());
      return names.filter((name) => present.has(name)).length;
    };

    // The live sync is running before the backfill starts: a first burst has reached HubSpot.
    createLiveBurst();
    await expect.poll(() => landed(liveNames), { timeout: 120_000, interval: 200 }).toBe(liveNames.length);

    // A 5 s heartbeat timeout (the input's own option): the SDK sends a checkpoint every 4 s at most,
    // and a dead worker's page moves on 5 s after its last one instead of the preset's minute.
    const handle = await startBackfill(client, taskQueue, { tenantId, connectionId: sfId, objectType: 'contact', targets: [hsId], chunkSize: 200, heartbeatTimeout: '5s' });
    // Progress from the sandbox's write counter (cheap: this process is the vendor, and its event
    // loop must stay free to stamp arrivals on time); rewritten records count twice, which only
    // makes "mid-way" come a little early.
    const contactsInHubSpot = (): number => recordWrites(hs, 'contacts');

    // Mid-backfill, observed: a quarter of the contacts are in HubSpot and the server holds a
    // checkpoint inside the page in flight (its worker is the one to kill).
    await expect.poll(contactsInHubSpot, { timeout: 300_000, interval: 200 }).toBeGreaterThanOrEqual(CONTACTS / 4);
    const pageWorker = await expect
      .poll(async () => pendingPage(handle, codec, client), { timeout: 120_000, interval: 100 })
      .toMatchObject({ checkpointed: true })
      .then(async () => pendingPage(handle, codec, client));
    const victim = workers.find((worker) => pageWorker?.identity.startsWith(`${worker.pid}@`));
    expect(victim, `page worker ${pageWorker?.identity} is one of ${workers.map((worker) => worker.pid).join(', ')}`).toBeDefined();
    if (!victim) return;

    // Mid-live-sync: a burst of user edits is on its way, and the kill waits (while the backfill
    // still has a quarter to go) for a moment the page's worker also runs one of the connection
    // workflows' activities (a poll read, a write to HubSpot), so the kill takes that one too.
    let burst = createLiveBurst();
    const syncHandles = [sfId, hsId].map((connectionId) => client.workflow.getHandle(`sync:${tenantId}:${connectionId}`));
    let liveActivity: string | undefined;
    while (!liveActivity && contactsInHubSpot() < (CONTACTS * 3) / 4) {
      liveActivity = await liveActivityOn(syncHandles, pageWorker?.identity ?? '');
      if (liveActivity) break;
      // Keep edits on their way: another burst once the last one has landed.
      if (landed(burst) === LIVE_BURST) burst = createLiveBurst();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    victim.child.kill('SIGKILL');
    expect(await victim.stop()).toBeNull();
    workers.splice(workers.indexOf(victim), 1);
    // Until its heartbeat timeout the server still has the activity running on the dead worker.
    const liveActivityKilled = await liveActivityOn(syncHandles, pageWorker?.identity ?? '');
    const atKill = { contacts: hs.admin.listRecords('contacts').length, burstLanded: landed(burst), liveActivity, liveActivityKilled, rateLimited: hs.counters.snapshot().rateLimited };
    expect(atKill.contacts).toBeLessThan(CONTACTS);
    expect(atKill.liveActivityKilled, JSON.stringify(atKill)).toBeDefined();

    // More edits keep flowing while the two survivors carry on.
    for (let round = 0; round < 2; round += 1) createLiveBurst();

    const result = await handle.result();
    expect(result).toMatchObject({ state: 'completed', failed: {} });
    await expect.poll(() => landed(liveNames), { timeout: 300_000, interval: 250 }).toBe(liveNames.length);
    console.log(`[multi-worker] ${CONTACTS} contacts, ${liveNames.length} live companies; killed pid ${victim.pid} at ${JSON.stringify(atKill)}; backfill resumedMidPage ${result.resumedMidPage}, runs ${result.run}; HubSpot requests ${JSON.stringify(hs.counters.snapshot().requests)}`);

    // The live-sync activity the kill took was tried again on a survivor once its heartbeat stopped
    // (not after its whole start-to-close). Searched in every run of the two connection workflows
    // (one may have continued as new), until the retry has finished: the records may have landed
    // first, when the killed activity was the echo pass of HubSpot's own workflow.
    const findRetried = async (): Promise<Awaited<ReturnType<typeof retriedActivity>>> => {
      const runs: WorkflowHandle[] = [];
      for await (const execution of client.workflow.list({ query: `WorkflowId = "sync:${tenantId}:${sfId}" OR WorkflowId = "sync:${tenantId}:${hsId}"` })) {
        runs.push(client.workflow.getHandle(execution.workflowId, execution.runId));
      }
      return retriedActivity(runs, atKill.liveActivityKilled ?? '');
    };
    const retried = await expect
      .poll(findRetried, { timeout: 300_000, interval: 1_000 })
      .toBeDefined()
      .then(findRetried);
    expect(retried?.identity).not.toBe(pageWorker?.identity);
    expect(retried?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);

    // Every contact exactly once, none missing.
    const copied = hs.admin
      .listRecords('contacts')
      .map((record) => String(record.properties?.email).toLowerCase())
      .sort();
    expect(copied).toEqual(sourceEmails);
    // Every live company exactly once in HubSpot, and not echoed back into Salesforce.
    expect(hubspotCompanies().sort()).toEqual([...liveNames].sort());
    expect(
      sf.admin
        .listRecords('Account')
        .map((record) => String(record.Name))
        .sort(),
    ).toEqual([...liveNames].sort());

    // The budget held across processes and across the kill: HubSpot refused nothing…
    expect(hs.counters.snapshot().rateLimited).toBe(0);
    // …and it was exercised: the survivors made calls wait for room in the shared window.
    const waits = (await Promise.all(workers.map(async (worker) => rateBudgetWaits(await (await fetch(worker.metricsUrl)).text(), hsId)))).reduce((sum, count) => sum + count, 0);
    expect(waits).toBeGreaterThan(0);
    // The killed worker's page was taken over by a survivor from its checkpoint, not started again.
    expect(result.resumedMidPage).toBeGreaterThanOrEqual(1);
  });
});

/** The backfill page in flight: the worker that runs it (`pid@host`) and whether the server holds a checkpoint inside it (offset > 0). */
async function pendingPage(handle: WorkflowHandle, codec: EncryptionCodec, client: Client): Promise<{ identity: string; checkpointed: boolean } | undefined> {
  const page = (await handle.describe()).raw.pendingActivities?.find((activity) => activity.activityType?.name === 'backfillPage');
  if (!page?.lastWorkerIdentity) return undefined;
  const payload = page.heartbeatDetails?.payloads?.[0];
  // Heartbeat details are sealed by the payload codec in the server's copy.
  const [decoded] = payload ? await codec.decode([payload]) : [];
  const checkpoint = decoded ? client.options.loadedDataConverter.payloadConverter.fromPayload<{ offset: number }>(decoded) : undefined;
  return { identity: page.lastWorkerIdentity, checkpointed: (checkpoint?.offset ?? 0) > 0 };
}

/** The type of an activity of these workflows that `identity` is running now, if any. */
async function liveActivityOn(handles: readonly WorkflowHandle[], identity: string): Promise<string | undefined> {
  for (const handle of handles) {
    const running = (await handle.describe()).raw.pendingActivities?.find((activity) => activity.lastWorkerIdentity === identity && activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    if (running) return running.activityType?.name ?? 'unknown';
  }
  return undefined;
}

/** The first attempt of an activity of this type that followed a timed-out one, in these runs' histories: where it ran, and which timeout ended the attempt before. */
async function retriedActivity(handles: readonly WorkflowHandle[], activityType: string): Promise<{ identity: string; timeoutType: number | null | undefined } | undefined> {
  for (const handle of handles) {
    const events = (await handle.fetchHistory()).events ?? [];
    const types = new Map(events.flatMap((event) => (event.activityTaskScheduledEventAttributes ? [[String(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name]] : [])));
    for (const event of events) {
      const started = event.activityTaskStartedEventAttributes;
      if (started?.lastFailure?.timeoutFailureInfo && (started.attempt ?? 1) > 1 && types.get(String(started.scheduledEventId)) === activityType) {
        return { identity: started.identity ?? '', timeoutType: started.lastFailure?.timeoutFailureInfo?.timeoutType };
      }
    }
  }
  return undefined;
}

/** crm_sync_rate_budget_waits_total for one connection, summed over its windows. */
function rateBudgetWaits(metricsText: string, connectionId: string): number {
  const family = parsePrometheusTextFormat(metricsText).find((metric) => metric.name === 'crm_sync_rate_budget_waits_total');
  return (family?.metrics ?? []).filter((sample) => sample.labels?.connection === connectionId).reduce((sum, sample) => sum + Number(sample.value), 0);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * `npm start`: the whole product on one machine, as a demo. Brings up (or reuses) the Temporal dev
 * server, prepares PostgreSQL, runs the worker and the webhook shim, starts Salesforce and HubSpot
 * sandboxes with seeded records, connects tenant `demo` to both, backfills Salesforce into
 * HubSpot, turns on live webhook-driven sync, makes a few edits in Salesforce and waits until they
 * reached HubSpot, then prints where to look. Ctrl-C stops everything it started.
 */
import { codecDataConverter, loadPayloadCodec } from '../codec/data-converter';
import { loadConfigOrExit } from '../config';
import { ensureTemporal, type TemporalEndpoint } from '../devserver/ensure-temporal';
import { TemporalCliUnavailableError } from '../devserver/temporal-cli';
import { ConnectionsRepository } from '../store/connections-repository';
import { createPool, ensureDatabase } from '../store/database';
import { loadCredentialCipher } from '../store/keyring';
import { migrateUp } from '../store/migrate';
import { createWorker } from '../worker';
import { describeBackfill, runBackfill } from './demo-backfill';
import { demoGuide } from './demo-guide';
import { StartedParts, StopRequested, unlessAborted } from './demo-lifecycle';
import { makeLiveEdits, waitForLiveEdits } from './demo-live-edits';
import { demoSeedCounts, startDemoSandboxes } from './demo-sandboxes';
import { startDemoShim } from './demo-shim';
import { connectDemoClient, finishPreviousDemoRuns, goLive, tenantWorkflowsUrl, waitForFirstPolls } from './demo-temporal';
import { DEMO_SYNC_OBJECTS, DEMO_TENANT, ensureDemoTenant } from './demo-tenant';

const log = (line: string): void => console.log(`[crm-sync] ${line}`);
const config = loadConfigOrExit();
const parts = new StartedParts();
const stop = new AbortController();
// The first Ctrl-C stops everything in order; another one while that runs quits at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!stop.signal.aborted) return stop.abort(new StopRequested(signal));
    log('Stop requested again: quitting without waiting.');
    process.exit(130);
  });
}
const step = <T>(work: Promise<T>): Promise<T> => unlessAborted(work, stop.signal);
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

try {
  // 1. Temporal: the dev server with its Web UI (or the one already running, or TEMPORAL_ADDRESS).
  let temporal: TemporalEndpoint;
  try {
    // Its own process group: Ctrl-C stops it last, after the worker drained (see parts below).
    temporal = await step(ensureTemporal(config, log, { ownProcessGroup: true }));
  } catch (error) {
    if (!(error instanceof TemporalCliUnavailableError)) throw error;
    console.error(error.message);
    process.exit(69);
  }
  const devServer = temporal.server;
  if (devServer) parts.add('the Temporal dev server', () => devServer.stop());
  log(`Temporal frontend: ${temporal.address} (namespace ${temporal.namespace}, ${temporal.origin}).`);

  // 2. PostgreSQL: database and migrations.
  log(`PostgreSQL: database ${await step(ensureDatabase(config.DATABASE_URL))}.`);
  const applied = await step(migrateUp({ databaseUrl: config.DATABASE_URL }));
  log(`Migrations: ${applied.length ? applied.join(', ') : 'up to date'}.`);
  const pool = createPool(config.DATABASE_URL);
  parts.add('the PostgreSQL pool', () => pool.end());

  // 3. Credentials are sealed with CRM_SYNC_ENCRYPTION_KEYS, or a development key kept in the data dir.
  if (!config.CRM_SYNC_ENCRYPTION_KEYS) {
    log('!!! CRM_SYNC_ENCRYPTION_KEYS is not set: connection credentials are sealed with a DEVELOPMENT key');
    log(`!!! kept in ${config.CRM_SYNC_DATA_DIR}/dev-encryption-key (generated on first start). Never use it in production.`);
  }
  const connections = new ConnectionsRepository(pool, await loadCredentialCipher(config, log));

  // 4. The worker: every workflow and activity on the task queue, plus the supervisor schedule.
  const worker = await step(createWorker({ config, address: temporal.address, pool, log }));
  const workerRun = worker.run();
  workerRun.catch((error: unknown) => stop.abort(error));
  const stopWorker = async (): Promise<void> => {
    // The SDK's runtime stops its workers on SIGINT and SIGTERM by itself; other stops start it here.
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun;
  };
  parts.add('the worker', stopWorker);
  log(`Worker polling task queue "${config.TEMPORAL_TASK_QUEUE}".`);
  // The worker's payload codec: this client reads backfill results and statuses the worker encrypted.
  const payloadCodec = await loadPayloadCodec(config);
  const { client, connection } = await step(connectDemoClient(temporal.address, temporal.namespace, codecDataConverter(payloadCodec)));
  parts.add('the Temporal client', () => connection.close());

  // 5. The CRM sandboxes, seeded.
  const sandboxes = await step(startDemoSandboxes(config));
  parts.add('the CRM sandboxes', () => sandboxes.stop());
  const seed = demoSeedCounts(config.DEMO_CONTACTS);
  log(`Salesforce sandbox: ${sandboxes.salesforce.url} (${seed.salesforce.companies} accounts, ${seed.salesforce.contacts} contacts).`);
  log(`HubSpot sandbox:    ${sandboxes.hubspot.url} (${seed.hubspot.contacts} contacts of its own).`);

  // 6. The webhook shim.
  const shim = await step(startDemoShim(config, { pool, connections, client, connection, payloadCodec }));
  parts.add('the webhook shim', () => shim.stop());
  log(`Webhook shim:       ${shim.url}${shim.codecEndpoint ? ' (and the codec endpoint, /codec)' : ''}`);

  // 7. Tenant "demo" with both connections (credentials sealed), paused until the backfill is done; reused by a second `npm start`.
  const replaced = await step(finishPreviousDemoRuns(client, DEMO_TENANT));
  if (replaced > 0) log(`Terminated ${replaced} workflow(s) of the previous demo run (their sandboxes are gone).`);
  const tenant = await step(ensureDemoTenant(pool, connections, sandboxes));
  log(`Tenant "${tenant.tenantId}": connections ${tenant.salesforceId} and ${tenant.hubspotId} ${tenant.reused ? 'reused (new sandbox URLs and credentials stored)' : 'stored'}, paused until the backfill is done.`);

  // 8. Backfill Salesforce -> HubSpot: companies first, so every contact's company is linked.
  for (const objectType of ['company', 'contact'] as const) {
    const started = Date.now();
    log(`Backfill ${objectType}: Salesforce -> HubSpot started (workflow backfill:${tenant.tenantId}:${tenant.salesforceId}:${objectType})…`);
    const result = await step(runBackfill(client, config.TEMPORAL_TASK_QUEUE, { tenantId: tenant.tenantId, connectionId: tenant.salesforceId, objectType }));
    log(`Backfill ${objectType} done in ${seconds(started)}: ${describeBackfill(result)}.`);
  }

  // 9. Live sync: the sandboxes' webhooks go to the shim, the connections go active, their workflows run.
  sandboxes.salesforce.webhooks.setTarget(shim.webhookUrl('salesforce', tenant.salesforceId));
  sandboxes.hubspot.webhooks.setTarget(shim.webhookUrl('hubspot', tenant.hubspotId));
  parts.add('webhook deliveries', async () => {
    sandboxes.salesforce.webhooks.setTarget(undefined);
    sandboxes.hubspot.webhooks.setTarget(undefined);
  });
  // Stopped first: activities in flight finish against sandboxes and a server still up, instead
  // of failing against stopped ones and retrying their completion for seconds.
  parts.add('in-flight activities', stopWorker);
  const reconciled = await step(goLive(client, config.TEMPORAL_TASK_QUEUE, connections, tenant.tenantId, [tenant.salesforceId, tenant.hubspotId]));
  const started = reconciled.started.map((run) => run.workflowId);
  log(`Live sync on: webhooks -> shim; connections active; ${started.length ? `${started.join(', ')} started` : 'workflows (started paused by the supervisor) resumed'}.`);

  // 10. Once the first polls are done, edits in Salesforce as a person would make them: only their webhooks can carry them.
  log('Waiting for the first polls (the safety net re-reads the last 24 h, which holds every seeded record)…');
  await step(waitForFirstPolls(client, tenant.tenantId, [tenant.salesforceId, tenant.hubspotId], DEMO_SYNC_OBJECTS, 300_000, stop.signal));
  const editedAt = Date.now();
  const edits = makeLiveEdits(sandboxes.salesforce, sandboxes.hubspot);
  try {
    await waitForLiveEdits(edits, 60_000, stop.signal);
    log(`Live sync: ${edits.length} Salesforce edits reached HubSpot in ${seconds(editedAt)} (webhook -> shim -> workflow): ${edits.map((edit) => edit.description).join('; ')}.`);
  } catch (error) {
    if (stop.signal.aborted) throw error;
    log(`Live sync did not complete: ${(error as Error).message}. See the workflows in the Web UI.`);
  }

  // 11. Where to look.
  const [sample] = sandboxes.salesforce.admin.listRecords('Contact');
  for (const line of demoGuide({
    tenantWorkflowsUrl: temporal.uiUrl && tenantWorkflowsUrl(temporal.uiUrl, temporal.namespace, tenant.tenantId),
    temporalAddress: temporal.address,
    shimUrl: shim.url,
    salesforceUrl: sandboxes.salesforce.url,
    hubspotUrl: sandboxes.hubspot.url,
    credentialsFile: sandboxes.credentialsFile,
    salesforceConnectionId: tenant.salesforceId,
    hubspotConnectionId: tenant.hubspotId,
    sampleContactId: sample && String(sample.Id),
  })) {
    console.log(line);
  }

  await step(new Promise<never>(() => undefined));
} catch (error) {
  if (!(error instanceof StopRequested)) {
    console.error(`[crm-sync] The demo stopped on an error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
} finally {
  log('Stopping…');
  const failed = await parts.stopAll(log);
  if (failed.length > 0) process.exitCode = 1;
  log('Stopped.');
  // A part still starting when Ctrl-C came was never added: do not let it hold the process open.
  setTimeout(() => process.exit(), 2000).unref();
}

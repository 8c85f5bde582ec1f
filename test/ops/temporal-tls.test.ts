import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { codecDataConverter, loadPayloadCodec } from '../../src/codec/data-converter';
import { loadConfig, type Config } from '../../src/config';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce';
import { createWorker } from '../../src/worker';
import { supervisor } from '../../src/workflows/supervisor';
import { cliEnvironment, runCli } from '../cli/support';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { writeSandboxConnectionFiles } from './support/processes';
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from './support/tls';

/**
 * Issue #17, acceptance 7: the worker and the CLI reach Temporal through a TLS-terminating proxy
 * (mTLS: it only lets in a client certificate from our CA) in front of the dev server, configured
 * by envconfig settings alone: the worker by TEMPORAL_TLS_* variables, the CLI by a TOML profile.
 * A server certificate from a CA the settings do not name is refused, with an error that says so.
 */
describe('Temporal over TLS, configured through envconfig only', { timeout: 240_000 }, () => {
  const key = randomBytes(32);
  const taskQueue = `tls-${randomUUID()}`;
  let pki: TestPki;
  let impostor: TestPki;
  let proxy: TlsProxy;
  let dir: string;
  let db: TestDatabase;
  let config: Config;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let salesforce: SalesforceSandbox | undefined;
  let hubspot: HubSpotSandbox | undefined;
  const file = (name: string, content: string): string => {
    const target = path.join(dir, name);
    writeFileSync(target, content, { mode: 0o600 });
    return target;
  };
  /** The worker's settings: variables only. */
  const tlsVariables = (ca: string): Record<string, string> => ({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_NAMESPACE: inject('temporalNamespace'),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'client.pem'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'client.key'),
  });
  /** The CLI's settings: a profile in a config file, no TEMPORAL_ADDRESS or TLS variable at all. */
  const cliEnv = (profile: string): NodeJS.ProcessEnv =>
    cliEnvironment(
      { schema: db.schema, taskQueue, keys: `k1:${key.toString('base64')}` },
      { TEMPORAL_ADDRESS: undefined, TEMPORAL_NAMESPACE: undefined, TEMPORAL_CONFIG_FILE: path.join(dir, 'temporal.toml'), TEMPORAL_PROFILE: profile },
    );

  beforeAll(async () => {
    [pki, impostor] = await Promise.all([makeTestPki('crm-sync'), makeTestPki('impostor')]);
    proxy = await startTlsProxy({ target: inject('temporalAddress'), server: pki.server, clientCa: pki.ca.cert });
    dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-tls-'));
    const ca = file('ca.pem', pki.ca.cert);
    const wrongCa = file('impostor-ca.pem', impostor.ca.cert);
    file('client.pem', pki.client.cert);
    file('client.key', pki.client.key);
    const profile = (name: string, caPath: string): string =>
      [
        `[profile.${name}]`,
        `address = "${proxy.address}"`,
        `namespace = "${inject('temporalNamespace')}"`,
        `[profile.${name}.tls]`,
        `server_ca_cert_path = "${caPath}"`,
        'server_name = "localhost"',
        `client_cert_path = "${path.join(dir, 'client.pem')}"`,
        `client_key_path = "${path.join(dir, 'client.key')}"`,
      ].join('\n');
    file('temporal.toml', `${profile('self-hosted', ca)}\n\n${profile('wrong-ca', wrongCa)}\n`);

    db = await createTestDatabase();
    config = loadConfig({ ...tlsVariables(ca), TEMPORAL_TASK_QUEUE: taskQueue, CRM_SYNC_ENCRYPTION_KEYS: `k1:${key.toString('base64')}` });
    // No `address`: the worker connects with config.temporal alone.
    worker = await createWorker({ config, pool: db.pool, supervisorSchedule: false });
    workerRun = worker.run();
  });

  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await workerRun;
    await Promise.all([salesforce?.stop(), hubspot?.stop()]);
    await proxy?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves TLS, the server name and the client certificate from the TEMPORAL_TLS_* variables', () => {
    expect(config.temporal.address).toBe(proxy.address);
    expect(config.temporal.description).toBe(`${proxy.address} (namespace ${inject('temporalNamespace')}, TLS, client certificate)`);
    const tls = config.temporal.connectionOptions.tls;
    expect(typeof tls === 'object' && tls?.serverNameOverride).toBe('localhost');
    expect(typeof tls === 'object' && tls?.serverRootCACertificate && Buffer.from(tls.serverRootCACertificate).toString()).toBe(pki.ca.cert);
  });

  it('runs a workflow round trip through the TLS proxy: worker and client with the same settings', async () => {
    const sessionsBefore = proxy.authorizedSessions;
    const connection = await Connection.connect(config.temporal.connectionOptions);
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: codecDataConverter(await loadPayloadCodec(config)) });
      // The supervisor: a workflow task, its reconcile activity against PostgreSQL, the result back.
      const result = await client.workflow.execute(supervisor, { taskQueue, workflowId: `tls-supervisor-${randomUUID()}`, args: [{}] });
      expect(result).toMatchObject({ started: [] });
    } finally {
      await connection.close();
    }
    // The worker connected in beforeAll (through the proxy too, or the workflow would never have run); this client's own session came on top.
    expect(proxy.authorizedSessions).toBeGreaterThan(sessionsBefore);
  });

  it('the CLI reaches the worker through the proxy with a TOML profile (TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE)', async () => {
    salesforce = await startSalesforceSandbox({ dailyApiRequests: false });
    hubspot = await startHubSpotSandbox({ limits: false });
    const files = writeSandboxConnectionFiles(dir, { salesforce, hubspot });
    const env = cliEnv('self-hosted');
    expect(await runCli(['tenant', 'add', 'acme'], env)).toMatchObject({ code: 0 });
    // `connection add` starts the connection's workflow through TLS…
    const added = await runCli(['connection', 'add', 'acme', 'acme-sf', '--provider', 'salesforce', '--settings-file', files.salesforce.settings, '--credentials-file', files.salesforce.credentials], env);
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('connection acme-sf (salesforce) added to tenant acme; workflow sync:acme:acme-sf running\n');
    // …and `sync status` queries it: answered by the worker, which polls through TLS as well.
    const status = await runCli(['sync', 'status', 'acme-sf', '--json'], env);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ connectionId: 'acme-sf', tenantId: 'acme' });
  });

  it('refuses a server whose certificate the configured CA did not sign, saying why', async () => {
    const refused = await runCli(['sync', 'status', 'acme-sf'], cliEnv('wrong-ca'));
    expect(refused.code).toBe(69);
    const address = proxy.address.replace(/\./g, '\\.');
    // grpc-js alone would say only "Failed to connect before the deadline".
    expect(refused.stderr).toMatch(new RegExp(`^crm-sync: Temporal is unreachable at ${address}: TLS handshake with ${address} failed: self[- ]signed certificate in certificate chain \\(SELF_SIGNED_CERT_IN_CHAIN\\) \\[${address} \\(namespace default, TLS, client certificate\\)\\]\n$`));

    // The worker's connection (the SDK core's, not the client's) refuses it too.
    const wrong = loadConfig({ ...tlsVariables(path.join(dir, 'impostor-ca.pem')), CRM_SYNC_ENCRYPTION_KEYS: `k1:${key.toString('base64')}` });
    await expect(createWorker({ config: wrong, pool: db.pool, supervisorSchedule: false })).rejects.toThrow(/InvalidCertificate\(UnknownIssuer\)/);
  });

  it('names a missing certificate file or an unknown profile as a configuration error', () => {
    expect(() => loadConfig({ ...tlsVariables(path.join(dir, 'missing-ca.pem')) })).toThrow(/Temporal connection settings \(profile "default"\): ENOENT.*missing-ca\.pem/);
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: path.join(dir, 'temporal.toml'), TEMPORAL_PROFILE: 'staging' })).toThrow(/profile "staging" in .*temporal\.toml\): Profile 'staging' not found/);
  });
});

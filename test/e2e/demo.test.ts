import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort, isPortOpen } from '../../src/devserver/dev-server';
import type { ConnectionToken } from '../../src/connectors/token-provider';
import { tokenBinding } from '../../src/store/connection-tokens-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { quoteIdentifier } from '../../src/store/database';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const DEMO_CONTACTS = 40;
/** Up to the demo's "Live sync:" line, on a loaded 2-core machine (typically 30-40 s). */
const DEMO_READY_TIMEOUT_MS = 150_000;

/**
 * `npm start` run as a new user runs it: a child process with nothing but isolation in its
 * environment (its own data dir, database and ports). The test waits for the demo to report the
 * backfill and a live change, then looks at the result from outside: the sandboxes' records over
 * HTTP, the Temporal Web UI in headless Chromium (screenshot kept in .reports/), and every place a
 * secret could leak (PostgreSQL, the logs, the Temporal history). Ctrl-C must stop it all.
 */
describe('npm start: the full demo', () => {
  let demo: DemoProcess;
  let dataDir: string;
  let databaseUrl: string;
  let ports: { temporal: number; ui: number; shim: number };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'crm-sync-demo-'));
    const testDatabase = new URL(inject('testDatabaseUrl'));
    testDatabase.pathname = `/crm_sync_demo_${randomBytes(4).toString('hex')}`;
    databaseUrl = testDatabase.toString();
    ports = { temporal: await findFreePort(), ui: await findFreePort(), shim: await findFreePort() };
    demo = await startDemo({
      CRM_SYNC_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      SHIM_PORT: String(ports.shim),
      DEMO_SANDBOX_PORT_BASE: '0',
      DEMO_CONTACTS: String(DEMO_CONTACTS),
      // The binary the test run already has: a clean clone's first `npm start` would build it.
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
    });
    await demo.waitFor(/\[crm-sync\] Live sync: \d+ Salesforce edits reached HubSpot/, DEMO_READY_TIMEOUT_MS);
    await demo.waitFor(/The demo is running/, 10_000);
  }, DEMO_READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    if (demo && demo.exitCode() === undefined) {
      demo.signal('SIGKILL');
      await demo.exited;
    }
    const admin = new URL(databaseUrl);
    const database = admin.pathname.slice(1);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
    await client.end();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('backfills Salesforce into HubSpot, then carries live edits, as it reports', async () => {
    const output = demo.output();
    expect(output).toMatch(/!!! CRM_SYNC_ENCRYPTION_KEYS is not set/);
    expect(output).toMatch(new RegExp(`Backfill company done in [\\d.]+ s: ${DEMO_CONTACTS / 5} read, ${DEMO_CONTACTS / 5} written to demo-hubspot, 0 failed`));
    expect(output).toMatch(new RegExp(`Backfill contact done in [\\d.]+ s: ${DEMO_CONTACTS} read, ${DEMO_CONTACTS} written to demo-hubspot, 0 failed`));
    expect(output).toMatch(/Tenant "demo": connections demo-salesforce and demo-hubspot stored, paused until the backfill is done/);
    expect(output).toMatch(/Live sync on: webhooks -> shim; connections active;/);

    // Seen from outside, over the sandboxes' HTTP admin API: both CRMs end up with everyone,
    // Salesforce's people (backfill + the live new contact) and HubSpot's own (first poll).
    const sandboxes = demo.sandboxUrls();
    const hubspotOwn = DEMO_CONTACTS / 10;
    const everyone = DEMO_CONTACTS + 1 + hubspotOwn;
    const emails = async (url: string, type: string, field: (record: Record<string, unknown>) => unknown): Promise<string[]> => {
      const records = (await (await fetch(`${url}/__sandbox/records/${type}`)).json()) as Record<string, unknown>[];
      return records.map((record) => String(field(record)).toLowerCase()).sort();
    };
    const inHubSpot = () => emails(sandboxes.hubspot, 'contacts', (record) => (record.properties as Record<string, unknown>).email);
    const inSalesforce = () => emails(sandboxes.salesforce, 'Contact', (record) => record.Email);
    await expect.poll(async () => (await inHubSpot()).length, { timeout: 30_000, interval: 500 }).toBe(everyone);
    await expect.poll(async () => (await inSalesforce()).length, { timeout: 30_000, interval: 500 }).toBe(everyone);
    expect(await inSalesforce()).toEqual(await inHubSpot());
    expect(await inHubSpot()).toContainEqual(expect.stringMatching(/^grace\.hopper\.\d+@demo\.example$/));
  });

  it("shows the tenant's syncs in the Temporal Web UI, filtered by its search attribute (headless Chromium, screenshot in .reports/)", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Chromium (Debian: apt-get install -y chromium; .ci/run does it) to check the Web UI`).toBe(true);
    const url = /Temporal Web UI \(this tenant's syncs\):\s+(\S+)/.exec(demo.output())?.[1];
    expect(url).toBe(`http://127.0.0.1:${ports.ui}/namespaces/default/workflows?query=${encodeURIComponent('TenantId="demo"')}`);

    const profile = await mkdtemp(path.join(os.tmpdir(), 'crm-sync-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1600, height: 900 },
    });
    try {
      const page = await browser.newPage();
      await page.goto(url!, { waitUntil: 'domcontentloaded' });
      for (const workflowId of ['sync:demo:demo-salesforce', 'sync:demo:demo-hubspot', 'backfill:demo:demo-salesforce:contact', 'backfill:demo:demo-salesforce:company']) {
        await page.getByText(workflowId, { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 });
      }
      // The filter is applied: the supervisor's runs (no TenantId) are not listed.
      await expect(page.getByText(/crm-sync-supervisor/).count()).resolves.toBe(0);
      await mkdir(path.join(repoRoot, '.reports'), { recursive: true });
      await page.screenshot({ path: path.join(repoRoot, '.reports', 'demo-web-ui.png'), fullPage: true });
    } finally {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    }
  });

  it('leaves no plaintext secret in PostgreSQL, the logs or the Temporal history', async () => {
    const secrets = [...(await knownSecrets(dataDir)), ...(await storedTokens(databaseUrl, dataDir))];
    expect(secrets.length).toBeGreaterThanOrEqual(10);

    const places: Record<string, Buffer> = {
      'PostgreSQL (every table as JSON rows)': Buffer.from(await dumpDatabase(databaseUrl)),
      'the demo output (stdout and stderr)': Buffer.from(demo.output()),
      'the Temporal history of every workflow (raw JSON, payloads decoded)': Buffer.from(await dumpHistories(`127.0.0.1:${ports.temporal}`)),
      ...(await dataDirFiles(dataDir)),
    };
    // Not vacuous: each place holds what it should (the demo's connections, the workflow ids).
    expect(places['PostgreSQL (every table as JSON rows)']!.includes('demo-salesforce')).toBe(true);
    expect(places['the Temporal history of every workflow (raw JSON, payloads decoded)']!.includes('"demo-hubspot"')).toBe(true);
    expect(Object.keys(places)).toContain(`${path.join(dataDir, 'temporal.log')}`);

    const leaks = Object.entries(places).flatMap(([place, haystack]) =>
      secrets.filter((secret) => secret.forms.some((form) => haystack.includes(form))).map((secret) => `${secret.name} in ${place}`),
    );
    expect(leaks).toEqual([]);
  });

  it('stops everything on Ctrl-C, exits 0 and frees its ports', async () => {
    const sandboxes = demo.sandboxUrls();
    const sandboxPorts = [sandboxes.salesforce, sandboxes.hubspot].map((url) => Number(new URL(url).port));
    // What a terminal's Ctrl-C does: SIGINT to the whole foreground process group.
    demo.signal('SIGINT');
    const code = await demo.exited;
    expect(code, demo.output().slice(-3000)).toBe(0);
    expect(demo.output()).toMatch(/\[crm-sync\] Stopped\.\s*$/);
    for (const port of [ports.temporal, ports.ui, ports.shim, ...sandboxPorts]) {
      expect(await isPortOpen('127.0.0.1', port), `port ${port} still open`).toBe(false);
    }
  });
});

interface DemoProcess {
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  output(): string;
  sandboxUrls(): { salesforce: string; hubspot: string };
  signal(signal: NodeJS.Signals): void;
  exitCode(): number | undefined;
  exited: Promise<number | null>;
}

/**
 * What `npm start` runs, in its own process group as a terminal runs it, with the environment a
 * user has plus `env`. The script's command is spawned without npm around it: on Ctrl-C npm
 * re-raises the signal on itself after its child exited, hiding the demo's own exit code.
 */
async function startDemo(env: Record<string, string>): Promise<DemoProcess> {
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.start).toBe('node --import tsx src/dev/start.ts');
  const inherited = { ...process.env };
  // Settings of the test run itself that a new user would not have.
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'CRM_SYNC_ENCRYPTION_KEYS', 'CRM_SYNC_ACTIVE_KEY_ID', 'NODE_ENV', 'SHIM_PUBLIC_URL']) delete inherited[name];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/dev/start.ts'], {
    cwd: repoRoot,
    env: { ...inherited, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => waiters.forEach((waiter) => waiter()), () => undefined);

  return {
    output: () => output,
    exited,
    exitCode: () => child.exitCode ?? (child.signalCode ? -1 : undefined),
    signal: (signal) => process.kill(-child.pid!, signal),
    sandboxUrls() {
      const url = (name: string): string => {
        const found = new RegExp(`${name} sandbox:\\s+(http://\\S+)`).exec(output)?.[1];
        if (!found) throw new Error(`the demo printed no ${name} sandbox URL:\n${output}`);
        return found;
      };
      return { salesforce: url('Salesforce'), hubspot: url('HubSpot') };
    },
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(output)) done(resolve);
          else if (child.exitCode !== null || child.signalCode !== null) done(() => reject(new Error(`npm start exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${output}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`npm start did not print ${pattern} within ${timeoutMs / 1000} s:\n${output}`))), timeoutMs);
        const done = (finish: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          finish();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

interface KnownSecret {
  name: string;
  /** The ways it could be written down: as is, base64 (payloads, JSON bytes), hex (bytea). */
  forms: Buffer[];
}

/** The sandboxes' credentials (the demo keeps them in its data dir for manual use) and the development encryption key. */
async function knownSecrets(dataDir: string): Promise<KnownSecret[]> {
  const file = JSON.parse(await readFile(path.join(dataDir, 'demo-sandboxes.json'), 'utf8')) as { salesforce: Record<string, string>; hubspot: Record<string, string> };
  const named: [string, string][] = [
    ...(['accessToken', 'refreshToken', 'clientSecret', 'password'] as const).map((key): [string, string] => [`Salesforce ${key}`, file.salesforce[key]!]),
    ...(['accessToken', 'clientSecret', 'refreshToken', 'webhookClientSecret'] as const).map((key): [string, string] => [`HubSpot ${key}`, file.hubspot[key]!]),
  ];
  const textForms = (value: string): Buffer[] => [Buffer.from(value), Buffer.from(Buffer.from(value).toString('base64')), Buffer.from(Buffer.from(value).toString('hex'))];
  const secrets: KnownSecret[] = named.map(([name, value]) => {
    expect(value, name).toMatch(/.{16,}/);
    return { name, forms: textForms(value) };
  });
  const key = (await readFile(path.join(dataDir, 'dev-encryption-key'), 'utf8')).trim();
  const raw = Buffer.from(key, 'base64');
  expect(raw).toHaveLength(32);
  secrets.push({ name: 'the development encryption key', forms: [...textForms(key), raw, Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('base64url'))] });
  return secrets;
}

/**
 * The tokens the workers shared since (refreshed at the sandboxes, so in no file): opened from
 * `connection_tokens` with the development key, as a worker opens them.
 */
async function storedTokens(databaseUrl: string, dataDir: string): Promise<KnownSecret[]> {
  const key = Buffer.from((await readFile(path.join(dataDir, 'dev-encryption-key'), 'utf8')).trim(), 'base64');
  const cipher = new CredentialCipher(new Map([['dev', key]]), 'dev');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ connection_id: string; token: Buffer; token_key_id: string }>('SELECT connection_id, token, token_key_id FROM connection_tokens');
    // Not vacuous: both demo connections renewed their token through the shared store.
    expect(rows.rows.map((row) => row.connection_id).sort()).toEqual(['demo-hubspot', 'demo-salesforce']);
    return rows.rows.flatMap((row) => {
      const token = cipher.open({ ciphertext: row.token, keyId: row.token_key_id }, tokenBinding(row.connection_id)) as ConnectionToken;
      return [
        ['access token', token.accessToken],
        ['refresh token', token.refreshToken],
      ].flatMap(([what, value]) => (value ? [{ name: `${row.connection_id}'s stored ${what}`, forms: [Buffer.from(value), Buffer.from(Buffer.from(value).toString('base64')), Buffer.from(Buffer.from(value).toString('hex'))] }] : []));
    });
  } finally {
    await client.end();
  }
}

/** Every row of every table of the demo's database, as JSON text (bytea as hex). */
async function dumpDatabase(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ table_schema: string; table_name: string }>(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['tenants', 'connections', 'record_links', 'record_snapshots']));
    const dump: string[] = [];
    for (const { table_schema: schema, table_name: table } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)} t`);
      dump.push(`-- ${schema}.${table}`, ...rows.rows.map((row) => row.row));
    }
    return dump.join('\n');
  } finally {
    await client.end();
  }
}

/** The history of every execution in the namespace, as the server returns it (JSON), plus every base64 value in it decoded. */
async function dumpHistories(address: string): Promise<string> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const parts: string[] = [];
    const ids: string[] = [];
    for await (const execution of client.workflow.list()) {
      ids.push(execution.workflowId);
      // historyToJSON answers the proto JSON text, payload bytes as base64.
      const json = historyToJSON(await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory());
      parts.push(json);
      // Payload bytes are base64 in JSON: decode every base64-looking string so plaintext inside shows.
      for (const [, value] of json.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)) parts.push(Buffer.from(value!, 'base64').toString('utf8'));
    }
    expect(ids).toEqual(expect.arrayContaining(['sync:demo:demo-salesforce', 'sync:demo:demo-hubspot', 'backfill:demo:demo-salesforce:contact']));
    return parts.join('\n');
  } finally {
    await connection.close();
  }
}

/** The data dir's files as bytes (Temporal's SQLite database and log), except the two that hold secrets by design. */
async function dataDirFiles(dataDir: string): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const name of await readdir(dataDir)) {
    if (name === 'dev-encryption-key' || name === 'demo-sandboxes.json') continue;
    files[path.join(dataDir, name)] = await readFile(path.join(dataDir, name));
  }
  return files;
}

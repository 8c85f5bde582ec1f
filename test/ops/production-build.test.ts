import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce';
import { createTestNamespace } from './support/namespace';
import { cleanEnvironment, run, startProcess, writeSandboxConnectionFiles, type Run } from './support/processes';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONTACTS = 30;

/**
 * Issue #17, acceptance 6: `npm run build`, then what the Docker image does, without Docker: the
 * build and the package files alone in a fresh folder, `npm ci --omit=dev`, and the compiled
 * entry points run from there with plain `node`: migrations into a fresh schema, the worker
 * against the dev server, the CLI storing two sandbox connections and running a backfill that
 * the compiled worker executes through the compiled connectors.
 */
describe('production build: compiled JavaScript in a production install', { timeout: 600_000 }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let database: string | undefined;
  let admin: pg.Client;
  let salesforce: SalesforceSandbox | undefined;
  let hubspot: HubSpotSandbox | undefined;
  let worker: Awaited<ReturnType<typeof startProcess>> | undefined;
  let build: Run;
  let install: Run;

  const cli = (args: readonly string[]): Promise<Run> => run(process.execPath, ['dist/cli/main.js', ...args], { cwd: dir, env });

  beforeAll(async () => {
    build = await run('npm', ['run', 'build'], { cwd: root, env: cleanEnvironment() });
    if (build.code !== 0) return;
    dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-production-'));
    // What the Dockerfile's runtime stage copies: the build and the package files, no sources.
    cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    for (const file of ['package.json', 'package-lock.json']) cpSync(path.join(root, file), path.join(dir, file));
    install = await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, env: cleanEnvironment() });
    if (install.code !== 0) return;

    // A database of its own, as production has: the compiled `migrate` creates it and migrates
    // it (node-pg-migrate sets its own search_path, so a schema chosen in the URL would be ignored).
    database = `crm_sync_ops_${randomBytes(6).toString('hex')}`;
    const databaseUrl = new URL(inject('testDatabaseUrl'));
    databaseUrl.pathname = `/${database}`;
    admin = new pg.Client({ connectionString: inject('testDatabaseUrl') });
    await admin.connect();
    env = {
      ...cleanEnvironment(),
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl.toString(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: await createTestNamespace(inject('temporalAddress')),
      TEMPORAL_TASK_QUEUE: `production-build-${randomBytes(4).toString('hex')}`,
      CRM_SYNC_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      // No HOME: no ~/.config/temporalio/temporal.toml of whoever runs the tests.
      HOME: dir,
    };
    salesforce = await startSalesforceSandbox({ dailyApiRequests: false });
    hubspot = await startHubSpotSandbox({ limits: false });
    salesforce.admin.seed({ contacts: CONTACTS });
  });

  afterAll(async () => {
    await worker?.stop();
    await Promise.all([salesforce?.stop(), hubspot?.stop()]);
    if (admin) {
      if (database) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('npm run build writes the compiled entry points, the migrations and the workflow bundle to dist/', () => {
    expect(build.code, build.stderr + build.stdout).toBe(0);
    for (const file of ['worker.js', 'webhooks/server.js', 'cli/main.js', 'store/migrate-cli.js', 'codec/server.js', 'workflow-bundle.js', 'store/migrations/1763856000000_initial-schema.sql']) {
      expect(existsSync(path.join(root, 'dist', file)), file).toBe(true);
    }
    // The runtime packages the build found imported: all from "dependencies"; none a build tool.
    expect(build.stdout).toMatch(/runtime packages: .*@temporalio\/worker/);
    expect(build.stdout.split('runtime packages:')[1]).not.toMatch(/\b(tsx|typescript|esbuild)\b/);
  });

  it('the Dockerfile runtime stage is this install: dist/ and production dependencies, the compiled worker as its command', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^RUN npm ci --omit=dev --ignore-scripts/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).not.toMatch(/^COPY (\.\/)?(src|scripts|tsconfig)/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/worker\.js"\]$/m);
  });

  it('installs with --omit=dev: no tsx, typescript or esbuild in node_modules', () => {
    expect(install.code, install.stderr).toBe(0);
    for (const tool of ['tsx', 'typescript', 'esbuild', 'vitest']) expect(existsSync(path.join(dir, 'node_modules', tool)), tool).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules', '@temporalio', 'worker'))).toBe(true);
  });

  it('the compiled migrations, worker and CLI run a backfill between two sandboxes through the compiled connectors', async () => {
    expect(install.code).toBe(0);
    const migrated = await run(process.execPath, ['dist/store/migrate-cli.js'], { cwd: dir, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^database created; migrations applied: 1763856000000_initial-schema, /);

    worker = await startProcess(process.execPath, ['dist/worker.js'], { cwd: dir, env, ready: /Worker polling task queue/ });
    expect(worker.output()).toMatch(/Supervisor schedule "crm-sync-supervisor": created\./);
    expect(worker.output()).toContain(`on Temporal at ${inject('temporalAddress')} (namespace ${env.TEMPORAL_NAMESPACE}, plaintext)`);

    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: crm-sync /);
    expect((await cli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const files = writeSandboxConnectionFiles(dir, { salesforce: salesforce!, hubspot: hubspot! });
    expect(await cli(['tenant', 'add', 'acme'])).toMatchObject({ code: 0 });
    for (const provider of ['salesforce', 'hubspot'] as const) {
      const added = await cli(['connection', 'add', 'acme', `acme-${provider}`, '--provider', provider, '--settings-file', files[provider].settings, '--credentials-file', files[provider].credentials]);
      expect(added.stderr).toBe('');
      expect(added.stdout).toBe(`connection acme-${provider} (${provider}) added to tenant acme; workflow sync:acme:acme-${provider} running\n`);
      // Paused, as an operator keeps a new connection until its backfill is done.
      expect(await cli(['connection', 'pause', `acme-${provider}`])).toMatchObject({ code: 0 });
    }
    const listed = await cli(['connection', 'list', '--json']);
    expect((JSON.parse(listed.stdout) as { id: string; status: string }[]).map(({ id, status }) => `${id}:${status}`).sort()).toEqual(['acme-hubspot:paused', 'acme-salesforce:paused']);

    // The compiled worker runs the backfill workflow (from dist/workflow-bundle.js) and its
    // activities, which load the Salesforce and HubSpot connectors from dist/connectors.
    const backfill = await cli(['backfill', 'start', 'acme-salesforce', 'contact', '--targets', 'acme-hubspot', '--watch', '--interval', '0.5']);
    expect(backfill.stderr).toBe('');
    expect(backfill.code).toBe(0);
    const emails = (records: { Email?: unknown; properties?: Record<string, unknown> }[], read: (record: (typeof records)[number]) => unknown): string[] =>
      records.map(read).filter((email): email is string => typeof email === 'string').map((email) => email.toLowerCase()).sort();
    const copied = emails(hubspot!.admin.listRecords('contacts'), (record) => record.properties?.email);
    const source = emails(salesforce!.admin.listRecords('Contact'), (record) => record.Email);
    expect(source).toHaveLength(CONTACTS);
    expect(copied).toEqual(expect.arrayContaining(source));

    // The status the workflow reports, read back through the compiled CLI.
    const status = await cli(['sync', 'status', 'acme-salesforce', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ connectionId: 'acme-salesforce', tenantId: 'acme' });

    expect(await worker.stop()).toBe(0);
    worker = undefined;
  });
});

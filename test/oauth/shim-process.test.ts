import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort } from '../../src/devserver/dev-server';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Shim {
  output: () => string;
  exited: Promise<number | null>;
  stop: () => void;
}

/** `npm run shim`'s command as a process, with only the environment given. */
function startShim(env: Record<string, string>): Shim {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|TEMPORAL_|CRM_SYNC_|SHIM_|NODE_ENV|CODEC_)/.test(name)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/webhooks/server.ts'], { cwd: repoRoot, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { output: () => output, exited: new Promise((resolve) => child.once('exit', resolve)), stop: () => child.kill('SIGTERM') };
}

/** The shim process serves the OAuth callback from its environment's apps, and refuses a half-configured app at start. */
describe('the shim process: GET /oauth/:provider/callback', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let base: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const url = new URL(inject('testDatabaseUrl'));
    url.searchParams.set('options', `-c search_path=${db.schema}`);
    base = {
      NODE_ENV: 'test',
      DATABASE_URL: url.toString(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      CRM_SYNC_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      SHIM_PUBLIC_URL: 'https://hooks.example.com',
      CRM_SYNC_OAUTH_SALESFORCE_CLIENT_ID: '3MVG9-consent-test',
      CRM_SYNC_OAUTH_SALESFORCE_CLIENT_SECRET: 'salesforce-app-secret-never-logged',
    };
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('answers a forged state with a 400 page and an unconfigured provider with 404, logging neither the code nor the state', async () => {
    const port = await findFreePort();
    const shim = startShim({ ...base, SHIM_PORT: String(port) });
    try {
      await expect.poll(() => shim.output(), { timeout: 60_000, interval: 200 }).toContain('GET /oauth/:provider/callback');
      const forged = await fetch(`http://127.0.0.1:${port}/oauth/salesforce/callback?code=code-value-1234567890&state=forged-state-value`);
      expect(forged.status).toBe(400);
      expect(forged.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(forged.headers.get('cache-control')).toBe('no-store');
      expect(await forged.text()).toContain('The state parameter is not one crm-sync issued.');
      const unconfigured = await fetch(`http://127.0.0.1:${port}/oauth/hubspot/callback?code=x&state=y`);
      expect([unconfigured.status, await unconfigured.text()]).toEqual([404, expect.stringContaining('No OAuth app is configured for &#34;hubspot&#34;.')]);
      await expect.poll(() => shim.output(), { timeout: 10_000, interval: 100 }).toContain('oauth callback');
      expect(shim.output()).not.toMatch(/code-value-1234567890|forged-state-value|salesforce-app-secret-never-logged/);
    } finally {
      shim.stop();
      await shim.exited;
    }
  });

  it('refuses to start with a half-configured OAuth app (exit 78), naming the variables and not the secret', async () => {
    const shim = startShim({ ...base, SHIM_PORT: String(await findFreePort()), CRM_SYNC_OAUTH_SALESFORCE_CLIENT_ID: '' });
    expect(await shim.exited).toBe(78);
    expect(shim.output()).toContain('CRM_SYNC_OAUTH_SALESFORCE_CLIENT_ID and CRM_SYNC_OAUTH_SALESFORCE_CLIENT_SECRET must be set together');
    expect(shim.output()).not.toContain('salesforce-app-secret-never-logged');
  });
});

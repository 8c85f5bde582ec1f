import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { CrmConnector } from '../../src/connectors/connector';
import { createStoredConnectionRegistry } from '../../src/connectors/stored-connections';
import type { CrmProvider } from '../../src/model/identifiers';
import type { SandboxHandle } from '../../src/sandbox/core/sandbox-handle';
import { startHubSpotSandbox } from '../../src/sandbox/hubspot';
import { startPipedriveSandbox } from '../../src/sandbox/pipedrive';
import { startSalesforceSandbox } from '../../src/sandbox/salesforce';
import { startZohoSandbox } from '../../src/sandbox/zoho';
import { ConnectionTokensRepository } from '../../src/store/connection-tokens-repository';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { createPool, quoteIdentifier } from '../../src/store/database';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * Tokens are one per connection, not per process: three workers (each its own connector objects
 * and PostgreSQL pools, as three processes would have) use one connection whose tokens expire
 * every few seconds on the sandbox's clock. The sandbox's token endpoint must see exactly one
 * request per expiry, a rotated refresh token must outlive every worker, and no token may reach
 * PostgreSQL or a log in plaintext.
 */

const LIFETIME_S = 10;
const CONNECTION = 'shared-conn';

interface Vendor {
  provider: CrmProvider;
  /** Whether the vendor (as the sandbox is set up) answers a refresh with a new refresh token and refuses the old one. */
  rotates: boolean;
  start(clock: () => number): Promise<{ sandbox: SandboxHandle; settings: Record<string, unknown>; credentials: Record<string, unknown>; refreshToken: string; secrets: string[]; grant(refreshToken: string): Promise<Response> }>;
}

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

const vendors: Vendor[] = [
  {
    provider: 'salesforce',
    rotates: true,
    async start(clock) {
      const sandbox = await startSalesforceSandbox({ now: clock, tokenLifetimeMs: LIFETIME_S * 1000, refreshTokenRotation: true, dailyApiRequests: false });
      const { clientId, clientSecret, refreshToken, instanceUrl, loginUrl } = sandbox.credentials;
      return {
        sandbox,
        settings: { instanceUrl, loginUrl },
        credentials: { grant: 'refresh_token', clientId, clientSecret, refreshToken },
        refreshToken,
        secrets: [clientSecret, refreshToken, sandbox.credentials.accessToken],
        grant: (token) => fetch(`${loginUrl}/services/oauth2/token`, { method: 'POST', headers: formHeaders, body: form({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: token }) }),
      };
    },
  },
  {
    provider: 'hubspot',
    rotates: false,
    async start(clock) {
      const sandbox = await startHubSpotSandbox({ now: clock, limits: false, publicApp: { accessTokenLifetimeSeconds: LIFETIME_S } });
      const { clientId, clientSecret, refreshToken } = sandbox.credentials;
      return {
        sandbox,
        settings: { basePath: sandbox.url },
        credentials: { kind: 'oauth', clientId, clientSecret, refreshToken },
        refreshToken,
        secrets: [clientSecret, refreshToken],
        grant: (token) => fetch(`${sandbox.url}/oauth/v1/token`, { method: 'POST', headers: formHeaders, body: form({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: token }) }),
      };
    },
  },
  {
    provider: 'pipedrive',
    rotates: true,
    async start(clock) {
      const sandbox = await startPipedriveSandbox({ now: clock, limits: false, oauth: { accessTokenLifetimeSeconds: LIFETIME_S } });
      const { clientId, clientSecret, refreshToken, tokenUrl } = sandbox.credentials;
      return {
        sandbox,
        settings: { apiDomain: sandbox.url },
        credentials: { kind: 'oauth', clientId, clientSecret, refreshToken, tokenUrl },
        refreshToken,
        secrets: [clientSecret, refreshToken, sandbox.credentials.apiToken],
        grant: (token) =>
          fetch(tokenUrl, { method: 'POST', headers: { ...formHeaders, authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` }, body: form({ grant_type: 'refresh_token', refresh_token: token }) }),
      };
    },
  },
  {
    provider: 'zoho',
    rotates: false,
    async start(clock) {
      const sandbox = await startZohoSandbox({ now: clock, limits: false, client: { accessTokenLifetimeSeconds: LIFETIME_S } });
      const { clientId, clientSecret, refreshToken, accountsServer, apiDomain } = sandbox.credentials;
      return {
        sandbox,
        settings: { region: sandbox.region, accountsServer, apiDomain },
        credentials: { clientId, clientSecret, refreshToken },
        refreshToken,
        secrets: [clientSecret, refreshToken],
        grant: (token) => fetch(`${accountsServer}/oauth/v2/token`, { method: 'POST', headers: formHeaders, body: form({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: token }) }),
      };
    },
  },
];

/** One worker process's share of the state: its own pools, repositories and connector objects. */
interface Worker {
  pool: pg.Pool;
  tokens: ConnectionTokensRepository;
  connector(): Promise<CrmConnector>;
  stop(): Promise<void>;
}

/** Requests the sandbox's token endpoint has answered (refused ones included). */
function tokenRequests(sandbox: SandboxHandle): number {
  return Object.entries(sandbox.counters.snapshot().requests)
    .filter(([route]) => route.startsWith('POST ') && route.endsWith('/token'))
    .reduce((sum, [, count]) => sum + count, 0);
}

describe.each(vendors)('tokens shared by every worker: $provider', (vendor) => {
  let db: TestDatabase;
  let cipher: CredentialCipher;
  let now = Date.parse('2026-01-05T09:00:00Z');
  const clock = (): number => now;
  let started: Awaited<ReturnType<Vendor['start']>>;
  let workers: Worker[] = [];
  const logged: string[] = [];

  const startWorker = (): Worker => {
    const pool = createPool(inject('testDatabaseUrl'), { schema: db.schema, max: 2 });
    const tokens = new ConnectionTokensRepository(pool, cipher, { lockPoolSize: 2 });
    const registry = createStoredConnectionRegistry({ connections: new ConnectionsRepository(pool, cipher), pool, tokens, defaults: { rateLimits: false, tokenClock: clock, requestTimeoutMs: 10_000 } });
    const built: CrmConnector[] = [];
    return {
      pool,
      tokens,
      async connector() {
        const connector = await registry.forConnection(CONNECTION);
        built.push(connector);
        return connector;
      },
      async stop() {
        for (const connector of new Set(built)) await (connector as CrmConnector & { close?: () => Promise<void> }).close?.();
        await tokens.close();
        await pool.end();
      },
    };
  };

  /** Every worker makes two concurrent calls, as activities sharing a connector would. */
  const callFromEveryWorker = async (): Promise<void> => {
    const since = new Date(now - 60_000).toISOString();
    await Promise.all(workers.map(async (worker) => {
      const connector = await worker.connector();
      await Promise.all([0, 1].map(() => connector.listChanges('contact', { since, limit: 1 })));
    }));
  };

  const storedToken = async () => {
    const token = await new ConnectionTokensRepository(db.pool, cipher).read(CONNECTION);
    if (!token) throw new Error('no stored token');
    return token;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    cipher = new CredentialCipher(new Map([['k1', randomBytes(32)]]), 'k1');
    started = await vendor.start(clock);
    const connections = new ConnectionsRepository(db.pool, cipher);
    await connections.addTenant('acme', 'Acme');
    await connections.addConnection({ id: CONNECTION, tenantId: 'acme', provider: vendor.provider, settings: started.settings, credentials: started.credentials });
  });

  beforeEach(() => {
    // Whatever a connector or the store writes to the console is a log line: none may hold a secret.
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
    }
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
        logged.push(String(chunk));
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      }));
    }
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await started?.sandbox.stop();
    await db?.drop();
  });

  it('three workers: the token endpoint sees exactly one refresh per expiry, and none while the token is fresh', async () => {
    workers = [startWorker(), startWorker(), startWorker()];
    await callFromEveryWorker();
    expect(tokenRequests(started.sandbox)).toBe(1);
    const seen = [await storedToken()];

    for (let expiry = 1; expiry <= 3; expiry += 1) {
      // Half a lifetime on: every worker keeps the token it has.
      now += (LIFETIME_S * 1000) / 2;
      await callFromEveryWorker();
      expect(tokenRequests(started.sandbox)).toBe(expiry);
      // Past its expiry (Salesforce says none: its workers learn it from the 401).
      now += (LIFETIME_S * 1000) / 2 + 1;
      await callFromEveryWorker();
      expect(tokenRequests(started.sandbox)).toBe(expiry + 1);
      seen.push(await storedToken());
    }
    const accessTokens = new Set(seen.map((token) => token.accessToken));
    expect(accessTokens.size).toBe(4);
    const refreshTokens = new Set(seen.map((token) => token.refreshToken));
    // A rotating vendor's every answer carried a new refresh token, and it was stored before use.
    expect(refreshTokens.size).toBe(vendor.rotates ? 4 : 1);
    if (!vendor.rotates) expect([...refreshTokens]).toEqual([started.refreshToken]);
    started.secrets.push(...seen.flatMap((token) => [token.accessToken, token.refreshToken ?? '']).filter(Boolean));
  });

  it('after every worker restarted, the stored refresh token renews the grant; a rotated-away one is refused by the vendor', async () => {
    for (const worker of workers) await worker.stop();
    const before = await storedToken();
    workers = [startWorker(), startWorker(), startWorker()];
    // The new workers take the stored token while it is fresh…
    await callFromEveryWorker();
    expect(tokenRequests(started.sandbox)).toBe(4);
    // …and renew it, once, from the stored refresh token when it lapses.
    now += LIFETIME_S * 1000 + 1;
    await callFromEveryWorker();
    expect(tokenRequests(started.sandbox)).toBe(5);
    const after = await storedToken();
    expect(after.accessToken).not.toBe(before.accessToken);
    started.secrets.push(after.accessToken, after.refreshToken ?? '');

    if (vendor.rotates) {
      expect(after.refreshToken).not.toBe(before.refreshToken);
      for (const old of [started.refreshToken, before.refreshToken ?? '']) {
        const refused = await started.grant(old);
        expect(refused.status).toBe(400);
        expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
      }
    } else {
      expect(after.refreshToken).toBe(started.refreshToken);
      expect((await started.grant(started.refreshToken)).status).toBe(200);
    }
  });

  it('keeps every token and secret out of PostgreSQL plaintext and out of the logs', async () => {
    const secrets = started.secrets.filter((secret) => secret.length >= 8);
    expect(secrets.length).toBeGreaterThanOrEqual(vendor.rotates ? 8 : 6);
    const tables = await db.pool.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [db.schema]);
    const rows: string[] = [];
    for (const { table_name } of tables.rows) {
      const dump = await db.pool.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${quoteIdentifier(db.schema)}.${quoteIdentifier(table_name)} t`);
      rows.push(...dump.rows.map((row) => row.row));
    }
    const everything = rows.join('\n');
    expect(everything).toContain(CONNECTION);
    const logs = logged.join('\n');
    for (const secret of secrets) {
      for (const form of [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64')]) {
        expect(everything.includes(form), 'a secret in PostgreSQL plaintext').toBe(false);
        expect(logs.includes(form), 'a secret in a log line').toBe(false);
      }
    }
  });
});

/** A worker process (test/support/token-worker.ts), driven over IPC one message at a time. */
class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly waiting: ((answer: { ok: boolean; error?: string }) => void)[] = [];
  readonly ready: Promise<void>;

  constructor(env: Record<string, string>, output: string[]) {
    this.child = fork(fileURLToPath(new URL('../support/token-worker.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, silent: true });
    this.child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    this.child.on('message', (answer: { ok: boolean; error?: string }) => this.waiting.shift()?.(answer));
    this.ready = this.answer();
  }

  async send(message: object): Promise<void> {
    const answered = this.answer();
    this.child.send(message);
    await answered;
  }

  private answer(): Promise<void> {
    return new Promise((resolve, reject) => this.waiting.push((answer) => (answer.ok ? resolve() : reject(new Error(answer.error)))));
  }

  async stop(): Promise<void> {
    if (!this.child.connected) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.send({ stop: true });
    await exited;
  }
}

describe.each(vendors.filter((vendor) => vendor.rotates))('tokens shared by three worker processes: $provider', (vendor) => {
  let db: TestDatabase;
  const key = randomBytes(32);
  let now = Date.parse('2026-01-05T09:00:00Z');
  let started: Awaited<ReturnType<Vendor['start']>>;
  let processes: WorkerProcess[] = [];
  const output: string[] = [];

  const spawnWorkers = async (): Promise<WorkerProcess[]> => {
    const env = { TOKEN_WORKER_DATABASE_URL: inject('testDatabaseUrl'), TOKEN_WORKER_SCHEMA: db.schema, TOKEN_WORKER_KEY: key.toString('base64'), TOKEN_WORKER_NOW: String(now) };
    const spawned = [0, 1, 2].map(() => new WorkerProcess(env, output));
    await Promise.all(spawned.map((worker) => worker.ready));
    return spawned;
  };
  const everyProcessCalls = async (): Promise<void> => {
    await Promise.all(processes.map((worker) => worker.send({ now })));
    const since = new Date(now - 60_000).toISOString();
    await Promise.all(processes.map((worker) => worker.send({ call: CONNECTION, since })));
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    started = await vendor.start(() => now);
    const connections = new ConnectionsRepository(db.pool, new CredentialCipher(new Map([['k1', key]]), 'k1'));
    await connections.addTenant('acme', 'Acme');
    await connections.addConnection({ id: CONNECTION, tenantId: 'acme', provider: vendor.provider, settings: started.settings, credentials: started.credentials });
  });

  afterAll(async () => {
    await Promise.all(processes.map((worker) => worker.stop()));
    await started?.sandbox.stop();
    await db?.drop();
  });

  // Six Node processes start within the test's time, on a busy machine.
  it('one token request per expiry across processes; after every process restarted the rotated refresh token works, the old one is refused', async () => {
    processes = await spawnWorkers();
    await everyProcessCalls();
    expect(tokenRequests(started.sandbox)).toBe(1);
    for (let expiry = 1; expiry <= 2; expiry += 1) {
      now += LIFETIME_S * 1000 + 1;
      await everyProcessCalls();
      expect(tokenRequests(started.sandbox)).toBe(expiry + 1);
    }
    await Promise.all(processes.map((worker) => worker.stop()));
    processes = await spawnWorkers();
    now += LIFETIME_S * 1000 + 1;
    await everyProcessCalls();
    expect(tokenRequests(started.sandbox)).toBe(4);
    const refused = await started.grant(started.refreshToken);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
    const stored = await new ConnectionTokensRepository(db.pool, new CredentialCipher(new Map([['k1', key]]), 'k1')).read(CONNECTION);
    const logs = output.join('');
    for (const secret of [...started.secrets, stored?.accessToken ?? 'none', stored?.refreshToken ?? 'none']) expect(logs.includes(secret)).toBe(false);
  }, 120_000);
});

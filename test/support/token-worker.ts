/**
 * A worker process for the shared-token tests (test/connectors/shared-tokens.test.ts): its own
 * Node process, PostgreSQL pools and connector, built from the stored connection as the worker
 * builds it. Driven over IPC, so the test sets its clock (the sandbox's) instead of waiting:
 *   { now } sets the clock; { call, since } makes two concurrent calls; { stop } ends it.
 * Answers { ok: true } or { ok: false, error } to each message.
 */
import type { CrmConnector } from '../../src/connectors/connector';
import { createStoredConnectionRegistry } from '../../src/connectors/stored-connections';
import { ConnectionTokensRepository } from '../../src/store/connection-tokens-repository';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { createPool } from '../../src/store/database';

type Message = { now: number } | { call: string; since: string } | { stop: true };

const { TOKEN_WORKER_DATABASE_URL: databaseUrl, TOKEN_WORKER_SCHEMA: schema, TOKEN_WORKER_KEY: key, TOKEN_WORKER_NOW: start } = process.env;
if (!databaseUrl || !schema || !key || !start || !process.send) throw new Error('token-worker: run by the shared-token tests, with IPC');
const send = (answer: { ok: true } | { ok: false; error: string }): void => void process.send?.(answer);

let now = Number(start);
const cipher = new CredentialCipher(new Map([['k1', Buffer.from(key, 'base64')]]), 'k1');
const pool = createPool(databaseUrl, { schema, max: 2 });
const tokens = new ConnectionTokensRepository(pool, cipher, { lockPoolSize: 2 });
const registry = createStoredConnectionRegistry({ connections: new ConnectionsRepository(pool, cipher), pool, tokens, defaults: { rateLimits: false, tokenClock: () => now, requestTimeoutMs: 10_000 } });
const built = new Set<CrmConnector>();

process.on('message', (message: Message) => {
  void (async () => {
    try {
      if ('now' in message) now = message.now;
      else if ('call' in message) {
        const connector = await registry.forConnection(message.call);
        built.add(connector);
        await Promise.all([0, 1].map(() => connector.listChanges('contact', { since: message.since, limit: 1 })));
      } else {
        for (const connector of built) await (connector as CrmConnector & { close?: () => Promise<void> }).close?.();
        await tokens.close();
        await pool.end();
        send({ ok: true });
        process.disconnect();
        return;
      }
      send({ ok: true });
    } catch (error) {
      send({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  })();
});
send({ ok: true });

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConnectionToken } from '../../src/connectors/token-provider';
import { ConnectionTokensRepository } from '../../src/store/connection-tokens-repository';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { createPool } from '../../src/store/database';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const token = (n: number): ConnectionToken => ({ accessToken: `at-${n}-${randomBytes(8).toString('hex')}`, refreshToken: `rt-${n}-${randomBytes(8).toString('hex')}`, expiresAt: 1_800_000_000_000 + n, issuedAt: 1_799_999_000_000 });

describe('connection tokens in PostgreSQL', () => {
  let db: TestDatabase;
  const keys = new Map([
    ['a', randomBytes(32)],
    ['b', randomBytes(32)],
  ]);
  const cipherA = new CredentialCipher(keys, 'a');

  beforeAll(async () => {
    db = await createTestDatabase();
    const connections = new ConnectionsRepository(db.pool, cipherA);
    await connections.addTenant('acme', 'Acme');
    for (const id of ['c1', 'c2']) await connections.addConnection({ id, tenantId: 'acme', provider: 'hubspot', settings: {}, credentials: { kind: 'oauth', refreshToken: 'from-consent' } });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('lets one holder at a time, across pools, read the stored token and replace it before the next one reads', async () => {
    const pools = [0, 1, 2].map(() => createPool(inject('testDatabaseUrl'), { schema: db.schema, max: 1 }));
    const repositories = pools.map((pool) => new ConnectionTokensRepository(pool, cipherA));
    let holders = 0;
    let most = 0;
    const seen: (string | undefined)[] = [];
    try {
      await Promise.all(
        repositories.map((repository, n) =>
          repository.update('c1', async (stored) => {
            holders += 1;
            most = Math.max(most, holders);
            seen.push(stored?.accessToken);
            await new Promise((resolve) => setTimeout(resolve, 50));
            holders -= 1;
            return stored ?? token(n);
          }),
        ),
      );
    } finally {
      await Promise.all(repositories.map((repository) => repository.close()));
      await Promise.all(pools.map((pool) => pool.end()));
    }
    expect(most).toBe(1);
    // The first holder stored a token; the two after it found it and kept it.
    expect(seen[0]).toBeUndefined();
    expect(seen.slice(1)).toEqual([seen[1], seen[1]]);
    expect(seen[1]).toBeDefined();
  });

  it('stores the token sealed and bound to its connection; the expiry alone is readable', async () => {
    const repository = new ConnectionTokensRepository(db.pool, cipherA);
    const stored = token(7);
    await repository.update('c2', async () => stored);
    await expect(repository.read('c2')).resolves.toEqual(stored);
    const raw = await db.pool.query<{ row: string; expires_at: Date }>(`SELECT row_to_json(t)::text AS row, expires_at FROM connection_tokens t WHERE connection_id = 'c2'`);
    for (const secret of [stored.accessToken, stored.refreshToken ?? '']) expect(raw.rows[0]?.row).not.toContain(secret);
    expect(raw.rows[0]?.expires_at.getTime()).toBe(stored.expiresAt);
    // An envelope moved onto another connection's row does not open there.
    await db.pool.query(`UPDATE connection_tokens SET token = (SELECT token FROM connection_tokens WHERE connection_id = 'c2') WHERE connection_id = 'c1'`);
    await expect(repository.read('c1')).rejects.toThrow('failed authentication');
    await db.pool.query(`DELETE FROM connection_tokens WHERE connection_id = 'c1'`);
    await repository.close();
  });

  it('re-seals token rows with the credentials on key rotation, and forgets them when the credentials are replaced', async () => {
    const stored = token(9);
    await new ConnectionTokensRepository(db.pool, cipherA).update('c1', async () => stored);
    const cipherB = new CredentialCipher(keys, 'b');
    await expect(new ConnectionsRepository(db.pool, cipherB).reencryptCredentials()).resolves.toMatchObject({ connections: 2, reencrypted: 2 });
    const keyIds = await db.pool.query<{ token_key_id: string }>('SELECT DISTINCT token_key_id FROM connection_tokens');
    expect(keyIds.rows).toEqual([{ token_key_id: 'b' }]);
    const onlyB = new CredentialCipher(new Map([['b', keys.get('b') as Buffer]]), 'b');
    await expect(new ConnectionTokensRepository(db.pool, onlyB).read('c1')).resolves.toEqual(stored);

    // Re-authorisation: the new grant's refresh token is used from now on, not the one stored under the old grant.
    await new ConnectionsRepository(db.pool, onlyB).replaceCredentials('c1', { kind: 'oauth', refreshToken: 'from-new-consent' });
    await expect(new ConnectionTokensRepository(db.pool, onlyB).read('c1')).resolves.toBeUndefined();
    await expect(new ConnectionTokensRepository(db.pool, onlyB).read('c2')).resolves.toBeDefined();
  });
});

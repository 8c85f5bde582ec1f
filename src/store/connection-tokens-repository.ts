import pg from 'pg';
import type { ConnectionToken, SharedTokenStore } from '../connectors/token-provider';
import type { CredentialCipher } from './credential-cipher';
import { prepareSessions, withTransaction, type Queryable } from './database';

/**
 * The token lock of a connection, one holder across every worker process: a transaction-scoped
 * advisory lock, so a worker that dies mid-refresh releases it with its session. Replacing a
 * connection's credentials takes it too (connections-repository.ts), so a re-authorisation never
 * interleaves with a refresh.
 */
export const TOKEN_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtextextended('connection-token:' || $1, 0))`;

/** What a token envelope is bound to: a token row copied onto another connection, or into credentials, fails to open. */
export function tokenBinding(connectionId: string): string {
  return `${connectionId}/token`;
}

export interface ConnectionTokensOptions {
  /** Longest a worker waits for another's refresh (bounded by its request timeout). Default 2 min. */
  lockTimeoutMs?: number;
  /** Connections of the lock pool. Default 4. */
  lockPoolSize?: number;
}

/**
 * Each connection's current OAuth token, sealed in `connection_tokens` and shared by every worker:
 * `forConnection(id)` is the SharedTokenStore its connector's token provider renews through.
 */
export class ConnectionTokensRepository {
  private lockPool: pg.Pool | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly cipher: CredentialCipher,
    private readonly options: ConnectionTokensOptions = {},
  ) {}

  forConnection(connectionId: string): SharedTokenStore {
    return { read: () => this.read(connectionId), update: (work) => this.update(connectionId, work) };
  }

  async read(connectionId: string, db: Queryable = this.pool): Promise<ConnectionToken | undefined> {
    const result = await db.query<{ token: Buffer; token_key_id: string }>('SELECT token, token_key_id FROM connection_tokens WHERE connection_id = $1', [connectionId]);
    const row = result.rows[0];
    return row && (this.cipher.open({ ciphertext: row.token, keyId: row.token_key_id }, tokenBinding(connectionId)) as ConnectionToken);
  }

  /**
   * Runs `work` under the connection's token lock with the stored token, and stores what it returns
   * before the lock is released. The transaction stays open across `work` (one vendor token call,
   * bounded by its request timeout), on a pool of its own: a holder never waits for a connection of
   * the pool the connectors' rate budget uses, and waiters cannot starve it.
   */
  async update(connectionId: string, work: (stored: ConnectionToken | undefined) => Promise<ConnectionToken>): Promise<ConnectionToken> {
    return withTransaction(this.ownPool(), async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.options.lockTimeoutMs ?? 120_000))}`);
      await tx.query(TOKEN_LOCK_SQL, [connectionId]);
      const stored = await this.read(connectionId, tx);
      const next = await work(stored);
      if (next === stored) return next;
      const sealed = this.cipher.seal(next, tokenBinding(connectionId));
      await tx.query(
        `INSERT INTO connection_tokens (connection_id, token, token_key_id, expires_at, refreshed_at)
         VALUES ($1, $2, $3, $4, clock_timestamp())
         ON CONFLICT (connection_id) DO UPDATE SET token = EXCLUDED.token, token_key_id = EXCLUDED.token_key_id,
           expires_at = EXCLUDED.expires_at, refreshed_at = EXCLUDED.refreshed_at`,
        [connectionId, sealed.ciphertext, sealed.keyId, next.expiresAt === null ? null : new Date(next.expiresAt)],
      );
      return next;
    });
  }

  async close(): Promise<void> {
    const pool = this.lockPool;
    this.lockPool = undefined;
    await pool?.end();
  }

  private ownPool(): pg.Pool {
    if (!this.lockPool) {
      this.lockPool = new pg.Pool({ ...this.pool.options, max: this.options.lockPoolSize ?? 4, allowExitOnIdle: true });
      prepareSessions(this.lockPool);
    }
    return this.lockPool;
  }
}

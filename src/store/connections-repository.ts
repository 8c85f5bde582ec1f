import pg from 'pg';
import type { CrmProvider } from '../model/identifiers';
import { TOKEN_LOCK_SQL, tokenBinding } from './connection-tokens-repository';
import type { CredentialCipher } from './credential-cipher';
import { withTransaction, type Queryable } from './database';

export type ConnectionStatus = 'active' | 'paused' | 'needs-reauth' | 'disabled' | 'deleted';

/** Whether a connection takes part in syncing (as a source or a peer): not disabled, not deleted. */
export function isSyncing(status: ConnectionStatus): boolean {
  return status !== 'disabled' && status !== 'deleted';
}

export interface ConnectionSummary {
  id: string;
  tenantId: string;
  provider: CrmProvider;
  settings: Record<string, unknown>;
  status: ConnectionStatus;
  /** Bumped by every change of settings, credentials or status: cached connectors compare it. */
  updatedAt: Date;
}

export interface NewConnection extends Omit<ConnectionSummary, 'status' | 'updatedAt'> {
  /** Tokens, client secrets: sealed before they reach the database. */
  credentials: Record<string, unknown>;
}

/**
 * Tenants and their CRM connections. Credentials are sealed on the way in and opened only by
 * `loadCredentials`, which activities call by connection id, so secrets never travel through
 * workflow inputs or history.
 */
export class ConnectionsRepository {
  constructor(
    private readonly db: Queryable,
    private readonly cipher: CredentialCipher,
  ) {}

  async addTenant(id: string, name: string): Promise<void> {
    await this.db.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [id, name]);
  }

  async listTenants(): Promise<{ id: string; name: string; createdAt: Date }[]> {
    const result = await this.db.query<{ id: string; name: string; created_at: Date }>('SELECT id, name, created_at FROM tenants ORDER BY id');
    return result.rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at }));
  }

  async addConnection(connection: NewConnection): Promise<void> {
    const sealed = this.cipher.seal(connection.credentials, connection.id);
    await this.db.query(
      `INSERT INTO connections (id, tenant_id, provider, settings, credentials, credentials_key_id)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [connection.id, connection.tenantId, connection.provider, connection.settings, sealed.ciphertext, sealed.keyId],
    );
  }

  async getConnection(id: string): Promise<ConnectionSummary | undefined> {
    const result = await this.db.query<ConnectionRow>(`SELECT ${summaryColumns} FROM connections WHERE id = $1`, [id]);
    return result.rows[0] && toSummary(result.rows[0]);
  }

  async listConnections(tenantId: string): Promise<ConnectionSummary[]> {
    const result = await this.db.query<ConnectionRow>(
      `SELECT ${summaryColumns} FROM connections WHERE tenant_id = $1 ORDER BY id`,
      [tenantId],
    );
    return result.rows.map(toSummary);
  }

  /** Every tenant's connections in one of these statuses (the supervisor's view), by tenant then id. */
  async listConnectionsWithStatus(statuses: readonly ConnectionStatus[]): Promise<ConnectionSummary[]> {
    const result = await this.db.query<ConnectionRow>(
      `SELECT ${summaryColumns} FROM connections WHERE status = ANY($1::text[]) ORDER BY tenant_id, id`,
      [statuses],
    );
    return result.rows.map(toSummary);
  }

  async loadCredentials(connectionId: string): Promise<Record<string, unknown>> {
    const result = await this.db.query<{ credentials: Buffer; credentials_key_id: string }>(
      'SELECT credentials, credentials_key_id FROM connections WHERE id = $1',
      [connectionId],
    );
    const row = result.rows[0];
    if (!row) throw new Error(`unknown connection "${connectionId}"`);
    return this.cipher.open({ ciphertext: row.credentials, keyId: row.credentials_key_id }, connectionId) as Record<string, unknown>;
  }

  /**
   * New credentials (re-authorisation) replace the grant: the tokens workers shared under the old
   * one are deleted with it, under the connection's token lock, so a refresh in flight finishes
   * first and the next one starts from the new refresh token.
   */
  async replaceCredentials(connectionId: string, credentials: Record<string, unknown>): Promise<void> {
    const sealed = this.cipher.seal(credentials, connectionId);
    const run = async (db: Queryable): Promise<void> => {
      await db.query(TOKEN_LOCK_SQL, [connectionId]);
      await db.query('DELETE FROM connection_tokens WHERE connection_id = $1', [connectionId]);
      const result = await db.query(
        'UPDATE connections SET credentials = $2, credentials_key_id = $3, updated_at = clock_timestamp() WHERE id = $1',
        [connectionId, sealed.ciphertext, sealed.keyId],
      );
      if (result.rowCount !== 1) throw new Error(`unknown connection "${connectionId}"`);
    };
    if (!isPool(this.db)) return run(this.db); // a client: the caller owns the transaction
    return withTransaction(this.db, run);
  }

  /**
   * Key rotation (`crm-sync keys rotate`): re-seals every row not under the active key, in one
   * transaction with the rows locked, so a concurrent replaceCredentials neither is overwritten
   * nor overwrites. Idempotent: a second run finds nothing to do. `updated_at` stays, because the
   * credentials themselves did not change (cached connectors need not be rebuilt).
   */
  async reencryptCredentials(): Promise<{ connections: number; reencrypted: number }> {
    const run = async (db: Queryable): Promise<{ connections: number; reencrypted: number }> => {
      const total = await db.query<{ count: string }>('SELECT count(*) AS count FROM connections');
      const stale = await db.query<{ id: string; credentials: Buffer; credentials_key_id: string }>(
        'SELECT id, credentials, credentials_key_id FROM connections WHERE credentials_key_id <> $1 ORDER BY id FOR UPDATE',
        [this.cipher.activeKeyId],
      );
      for (const row of stale.rows) {
        const sealed = this.cipher.seal(this.cipher.open({ ciphertext: row.credentials, keyId: row.credentials_key_id }, row.id), row.id);
        await db.query('UPDATE connections SET credentials = $2, credentials_key_id = $3 WHERE id = $1', [row.id, sealed.ciphertext, sealed.keyId]);
      }
      // The tokens workers share are sealed under the same keys: a key retired after this run must open none of them.
      const staleTokens = await db.query<{ connection_id: string; token: Buffer; token_key_id: string }>(
        'SELECT connection_id, token, token_key_id FROM connection_tokens WHERE token_key_id <> $1 ORDER BY connection_id FOR UPDATE',
        [this.cipher.activeKeyId],
      );
      for (const row of staleTokens.rows) {
        const binding = tokenBinding(row.connection_id);
        const sealed = this.cipher.seal(this.cipher.open({ ciphertext: row.token, keyId: row.token_key_id }, binding), binding);
        await db.query('UPDATE connection_tokens SET token = $2, token_key_id = $3 WHERE connection_id = $1', [row.connection_id, sealed.ciphertext, sealed.keyId]);
      }
      return { connections: Number(total.rows[0]?.count ?? 0), reencrypted: stale.rows.length };
    };
    if (!isPool(this.db)) return run(this.db); // a client: the caller owns the transaction
    return withTransaction(this.db, run);
  }

  /**
   * Sets `credentials.webhook` (what the shim verifies deliveries with) under the token lock,
   * leaving the grant and the tokens workers share as they are: unlike re-authorisation, the
   * refresh token a vendor rotated since must survive this.
   */
  async mergeWebhookCredentials(connectionId: string, webhook: Record<string, string> | undefined): Promise<void> {
    await this.rewriteCredentials(connectionId, (credentials) => {
      const { webhook: _previous, ...rest } = credentials;
      return webhook === undefined ? rest : { ...rest, webhook };
    });
  }

  /**
   * `connection delete`: the credentials and shared tokens are gone for good (an empty sealed
   * object stays, the column is NOT NULL); the row stays with status `deleted` so its links and
   * snapshots are kept. `purgeConnection` removes those too.
   */
  async removeCredentials(connectionId: string): Promise<void> {
    await withTransaction(this.pool(), async (db) => {
      await db.query(TOKEN_LOCK_SQL, [connectionId]);
      await db.query('DELETE FROM connection_tokens WHERE connection_id = $1', [connectionId]);
      const sealed = this.cipher.seal({}, connectionId);
      const result = await db.query(
        "UPDATE connections SET credentials = $2, credentials_key_id = $3, status = 'deleted', updated_at = clock_timestamp() WHERE id = $1",
        [connectionId, sealed.ciphertext, sealed.keyId],
      );
      if (result.rowCount !== 1) throw new Error(`unknown connection "${connectionId}"`);
    });
  }

  /** `connection delete --purge`: the row and, by cascade, its links, snapshots, tokens and subscriptions. Returns the links removed. */
  async purgeConnection(connectionId: string): Promise<{ links: number }> {
    return withTransaction(this.pool(), async (db) => {
      const links = await db.query<{ count: string }>('SELECT count(*) AS count FROM record_links WHERE connection_id = $1', [connectionId]);
      const result = await db.query('DELETE FROM connections WHERE id = $1', [connectionId]);
      if (result.rowCount !== 1) throw new Error(`unknown connection "${connectionId}"`);
      return { links: Number(links.rows[0]?.count ?? 0) };
    });
  }

  private async rewriteCredentials(connectionId: string, change: (credentials: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    await withTransaction(this.pool(), async (db) => {
      await db.query(TOKEN_LOCK_SQL, [connectionId]);
      const current = await db.query<{ credentials: Buffer; credentials_key_id: string }>('SELECT credentials, credentials_key_id FROM connections WHERE id = $1 FOR UPDATE', [connectionId]);
      const row = current.rows[0];
      if (!row) throw new Error(`unknown connection "${connectionId}"`);
      const opened = this.cipher.open({ ciphertext: row.credentials, keyId: row.credentials_key_id }, connectionId) as Record<string, unknown>;
      const sealed = this.cipher.seal(change(opened), connectionId);
      await db.query('UPDATE connections SET credentials = $2, credentials_key_id = $3, updated_at = clock_timestamp() WHERE id = $1', [connectionId, sealed.ciphertext, sealed.keyId]);
    });
  }

  private pool(): pg.Pool {
    if (!isPool(this.db)) throw new Error('this operation runs its own transaction: construct the repository with a pool');
    return this.db;
  }

  async updateSettings(connectionId: string, settings: Record<string, unknown>): Promise<void> {
    const result = await this.db.query('UPDATE connections SET settings = $2, updated_at = clock_timestamp() WHERE id = $1', [connectionId, settings]);
    if (result.rowCount !== 1) throw new Error(`unknown connection "${connectionId}"`);
  }

  async setStatus(connectionId: string, status: ConnectionStatus): Promise<void> {
    await this.db.query('UPDATE connections SET status = $2, updated_at = clock_timestamp() WHERE id = $1', [connectionId, status]);
  }
}

function isPool(db: Queryable): db is pg.Pool {
  return db instanceof pg.Pool;
}

const summaryColumns = 'id, tenant_id, provider, settings, status, updated_at';

interface ConnectionRow {
  id: string;
  tenant_id: string;
  provider: CrmProvider;
  settings: Record<string, unknown>;
  status: ConnectionStatus;
  updated_at: Date;
}

function toSummary(row: ConnectionRow): ConnectionSummary {
  return { id: row.id, tenantId: row.tenant_id, provider: row.provider, settings: row.settings, status: row.status, updatedAt: row.updated_at };
}

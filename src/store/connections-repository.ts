import type { CrmProvider } from '../model/identifiers';
import type { CredentialCipher } from './credential-cipher';
import type { Queryable } from './database';

export type ConnectionStatus = 'active' | 'paused' | 'needs-reauth' | 'disabled';

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

  async replaceCredentials(connectionId: string, credentials: Record<string, unknown>): Promise<void> {
    const sealed = this.cipher.seal(credentials, connectionId);
    const result = await this.db.query(
      'UPDATE connections SET credentials = $2, credentials_key_id = $3, updated_at = clock_timestamp() WHERE id = $1',
      [connectionId, sealed.ciphertext, sealed.keyId],
    );
    if (result.rowCount !== 1) throw new Error(`unknown connection "${connectionId}"`);
  }

  async updateSettings(connectionId: string, settings: Record<string, unknown>): Promise<void> {
    const result = await this.db.query('UPDATE connections SET settings = $2, updated_at = clock_timestamp() WHERE id = $1', [connectionId, settings]);
    if (result.rowCount !== 1) throw new Error(`unknown connection "${connectionId}"`);
  }

  async setStatus(connectionId: string, status: ConnectionStatus): Promise<void> {
    await this.db.query('UPDATE connections SET status = $2, updated_at = clock_timestamp() WHERE id = $1', [connectionId, status]);
  }
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

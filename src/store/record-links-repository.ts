import type pg from 'pg';
import type { ObjectType } from '../model/identifiers';
import { withTransaction, type Queryable } from './database';

/** Which external record in one connection a canonical record is. */
export interface RecordLink {
  canonicalId: string;
  tenantId: string;
  objectType: ObjectType;
  connectionId: string;
  externalId: string;
}

/** The canonical fields as last synced with that connection. */
export interface RecordSnapshot {
  fields: Record<string, unknown>;
  sourceModifiedAt: Date | null;
  syncedAt: Date;
}

export interface SyncedState {
  link: RecordLink;
  snapshot: RecordSnapshot | undefined;
}

export interface SyncedStateWrite {
  link: RecordLink;
  fields: Record<string, unknown>;
  sourceModifiedAt: Date | null;
}

/**
 * Links and snapshots, always written together: a link without its snapshot would make the next
 * change look like a full conflict, and a snapshot without its link would be unreachable.
 */
export class RecordLinksRepository {
  constructor(private readonly pool: pg.Pool) {}

  async findByExternalId(connectionId: string, objectType: ObjectType, externalId: string): Promise<RecordLink | undefined> {
    const result = await this.pool.query<LinkRow>(
      `SELECT ${linkColumns} FROM record_links WHERE connection_id = $1 AND object_type = $2 AND external_id = $3`,
      [connectionId, objectType, externalId],
    );
    return result.rows[0] && toLink(result.rows[0]);
  }

  /**
   * The canonical id of each external record of one connection, linking the unlinked ones:
   * to the id the CRM itself carries (its external-id field), else to a fresh one. Idempotent and
   * safe under concurrency: whoever links first wins and everyone reads the same answer.
   */
  async ensureLinks(
    tenantId: string,
    connectionId: string,
    objectType: ObjectType,
    records: readonly { externalId: string; proposedCanonicalId: string }[],
  ): Promise<Map<string, string>> {
    if (records.length === 0) return new Map();
    const externalIds = records.map((record) => record.externalId);
    const select = async (): Promise<Map<string, string>> => {
      const found = await this.pool.query<{ external_id: string; canonical_id: string }>(
        `SELECT external_id, canonical_id FROM record_links WHERE connection_id = $1 AND object_type = $2 AND external_id = ANY($3::text[])`,
        [connectionId, objectType, externalIds],
      );
      return new Map(found.rows.map((row) => [row.external_id, row.canonical_id]));
    };
    let linked = await select();
    const missing = records.filter((record) => !linked.has(record.externalId));
    if (missing.length > 0) {
      // ON CONFLICT DO NOTHING covers both races: the external record linked meanwhile, or the
      // proposed canonical id already linked to another record of this connection (a copied
      // external-id value); the latter is retried with a fresh id by the caller's next call.
      await this.pool.query(
        `INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
         ON CONFLICT DO NOTHING`,
        [
          missing.map((record) => record.proposedCanonicalId),
          missing.map(() => connectionId),
          missing.map(() => tenantId),
          missing.map(() => objectType),
          missing.map((record) => record.externalId),
        ],
      );
      linked = await select();
    }
    return linked;
  }

  /** Every link (and its snapshot, if any) of the given canonical records, across connections. */
  async loadSyncedStates(canonicalIds: readonly string[], db: Queryable = this.pool): Promise<SyncedState[]> {
    if (canonicalIds.length === 0) return [];
    const result = await db.query<LinkRow & SnapshotRow>(
      `SELECT ${linkColumns.replace(/(\w+)/g, 'l.$1')}, s.fields, s.source_modified_at, s.synced_at
         FROM record_links l
         LEFT JOIN record_snapshots s USING (canonical_id, connection_id)
        WHERE l.canonical_id = ANY($1::uuid[])
        ORDER BY l.canonical_id, l.connection_id`,
      [canonicalIds],
    );
    return result.rows.map((row) => ({
      link: toLink(row),
      snapshot: row.fields ? { fields: row.fields, sourceModifiedAt: row.source_modified_at, syncedAt: row.synced_at as Date } : undefined,
    }));
  }

  /** Upserts links and snapshots of a batch in one transaction: all of them land, or none. */
  async saveSyncedStates(states: readonly SyncedStateWrite[]): Promise<void> {
    if (states.length === 0) return;
    await withTransaction(this.pool, async (tx) => {
      await tx.query(
        `INSERT INTO record_links (canonical_id, connection_id, tenant_id, object_type, external_id)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
         ON CONFLICT (canonical_id, connection_id)
         DO UPDATE SET external_id = EXCLUDED.external_id, updated_at = now()`,
        [
          states.map((s) => s.link.canonicalId),
          states.map((s) => s.link.connectionId),
          states.map((s) => s.link.tenantId),
          states.map((s) => s.link.objectType),
          states.map((s) => s.link.externalId),
        ],
      );
      await tx.query(
        `INSERT INTO record_snapshots (canonical_id, connection_id, fields, source_modified_at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::timestamptz[])
         ON CONFLICT (canonical_id, connection_id)
         DO UPDATE SET fields = EXCLUDED.fields, source_modified_at = EXCLUDED.source_modified_at, synced_at = now()`,
        [
          states.map((s) => s.link.canonicalId),
          states.map((s) => s.link.connectionId),
          states.map((s) => JSON.stringify(s.fields)),
          states.map((s) => s.sourceModifiedAt),
        ],
      );
    });
  }
}

const linkColumns = 'canonical_id, tenant_id, object_type, connection_id, external_id';

interface LinkRow {
  canonical_id: string;
  tenant_id: string;
  object_type: ObjectType;
  connection_id: string;
  external_id: string;
}

interface SnapshotRow {
  fields: Record<string, unknown> | null;
  source_modified_at: Date | null;
  synced_at: Date | null;
}

function toLink(row: LinkRow): RecordLink {
  return {
    canonicalId: row.canonical_id,
    tenantId: row.tenant_id,
    objectType: row.object_type,
    connectionId: row.connection_id,
    externalId: row.external_id,
  };
}

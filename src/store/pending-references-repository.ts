import type pg from 'pg';
import type { ObjectType } from '../model/identifiers';
import type { PendingReference } from '../model/sync';
import { sqlLiteral } from './database';

/** A record of one target whose links wait for related records to land there. */
export interface WaitingHolder {
  tenantId: string;
  holderCanonicalId: string;
  holderObjectType: ObjectType;
}

export interface PendingReferenceRow extends WaitingHolder {
  targetConnectionId: string;
  slot: string;
  relatedCanonicalId: string;
  relatedObjectType: ObjectType;
  since: Date;
}

/** What one write to a target left pending for one holder (nothing: its earlier rows are cleared). */
export interface PendingAfterWrite extends WaitingHolder {
  targetConnectionId: string;
  pending: readonly (PendingReference & { objectType: ObjectType })[];
}

/**
 * Links that could not be written to a target yet (docs/architecture.md, "Associations"): which
 * holder waits for which related record, so that the holder is written again when it lands.
 */
export class PendingReferencesRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Statements that replace each written holder's rows with what its write left pending, to run
   * in the transaction that saves the write (a holder written whole leaves none).
   */
  replaceStatements(written: readonly PendingAfterWrite[]): string[] {
    if (written.length === 0) return [];
    const statements = [
      `DELETE FROM pending_references p USING jsonb_array_elements(${sqlLiteral(JSON.stringify(written.map((w) => [w.targetConnectionId, w.holderCanonicalId])))}::jsonb) AS h
        WHERE p.target_connection_id = h->>0 AND p.holder_canonical_id = (h->>1)::uuid`,
    ];
    const rows = written.flatMap((w) => w.pending.map((p) => [w.targetConnectionId, p.canonicalId, w.holderCanonicalId, p.slot, w.tenantId, w.holderObjectType, p.objectType]));
    if (rows.length > 0) {
      statements.push(
        `INSERT INTO pending_references (target_connection_id, related_canonical_id, holder_canonical_id, slot, tenant_id, holder_object_type, related_object_type)
         SELECT r->>0, (r->>1)::uuid, (r->>2)::uuid, r->>3, r->>4, r->>5, r->>6 FROM jsonb_array_elements(${sqlLiteral(JSON.stringify(rows))}::jsonb) AS r
         ON CONFLICT DO NOTHING`,
      );
    }
    return statements;
  }

  /** Holders in the target waiting for any of these records (which have just landed there). */
  async holdersWaitingFor(targetConnectionId: string, relatedCanonicalIds: readonly string[]): Promise<WaitingHolder[]> {
    if (relatedCanonicalIds.length === 0) return [];
    const result = await this.pool.query<{ tenant_id: string; holder_canonical_id: string; holder_object_type: ObjectType }>(
      `SELECT DISTINCT tenant_id, holder_canonical_id, holder_object_type FROM pending_references
        WHERE target_connection_id = $1 AND related_canonical_id = ANY($2::uuid[])`,
      [targetConnectionId, [...relatedCanonicalIds]],
    );
    return result.rows.map((row) => ({ tenantId: row.tenant_id, holderCanonicalId: row.holder_canonical_id, holderObjectType: row.holder_object_type }));
  }

  /**
   * Of these holders, those waiting in the target for a record that has a copy there now. A
   * holder's write and its related record's landing can run at once in two workers: each looks
   * after its own commit, so whichever commits last sees the other's, and no wait is missed.
   */
  async holdersNowResolvable(targetConnectionId: string, holderCanonicalIds: readonly string[]): Promise<WaitingHolder[]> {
    if (holderCanonicalIds.length === 0) return [];
    const result = await this.pool.query<{ tenant_id: string; holder_canonical_id: string; holder_object_type: ObjectType }>(
      `SELECT DISTINCT p.tenant_id, p.holder_canonical_id, p.holder_object_type FROM pending_references p
         LEFT JOIN canonical_aliases a ON a.merged_id = p.related_canonical_id
        WHERE p.target_connection_id = $1 AND p.holder_canonical_id = ANY($2::uuid[])
          AND EXISTS (SELECT 1 FROM record_links l WHERE l.connection_id = $1 AND l.canonical_id = COALESCE(a.survivor_id, p.related_canonical_id))`,
      [targetConnectionId, [...holderCanonicalIds]],
    );
    return result.rows.map((row) => ({ tenantId: row.tenant_id, holderCanonicalId: row.holder_canonical_id, holderObjectType: row.holder_object_type }));
  }

  /** Forgets what these holders wait for in the target (they are gone from it: nothing left to write). */
  async forgetHolders(targetConnectionId: string, holderCanonicalIds: readonly string[]): Promise<void> {
    if (holderCanonicalIds.length === 0) return;
    await this.pool.query(`DELETE FROM pending_references WHERE target_connection_id = $1 AND holder_canonical_id = ANY($2::uuid[])`, [targetConnectionId, [...holderCanonicalIds]]);
  }

  /** Every waiting link of a tenant (or of one target), oldest first: what `sync status` shows. */
  async list(filter: { tenantId: string; targetConnectionId?: string | undefined }): Promise<PendingReferenceRow[]> {
    const result = await this.pool.query<{
      target_connection_id: string;
      related_canonical_id: string;
      holder_canonical_id: string;
      slot: string;
      tenant_id: string;
      holder_object_type: ObjectType;
      related_object_type: ObjectType;
      since: Date;
    }>(
      `SELECT * FROM pending_references WHERE tenant_id = $1 AND ($2::text IS NULL OR target_connection_id = $2) ORDER BY since, holder_canonical_id, slot`,
      [filter.tenantId, filter.targetConnectionId ?? null],
    );
    return result.rows.map((row) => ({
      targetConnectionId: row.target_connection_id,
      relatedCanonicalId: row.related_canonical_id,
      holderCanonicalId: row.holder_canonical_id,
      slot: row.slot,
      tenantId: row.tenant_id,
      holderObjectType: row.holder_object_type,
      relatedObjectType: row.related_object_type,
      since: row.since,
    }));
  }
}

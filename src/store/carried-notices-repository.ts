import type pg from 'pg';
import type { ObjectType } from '../model/identifiers';
import { ChangeBuffer, type ChangeRef } from '../model/sync';

/** A stored notice's key: one row per record of a connection. */
export interface CarriedNoticeKey {
  objectType: ObjectType;
  externalId: string;
}

/**
 * Change notices a connection workflow could not carry across continue-as-new (docs/architecture.md,
 * "Bounded workflow state"). The workflow is the only reader and writer of its connection's rows.
 */
export class CarriedNoticesRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Stores notices, merged per record as the workflow's queue merges them (the newest stamp, the
   * latest verdict on deletion): storing the same notices twice leaves the same rows.
   */
  async add(connectionId: string, notices: readonly ChangeRef[]): Promise<void> {
    const merged = new ChangeBuffer(notices).toJSON();
    if (merged.length === 0) return;
    await this.pool.query(
      `INSERT INTO carried_notices (connection_id, object_type, external_id, modified_at, event_id, deleted)
       SELECT $1, n.object_type, n.external_id, n.modified_at, n.event_id, n.deleted
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) WITH ORDINALITY AS n(object_type, external_id, modified_at, event_id, deleted, ord)
       ORDER BY n.ord
       ON CONFLICT (connection_id, object_type, external_id) DO UPDATE SET
         modified_at = CASE WHEN carried_notices.modified_at IS NULL OR EXCLUDED.modified_at > carried_notices.modified_at THEN EXCLUDED.modified_at ELSE carried_notices.modified_at END,
         event_id = coalesce(EXCLUDED.event_id, carried_notices.event_id),
         deleted = CASE WHEN carried_notices.modified_at IS NULL OR EXCLUDED.modified_at > carried_notices.modified_at THEN coalesce(EXCLUDED.deleted, carried_notices.deleted) ELSE carried_notices.deleted END`,
      [
        connectionId,
        merged.map((ref) => ref.objectType),
        merged.map((ref) => ref.externalId),
        merged.map((ref) => ref.modifiedAt ?? null),
        merged.map((ref) => ref.eventId ?? null),
        merged.map((ref) => ref.deleted ?? null),
      ],
    );
  }

  /** The `limit` oldest stored notices of a connection (stored first, first). */
  async oldest(connectionId: string, limit: number): Promise<ChangeRef[]> {
    const result = await this.pool.query<{ object_type: ObjectType; external_id: string; modified_at: string | null; event_id: string | null; deleted: boolean | null }>(
      'SELECT object_type, external_id, modified_at, event_id, deleted FROM carried_notices WHERE connection_id = $1 ORDER BY seq LIMIT $2',
      [connectionId, limit],
    );
    return result.rows.map((row) => ({
      objectType: row.object_type,
      externalId: row.external_id,
      ...(row.modified_at === null ? {} : { modifiedAt: row.modified_at }),
      ...(row.event_id === null ? {} : { eventId: row.event_id }),
      ...(row.deleted === null ? {} : { deleted: row.deleted }),
    }));
  }

  /** Once the workflow holds them in its state (idempotent: a key already gone is nothing). */
  async remove(connectionId: string, keys: readonly CarriedNoticeKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query('DELETE FROM carried_notices WHERE connection_id = $1 AND (object_type, external_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))', [
      connectionId,
      keys.map((key) => key.objectType),
      keys.map((key) => key.externalId),
    ]);
  }

  async count(connectionId: string): Promise<number> {
    const result = await this.pool.query<{ count: string }>('SELECT count(*) FROM carried_notices WHERE connection_id = $1', [connectionId]);
    return Number(result.rows[0]?.count ?? 0);
  }
}

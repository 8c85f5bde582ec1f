import type pg from 'pg';
import type { ObjectType } from '../model/identifiers';
import type { ParkedRecord } from '../workflows/connection-sync-state';
import { SELF_HEALING_CLASSES } from '../workflows/connection-sync/self-healing-schedule';
import { withTransaction } from './database';

/** What one connection workflow's flush changes: records parked (or parked again), and keys no longer parked. */
export interface ParkedOverflowFlush {
  connectionId: string;
  /** The workflow's flush counter: a flush already committed (an activity retried) changes nothing. */
  sequence: number;
  /** `attempts` here is how many more attempts failed since the last flush, added to the row's. */
  park: readonly ParkedRecord[];
  unpark: readonly string[];
}

interface ParkedRow {
  key: string;
  object_type: ObjectType;
  source_external_id: string;
  target_connection_id: string;
  reason: ParkedRecord['reason'];
  operation: 'delete' | null;
  error: ParkedRecord['error'];
  parked_at: Date;
  attempts: number;
}

/**
 * Parked records a connection workflow moved out of its own state (docs/architecture.md, "Bounded
 * workflow state"). The workflow is the only writer of its connection's rows; readers are its
 * retry (page by page) and the CLI.
 */
export class ParkedRecordsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Applies a flush; answers how many records the connection has here afterwards, since when the
   * oldest is parked, and how many of them retry themselves (the workflow's self-healing schedule).
   */
  async flush(flush: ParkedOverflowFlush): Promise<{ count: number; oldestParkedAt: string | null; selfHealing: number }> {
    return withTransaction(this.pool, async (client) => {
      if (flush.unpark.length > 0) {
        // A key parked again in a later flush has a newer row: only rows this flush or older wrote go.
        await client.query('DELETE FROM parked_records WHERE connection_id = $1 AND key = ANY($2::text[]) AND flush_seq <= $3', [flush.connectionId, [...flush.unpark], flush.sequence]);
      }
      if (flush.park.length > 0) {
        await client.query(
          `INSERT INTO parked_records AS p (connection_id, key, object_type, source_external_id, target_connection_id, reason, operation, error, parked_at, attempts, flush_seq)
           SELECT $1, r->>'key', r->>'objectType', r->>'sourceExternalId', r->>'targetConnectionId', r->>'reason', r->>'operation', r->'error', (r->>'parkedAt')::timestamptz, (r->>'attempts')::int, $3
             FROM jsonb_array_elements($2::jsonb) AS r
           ON CONFLICT (connection_id, key) DO UPDATE SET
             reason = EXCLUDED.reason, operation = EXCLUDED.operation, error = EXCLUDED.error, parked_at = EXCLUDED.parked_at,
             attempts = p.attempts + EXCLUDED.attempts, flush_seq = EXCLUDED.flush_seq
           WHERE p.flush_seq < EXCLUDED.flush_seq`,
          [flush.connectionId, JSON.stringify(flush.park), flush.sequence],
        );
      }
      const counted = await client.query<{ count: string; oldest: Date | null; self_healing: string }>(
        `SELECT count(*), min(parked_at) AS oldest, count(*) FILTER (WHERE reason = 'failed' AND error->>'errorClass' = ANY($2::text[])) AS self_healing
           FROM parked_records WHERE connection_id = $1`,
        [flush.connectionId, [...SELF_HEALING_CLASSES]],
      );
      const row = counted.rows[0];
      return { count: Number(row?.count ?? 0), oldestParkedAt: row?.oldest ? row.oldest.toISOString() : null, selfHealing: Number(row?.self_healing ?? 0) };
    });
  }

  /**
   * Up to `limit` records in key order after `afterKey` (all, only `keys`, or only those that failed
   * with one of `errorClasses`): one page of a retry or a listing.
   */
  async page(
    connectionId: string,
    { afterKey = '', keys, limit, errorClasses }: { afterKey?: string; keys?: readonly string[] | null | undefined; limit: number; errorClasses?: readonly string[] | null | undefined },
  ): Promise<ParkedRecord[]> {
    const result = await this.pool.query<ParkedRow>(
      `SELECT key, object_type, source_external_id, target_connection_id, reason, operation, error, parked_at, attempts FROM parked_records
        WHERE connection_id = $1 AND key > $2 AND ($3::text[] IS NULL OR key = ANY($3::text[]))
          AND ($5::text[] IS NULL OR (reason = 'failed' AND error->>'errorClass' = ANY($5::text[])))
        ORDER BY key LIMIT $4`,
      [connectionId, afterKey, keys ? [...keys] : null, limit, errorClasses ? [...errorClasses] : null],
    );
    return result.rows.map((row) => ({
      key: row.key,
      objectType: row.object_type,
      sourceExternalId: row.source_external_id,
      targetConnectionId: row.target_connection_id,
      reason: row.reason,
      ...(row.operation === 'delete' ? { operation: 'delete' as const } : {}),
      error: row.error,
      parkedAt: row.parked_at.toISOString(),
      attempts: row.attempts,
    }));
  }

  /** Every record of the connection, in key order (the CLI's listing). */
  async list(connectionId: string, pageSize = 1000): Promise<ParkedRecord[]> {
    const all: ParkedRecord[] = [];
    for (;;) {
      const page = await this.page(connectionId, { afterKey: all.at(-1)?.key ?? '', limit: pageSize });
      all.push(...page);
      if (page.length < pageSize) return all;
    }
  }
}

import type pg from 'pg';
import type { ObjectType } from '../model/identifiers';

/**
 * Held deletions a connection workflow moved out of its own state (docs/architecture.md, "Bounded
 * workflow state"). The workflow is the only writer of its connection's rows; readers are its
 * apply, once an operator approved or rejected the hold (page by page), and the CLI.
 */
export class HeldDeletionsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Adds ids to a hold (idempotent: an id held twice is one row); answers how many the hold has here now. */
  async add(input: { connectionId: string; holdId: string; objectType: ObjectType; externalIds: readonly string[] }): Promise<number> {
    await this.pool.query(
      `INSERT INTO held_deletions (connection_id, hold_id, object_type, external_id)
       SELECT $1, $2, $3, id FROM unnest($4::text[]) AS id
       ON CONFLICT DO NOTHING`,
      [input.connectionId, input.holdId, input.objectType, [...input.externalIds]],
    );
    return this.count(input.connectionId, input.holdId);
  }

  async count(connectionId: string, holdId: string): Promise<number> {
    const result = await this.pool.query<{ count: string }>('SELECT count(*) FROM held_deletions WHERE connection_id = $1 AND hold_id = $2', [connectionId, holdId]);
    return Number(result.rows[0]?.count ?? 0);
  }

  /** Which of `externalIds` (records of `objectType`) a hold of the connection already keeps here. */
  async heldAmong(connectionId: string, objectType: ObjectType, externalIds: readonly string[]): Promise<string[]> {
    if (externalIds.length === 0) return [];
    const result = await this.pool.query<{ external_id: string }>(
      'SELECT DISTINCT external_id FROM held_deletions WHERE connection_id = $1 AND object_type = $2 AND external_id = ANY($3::text[])',
      [connectionId, objectType, [...externalIds]],
    );
    return result.rows.map((row) => row.external_id);
  }

  /** Up to `limit` ids of a hold in id order after `afterId`. */
  async page(input: { connectionId: string; holdId: string; afterId: string; limit: number }): Promise<string[]> {
    const result = await this.pool.query<{ external_id: string }>(
      'SELECT external_id FROM held_deletions WHERE connection_id = $1 AND hold_id = $2 AND external_id > $3 ORDER BY external_id LIMIT $4',
      [input.connectionId, input.holdId, input.afterId, input.limit],
    );
    return result.rows.map((row) => row.external_id);
  }

  /** Once a decided hold is applied: its rows go. */
  async forget(input: { connectionId: string; holdId: string }): Promise<void> {
    await this.pool.query('DELETE FROM held_deletions WHERE connection_id = $1 AND hold_id = $2', [input.connectionId, input.holdId]);
  }

  /** Every id of a hold (the CLI's listing). */
  async list(connectionId: string, holdId: string, pageSize = 5000): Promise<string[]> {
    const all: string[] = [];
    for (;;) {
      const page = await this.page({ connectionId, holdId, afterId: all.at(-1) ?? '', limit: pageSize });
      all.push(...page);
      if (page.length < pageSize) return all;
    }
  }
}

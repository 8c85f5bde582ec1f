import type pg from 'pg';
import { withTransaction } from '../store/database';

/** Requests counted in one bucket of a window's log: those taken in [startMs, startMs + bucket length). */
export interface Bucket {
  startMs: number;
  used: number;
}

/** A key's buckets by window name, in no particular order. */
export type WindowBuckets = ReadonlyMap<string, readonly Bucket[]>;

export interface BucketAdd {
  window: string;
  startMs: number;
  used: number;
}

/** How long a window's buckets stay useful; older ones are deleted on the next write. */
export interface WindowRetention {
  window: string;
  retainMs: number;
}

export interface StoreStep<T> {
  result: T;
  /** Added to the buckets (summed into an existing bucket of the same start). */
  add: readonly BucketAdd[];
}

/**
 * Where a budget's log lives. `update` is the one primitive: read the key's buckets, let `step`
 * decide at the store's clock, write what it asks, with no other update of the key in between.
 */
export interface RateBudgetStore {
  update<T>(key: string, windows: readonly WindowRetention[], step: (buckets: WindowBuckets, nowMs: number) => StoreStep<T>): Promise<T>;
}

/** One process's log (a single worker, tests). Atomic because `step` runs without yielding. */
export class MemoryRateBudgetStore implements RateBudgetStore {
  private readonly keys = new Map<string, Map<string, Map<number, number>>>();

  constructor(private readonly now: () => number = Date.now) {}

  async update<T>(key: string, windows: readonly WindowRetention[], step: (buckets: WindowBuckets, nowMs: number) => StoreStep<T>): Promise<T> {
    const nowMs = this.now();
    const logs = this.keys.get(key) ?? new Map<string, Map<number, number>>();
    this.keys.set(key, logs);
    const buckets = new Map<string, Bucket[]>();
    for (const { window, retainMs } of windows) {
      const log = logs.get(window) ?? new Map<number, number>();
      logs.set(window, log);
      for (const startMs of log.keys()) if (startMs < nowMs - retainMs) log.delete(startMs);
      buckets.set(window, [...log].map(([startMs, used]) => ({ startMs, used })));
    }
    const { result, add } = step(buckets, nowMs);
    for (const { window, startMs, used } of add) {
      const log = logs.get(window) ?? new Map<number, number>();
      logs.set(window, log);
      log.set(startMs, (log.get(startMs) ?? 0) + used);
    }
    return result;
  }
}

/**
 * The log every worker shares (table rate_budget_buckets). One update is one short transaction:
 * lock the key and read its buckets and the database clock (one call), then, only if something is
 * taken, upsert the buckets and delete the key's expired ones (one statement).
 */
export class PostgresRateBudgetStore implements RateBudgetStore {
  /** `now` replaces the database clock (tests that move time themselves); every worker must share it. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly now?: () => number,
  ) {}

  async update<T>(key: string, windows: readonly WindowRetention[], step: (buckets: WindowBuckets, nowMs: number) => StoreStep<T>): Promise<T> {
    return withTransaction(this.pool, async (client) => {
      const names = windows.map((window) => window.window);
      const read = await client.query<{ now_ms: string; window_name: string | null; bucket_start_ms: string | null; used: number | null }>(
        'SELECT now_ms, window_name, bucket_start_ms, used FROM rate_budget_lock_and_read($1, $2)',
        [key, names],
      );
      const nowMs = this.now ? this.now() : Number(read.rows[0]?.now_ms);
      const buckets = new Map<string, Bucket[]>(names.map((name) => [name, []]));
      for (const row of read.rows) {
        if (row.window_name === null || row.bucket_start_ms === null || row.used === null) continue;
        buckets.get(row.window_name)?.push({ startMs: Number(row.bucket_start_ms), used: row.used });
      }
      const { result, add } = step(buckets, nowMs);
      if (add.length > 0) {
        await client.query(
          `WITH added AS (
             INSERT INTO rate_budget_buckets AS bucket (key, window_name, bucket_start_ms, used)
             SELECT $1, taken.window_name, taken.bucket_start_ms, taken.used
             FROM unnest($2::text[], $3::bigint[], $4::integer[]) AS taken (window_name, bucket_start_ms, used)
             ON CONFLICT (key, window_name, bucket_start_ms) DO UPDATE SET used = bucket.used + excluded.used
           )
           DELETE FROM rate_budget_buckets AS bucket
           USING unnest($5::text[], $6::bigint[]) AS horizon (window_name, oldest_ms)
           WHERE bucket.key = $1 AND bucket.window_name = horizon.window_name AND bucket.bucket_start_ms < horizon.oldest_ms`,
          [
            key,
            add.map((taken) => taken.window),
            add.map((taken) => taken.startMs),
            add.map((taken) => taken.used),
            names,
            windows.map((window) => nowMs - window.retainMs),
          ],
        );
      }
      return result;
    });
  }
}

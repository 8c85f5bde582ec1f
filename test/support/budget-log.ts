import type pg from 'pg';

/**
 * What a connection's shared rate-budget log (rate_budget_buckets) holds for one of its budgets:
 * requests counted, and the start of the earliest bucket they were counted in.
 */
export async function budgetLog(pool: pg.Pool, key: string): Promise<{ requests: number; earliestBucketMs: number }> {
  const { rows } = await pool.query<{ bucket_start_ms: string; used: number }>('SELECT bucket_start_ms, used FROM rate_budget_buckets WHERE key = $1', [key]);
  return { requests: rows.reduce((sum, row) => sum + row.used, 0), earliestBucketMs: Math.min(...rows.map((row) => Number(row.bucket_start_ms))) };
}

/**
 * The start of the bucket a request admitted at `atMs` is logged in, for a window of `windowMs`
 * (rate-budget.ts: about 200 buckets a window, at least 25 ms each).
 */
export function bucketFloor(atMs: number, windowMs: number): number {
  const bucketMs = Math.max(Math.ceil(windowMs / 200), 25);
  return Math.floor(atMs / bucketMs) * bucketMs;
}

/** When a connector's last token refresh ended (its `onTokenRefreshed` option); Infinity before one. */
export function tokenRefreshClock(): { onTokenRefreshed: () => void; refreshedAt: () => number } {
  let at = Number.POSITIVE_INFINITY;
  return {
    onTokenRefreshed: () => {
      at = Date.now();
    },
    refreshedAt: () => at,
  };
}

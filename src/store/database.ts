import pg from 'pg';

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface PoolOptions {
  /** Confine every query to this schema (tests use one schema per test file). */
  schema?: string | undefined;
  max?: number;
}

export function createPool(databaseUrl: string, options: PoolOptions = {}): pg.Pool {
  // libpq options from the URL (`?options=-c …`) and ours go together: pg lets the URL's replace
  // the pool's own. JIT compiles a query the planner thinks costly, which is every batch query on
  // a table that grows faster than autovacuum analyses it (a backfill): ~70 ms of compiling for a
  // query that runs in 1 ms. These are short OLTP statements; compiling never pays here.
  const url = new URL(databaseUrl);
  const sessionOptions = [url.searchParams.get('options'), '-c jit=off', options.schema ? `-c search_path=${quoteIdentifier(options.schema)}` : null].filter(Boolean).join(' ');
  url.searchParams.delete('options');
  const pool = new pg.Pool({ connectionString: url.toString(), max: options.max ?? 10, options: sessionOptions });
  prepareSessions(pool);
  return pool;
}

/**
 * What every pool of crm-sync's needs, the main one and the canonical repository's own (record
 * locks, canonical updates) alike: they share the database and its failure modes.
 */
export function prepareSessions(pool: pg.Pool): void {
  // A server restart or failover ends idle connections (57P01 admin_shutdown). pg drops such a
  // client from the pool and the next query opens a new one; but it also emits 'error' on the
  // pool, and an 'error' event nobody listens to would crash the worker or the shim.
  pool.on('error', () => undefined);
}

/** Creates the database named in the URL if it does not exist (first `npm start` on a machine). */
export async function ensureDatabase(databaseUrl: string): Promise<'created' | 'exists'> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database (expected …/dbname)');
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return 'exists';
    try {
      await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    } catch (error) {
      // Another process created it between our check and our CREATE.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return 'exists';
    }
    return 'created';
  } finally {
    await admin.end();
  }
}

/** Runs `work` in one transaction; rolls back if it throws. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client that the server terminates between two queries (a restart, 57P01)
  // emits 'error' on itself, not on the pool: unheard, it would crash the process. The failure
  // reaches the transaction through its next query; the broken client is then discarded.
  let broken: Error | undefined;
  const onError = (error: Error): void => void (broken = error);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    broken ??= error instanceof Error && 'code' in error && error.code === '57P01' ? error : undefined;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

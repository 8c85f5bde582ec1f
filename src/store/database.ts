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
  return inTransaction(pool, [], async (client) => ({ result: await work(client) }));
}

/**
 * Runs `work` in one transaction as withTransaction does, with the statements `first` sent
 * together with its BEGIN (their results handed to `work`) and those `work` returns as `last`
 * sent together with its COMMIT (queryTogether): two round trips fewer. A failing statement
 * stops the rest, its COMMIT included, and the transaction is rolled back.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  first: readonly string[],
  work: (client: pg.PoolClient, results: pg.QueryResult[]) => Promise<{ result: T; last?: readonly string[] | undefined }>,
): Promise<T> {
  const client = await pool.connect();
  // A checked-out client that the server terminates between two queries (a restart, 57P01)
  // emits 'error' on itself, not on the pool: unheard, it would crash the process. The failure
  // reaches the transaction through its next query; the broken client is then discarded.
  let broken: Error | undefined;
  const onError = (error: Error): void => void (broken = error);
  client.on('error', onError);
  try {
    const results = await queryTogether(client, ['BEGIN', ...first]);
    const { result, last = [] } = await work(client, results.slice(1));
    await queryTogether(client, [...last, 'COMMIT']);
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

/**
 * Data-modifying statements as one (`WITH a AS (INSERT …), b AS (INSERT …) SELECT`): each runs
 * once and to completion, all on one snapshot (so none sees another's rows). Undefined when there
 * is nothing to run.
 */
export function oneStatement(parts: readonly string[]): string | undefined {
  if (parts.length === 0) return undefined;
  return `WITH ${parts.map((part, index) => `w${index} AS (${part})`).join(',\n  ')}
  SELECT NULL`;
}

/** A statement with its values inline (sqlLiteral), to send with others (queryTogether), and how to read its result. */
export interface Statement<T> {
  text: string;
  read: (result: pg.QueryResult) => T;
}

export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/**
 * A text value as a dollar-quoted SQL literal, for statements sent together as one simple query
 * (`queryTogether`), which carries no parameters. Dollar quoting has no escapes: the value is
 * sent as it is, between tags it does not contain, so no value can end the literal early.
 */
export function sqlLiteral(value: string): string {
  // A NUL would end the query message early; PostgreSQL's text cannot hold one either way.
  if (value.includes('\u0000')) throw new Error('a text value holds a NUL character, which PostgreSQL cannot store');
  // The literal ends at the first closing tag after the opening one: it must be ours. Only a
  // value holding `$q` can hold a tag or run into the closing one (`…$q` + `$q$`).
  let tag = '$q$';
  if (value.includes('$q')) for (let n = 0; `${value}${tag}`.indexOf(tag) !== value.length; n += 1) tag = `$q${n}$`;
  return ` ${tag}${value}${tag}`;
}

/**
 * Runs statements in one round trip (PostgreSQL's simple query protocol: one message, one reply),
 * in order, each with its own snapshot as separate queries would have (READ COMMITTED), and stops
 * at the first that fails. Outside a transaction they form one implicit transaction. A backfill
 * sends PostgreSQL thousands of short statements a minute; on two shared cores the round trips
 * (a socket write that wakes the backend, then a wait for its answer) cost the worker more than
 * the statements cost PostgreSQL.
 */
export async function queryTogether(db: Queryable, statements: readonly string[]): Promise<pg.QueryResult[]> {
  if (statements.length === 0) return [];
  const results = (await db.query(statements.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(results) ? results : [results];
}

import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { inject } from 'vitest';
import { createPool, quoteIdentifier } from '../../src/store/database';
import { migrateUp } from '../../src/store/migrate';

export interface TestDatabase {
  schema: string;
  pool: pg.Pool;
  /** Names of the migrations applied when the schema was created. */
  applied: string[];
  drop(): Promise<void>;
}

/**
 * A fresh schema with every migration applied, private to the calling test file; in the shared
 * test database unless `databaseUrl` names another (e.g. a private server a test restarts).
 */
export async function createTestDatabase(databaseUrl: string = inject('testDatabaseUrl')): Promise<TestDatabase> {
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const applied = await migrateUp({ databaseUrl, schema });
  const pool = createPool(databaseUrl, { schema, max: 4 });
  return {
    schema,
    pool,
    applied,
    async drop() {
      if (!process.env.KEEP_TEST_SCHEMA) await pool.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
      await pool.end();
    },
  };
}

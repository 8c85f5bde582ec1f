import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface MigrateOptions {
  databaseUrl: string;
  /** Migrate into this schema (created if missing) instead of the default search path. */
  schema?: string | undefined;
  log?: (line: string) => void;
}

/** Applies every pending migration; returns the names applied. Safe to run concurrently (advisory lock). */
export async function migrateUp(options: MigrateOptions): Promise<string[]> {
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: 'pgmigrations',
    direction: 'up',
    count: Infinity,
    checkOrder: true,
    singleTransaction: true,
    ...(options.schema ? { schema: options.schema, createSchema: true } : {}),
    log: options.log ?? (() => undefined),
  });
  return applied.map((migration) => migration.name);
}

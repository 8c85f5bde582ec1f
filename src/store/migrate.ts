import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface MigrateOptions {
  databaseUrl: string;
  /** Migrate into this schema (created if missing) instead of the default search path. */
  schema?: string | undefined;
  log?: (line: string) => void;
  /** Apply at most this many pending migrations (tests of a migration's data step). @default all */
  count?: number;
}

/**
 * Applies every pending migration; returns the names applied. Safe to run concurrently: an
 * advisory lock per schema makes a second migrator (the shim starting beside the worker, or
 * parallel test files) wait for the first instead of failing.
 */
export async function migrateUp(options: MigrateOptions): Promise<string[]> {
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: 'pgmigrations',
    direction: 'up',
    count: options.count ?? Infinity,
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    lockValue: lockValueFor(options.schema ?? 'public'),
    ...(options.schema ? { schema: options.schema, createSchema: true } : {}),
    log: options.log ?? (() => undefined),
  });
  return applied.map((migration) => migration.name);
}

/** A stable advisory-lock key per schema (a 31-bit FNV-1a hash), so migrations of different schemas never wait on each other. */
function lockValueFor(schema: string): number {
  let hash = 0x811c9dc5;
  for (const char of `crm-sync-migrate:${schema}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash & 0x7fffffff;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

/** The real launcher, as an operator runs it. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'crm-sync');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliTarget {
  /** The test file's private PostgreSQL schema. */
  schema: string;
  taskQueue: string;
  /** `id:base64key[,…]` */
  keys: string;
  activeKeyId?: string;
}

/**
 * The environment an operator would set, pointed at this test's schema through the standard
 * libpq `options` parameter of DATABASE_URL (`-c search_path=…`), and nothing inherited that
 * could point it elsewhere.
 */
export function cliEnvironment(target: CliTarget, overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const databaseUrl = new URL(inject('testDatabaseUrl'));
  databaseUrl.searchParams.set('options', `-c search_path=${target.schema}`);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|TEMPORAL_|CRM_SYNC_|SHIM_|NODE_ENV)/.test(name)));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl.toString(),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: inject('temporalNamespace'),
    TEMPORAL_TASK_QUEUE: target.taskQueue,
    CRM_SYNC_ENCRYPTION_KEYS: target.keys,
    CRM_SYNC_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'crm-sync-cli-')),
    ...(target.activeKeyId ? { CRM_SYNC_ACTIVE_KEY_ID: target.activeKeyId } : {}),
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Spawns `bin/crm-sync` from an unrelated directory (it must work from any cwd). */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(CLI, args, { cwd: tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, options: { input?: string; command?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = options.command ? spawn('/bin/sh', ['-c', options.command], { cwd: tmpdir(), env }) : spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(options.input ?? '');
  });
}

/** A user mistake is reported as exactly one line, never a stack trace. */
export function oneLine(result: CliResult): string {
  const lines = result.stderr.trimEnd().split('\n');
  if (lines.length !== 1 || /\n\s+at /.test(result.stderr)) throw new Error(`expected one line on stderr, got:\n${result.stderr}`);
  return lines[0] as string;
}

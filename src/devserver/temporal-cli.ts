import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The Temporal CLI (which embeds the dev server) pinned for the whole project.
 *
 * The SDK's own `TestWorkflowEnvironment.createLocal()` downloads a dev server, which cannot work
 * offline, so crm-sync obtains the binary itself. v1.5.1 is pinned because `go install pkg@version`
 * refuses modules whose go.mod carries `replace` directives, and v1.5.1 is the newest tag without
 * one.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';

export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache' | 'built';

export interface ResolvedTemporalCli {
  path: string;
  source: TemporalCliSource;
}

export interface ResolveTemporalCliOptions {
  /** Folder for the built binary; it lands in `<cacheDir>/temporal/<version>/temporal`. */
  cacheDir: string;
  /** An explicit binary (the TEMPORAL_CLI_PATH variable); used as is, never built. */
  explicitPath?: string | undefined;
  /** Defaults to process.env.PATH. */
  searchPath?: string | undefined;
  /** Progress lines for a person watching a first build that takes minutes. */
  log?: (line: string) => void;
}

export class TemporalCliUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalCliUnavailableError';
  }
}

export function cachedCliPath(cacheDir: string): string {
  return path.resolve(cacheDir, 'temporal', TEMPORAL_CLI_VERSION, 'temporal');
}

/**
 * Finds the `temporal` binary, in this order: TEMPORAL_CLI_PATH; `temporal` on PATH; the cache;
 * else builds it once into the cache with Go.
 */
export async function resolveTemporalCli(options: ResolveTemporalCliOptions): Promise<ResolvedTemporalCli> {
  const log = options.log ?? (() => undefined);
  if (options.explicitPath) {
    if (!(await isExecutable(options.explicitPath))) {
      throw new TemporalCliUnavailableError(
        `TEMPORAL_CLI_PATH is set to "${options.explicitPath}", which is not an executable file.`,
      );
    }
    return { path: path.resolve(options.explicitPath), source: 'TEMPORAL_CLI_PATH' };
  }
  const searchPath = options.searchPath ?? process.env.PATH ?? '';
  const onPath = await findOnPath('temporal', searchPath);
  if (onPath) return { path: onPath, source: 'PATH' };

  const cached = cachedCliPath(options.cacheDir);
  if (await isExecutable(cached)) return { path: cached, source: 'cache' };

  // One build per machine: parallel test runs (or `npm start` beside `npm test`) wait for it.
  const lock = await takeBuildLock(`${path.dirname(cached)}.lock`, () => isExecutable(cached), log);
  try {
    if (await isExecutable(cached)) return { path: cached, source: 'cache' };
    await buildTemporalCli(cached, searchPath, log);
  } finally {
    await lock.release();
  }
  return { path: cached, source: 'built' };
}

const BUILD_WAIT_LIMIT_MS = 30 * 60_000;

/**
 * A lock directory holding the builder's pid. Held by a live process: wait until the binary
 * appears or the lock is released; held by a dead one (a killed build): take it over.
 */
async function takeBuildLock(lockDir: string, built: () => Promise<boolean>, log: (line: string) => void): Promise<{ release(): Promise<void> }> {
  await mkdir(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + BUILD_WAIT_LIMIT_MS;
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(path.join(lockDir, 'pid'), String(process.pid));
      return { release: () => rm(lockDir, { recursive: true, force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => ''));
    if (owner > 0 && !isAlive(owner)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (await built()) return { release: async () => undefined };
    if (Date.now() > deadline) throw new TemporalCliUnavailableError(`waited ${BUILD_WAIT_LIMIT_MS / 60_000} min for another process (pid ${owner}) building the Temporal CLI; remove ${lockDir} if it is gone`);
    if (!announced) log(`Another process (pid ${owner || '?'}) is building the Temporal CLI; waiting for it.`);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function buildTemporalCli(target: string, searchPath: string, log: (line: string) => void): Promise<void> {
  const go = await findOnPath('go', searchPath);
  if (!go) {
    throw new TemporalCliUnavailableError(
      [
        'No Temporal CLI found and Go is not installed to build one.',
        `Do one of: install Go >= 1.23 (Debian: apt-get install golang-go; or https://go.dev/dl) so crm-sync can build temporal ${TEMPORAL_CLI_VERSION} once;`,
        'put a `temporal` binary on PATH; set TEMPORAL_CLI_PATH to one; or set TEMPORAL_ADDRESS to use a running server.',
      ].join('\n'),
    );
  }
  // Build into a private folder and rename, so a half-written binary is never mistaken for a
  // cached one and two builds racing cannot clobber each other.
  const staging = `${path.dirname(target)}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const moduleRef = `${TEMPORAL_CLI_PACKAGE}@${TEMPORAL_CLI_VERSION}`;
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go (once; the first build takes several minutes): go install ${moduleRef}`);
  const started = Date.now();
  const { code, output } = await run(go, ['install', moduleRef], {
    ...process.env,
    GOBIN: staging,
    // Pure-Go build (the dev server's SQLite is modernc): no C toolchain needed.
    CGO_ENABLED: '0',
    GOFLAGS: [process.env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' '),
  });
  if (code !== 0) {
    await rm(staging, { recursive: true, force: true });
    throw new TemporalCliUnavailableError(
      `go install ${moduleRef} failed (exit ${code}). Its last output:\n${output.slice(-4000)}\n` +
        'Check `go env GOPROXY GOFLAGS` and that the module proxy is reachable; or set TEMPORAL_CLI_PATH.',
    );
  }
  const versionDir = path.dirname(target);
  await mkdir(path.dirname(versionDir), { recursive: true });
  await rm(versionDir, { recursive: true, force: true });
  await rename(staging, versionDir);
  log(`Built ${target} in ${Math.round((Date.now() - started) / 1000)} s.`);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(binary: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, binary);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-64_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

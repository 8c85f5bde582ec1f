import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributes } from '../temporal/search-attributes';

/** The CLI's spelling of each search-attribute type for `--search-attribute Name=Type`. */
const cliTypeName = { KEYWORD: 'Keyword', INT: 'Int', DATETIME: 'Datetime' } as const;

export function searchAttributeFlags(): string[] {
  return Object.values(searchAttributes).flatMap((key) => [
    '--search-attribute',
    `${key.name}=${cliTypeName[key.type]}`,
  ]);
}

export interface DevServerOptions {
  cliPath: string;
  /** Persist to `<dataDir>/temporal.db` and log to `<dataDir>/temporal.log`; omit for in-memory. */
  dataDir?: string | undefined;
  ip?: string;
  port: number;
  /** Web UI port; omit to run headless (tests). */
  uiPort?: number | undefined;
  /** The Web UI decodes payloads through this codec endpoint (`--ui-codec-endpoint`, src/codec). */
  uiCodecEndpoint?: string | undefined;
  namespace?: string;
  /** How long to wait for the frontend to answer. */
  startTimeoutMs?: number;
  /**
   * In a process group of its own: a terminal's Ctrl-C then reaches only the caller, which stops
   * the server after its worker drained (activities in flight can still report their results).
   */
  ownProcessGroup?: boolean;
}

export interface RunningDevServer {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` with the project's search attributes registered and waits
 * until its frontend answers. The child is killed if this process exits.
 *
 * The CLI picks its internal ports (history, matching, worker, HTTP) as "free right now" and binds
 * them a moment later; on a busy machine another process's connection can take one in between, and
 * the server dies on start. The same happens to the frontend port itself on a restart, when a
 * client's reconnect attempt was given it as its local port. Such a start is tried again, up to
 * {@link START_ATTEMPTS} times.
 */
export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const ip = options.ip ?? '127.0.0.1';
  if (await isPortOpen(ip, options.port)) {
    throw new Error(`Port ${options.port} on ${ip} is already in use; stop what holds it or choose another TEMPORAL_PORT.`);
  }
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (!(error instanceof DevServerExitedEarly) || !error.lostPortRace || attempt >= START_ATTEMPTS) throw error;
      // A port held by a passing connection is usually free again a moment later.
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

export const START_ATTEMPTS = 3;

export class DevServerExitedEarly extends Error {
  constructor(
    readonly exit: string,
    readonly output: string,
  ) {
    super(`temporal server start-dev exited early (${exit}):\n${output}`);
    this.name = 'DevServerExitedEarly';
  }

  /** The CLI logs a failed bind as an error and then panics on the missing listener. */
  get lostPortRace(): boolean {
    return /address already in use|failed assigning ephemeral port/i.test(this.output);
  }
}

/**
 * Keeps the start of the server's output (where a panic's cause is logged) and its end (the stack
 * of the panic), so an early exit explains itself.
 */
export class OutputExcerpt {
  private head = '';
  private tail = '';

  constructor(private readonly limit = 4000) {}

  add(chunk: string): void {
    if (this.head.length < this.limit) {
      const room = this.limit - this.head.length;
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    this.tail = (this.tail + chunk).slice(-this.limit);
  }

  toString(): string {
    return this.tail ? `${this.head}\n[...]\n${this.tail}` : this.head;
  }
}

async function startOnce(options: DevServerOptions): Promise<RunningDevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const address = `${ip}:${options.port}`;
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(options.port), '--namespace', namespace, '--log-level', 'warn'];
  args.push(...searchAttributeFlags());
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.uiPort && options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  let logFile: string | undefined;
  if (options.dataDir) {
    await mkdir(options.dataDir, { recursive: true });
    args.push('--db-filename', path.resolve(options.dataDir, 'temporal.db'));
    logFile = path.resolve(options.dataDir, 'temporal.log');
  }

  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.ownProcessGroup ?? false });
  const output = new OutputExcerpt();
  const sink = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  const record = (chunk: Buffer): void => {
    output.add(chunk.toString());
    sink?.write(chunk);
  };
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const exited = new Promise<never>((_, reject) => {
    // 'close' rather than 'exit': the output is complete only once the pipes have closed.
    child.once('close', (code, signal) => reject(new DevServerExitedEarly(`code ${code}, signal ${signal}`, output.toString())));
    child.once('error', reject);
  });
  exited.catch(() => undefined);

  try {
    await Promise.race([waitForFrontend(address, options.startTimeoutMs ?? 60_000), exited]);
  } catch (error) {
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    sink?.end();
    throw error;
  }

  return {
    address,
    namespace,
    uiUrl: options.uiPort ? `http://${ip}:${options.uiPort}` : undefined,
    process: child,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(forced);
      sink?.end();
    },
  };
}

/** Polls until the frontend's gRPC health answers (a bound port alone is not enough). */
export async function waitForFrontend(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.healthService.check({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`Temporal at ${address} did not become ready within ${timeoutMs} ms: ${String(lastError)}`);
}

export function isPortOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port the OS reports free right now (tests run one server each, so collisions are unlikely). */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

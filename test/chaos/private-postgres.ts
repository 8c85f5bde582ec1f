import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from '../../src/devserver/dev-server';
import { ensureDatabase } from '../../src/store/database';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of this test's own (initdb + pg_ctl from the Debian packages, in a temp dir,
 * on a free port), so the test can restart it without touching the server other test files share.
 * initdb refuses to run as root: as root, the server's binaries run as the `postgres` user.
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/crm_sync_chaos` */
  url: string;
  /** `pg_ctl restart -m fast`: every session is ended, the server is back when this resolves. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`: every session is ended, and connecting is refused until `up()`. */
  down(): Promise<void>;
  /** Starts the stopped server again; it accepts connections when this resolves. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

async function binDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql/<version>/bin');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await binDir();
  const dir = await mkdtemp(path.join(tmpdir(), 'crm-sync-chaos-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const asServerUser = (command: string, args: string[]): Promise<unknown> => (asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, command), ...args]) : run(path.join(bin, command), args));
  const data = path.join(dir, 'data');
  const port = await findFreePort();
  await asServerUser('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const ctl = (action: string, extra: string[] = []): Promise<unknown> =>
    asServerUser('pg_ctl', [action, '-D', data, '-w', '-t', '60', '-l', path.join(dir, 'server.log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, ...extra]);
  await ctl('start');
  const url = `postgres://postgres@127.0.0.1:${port}/crm_sync_chaos`;
  await ensureDatabase(url);
  return {
    url,
    restart: async () => void (await ctl('restart', ['-m', 'fast'])),
    down: async () => void (await asServerUser('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60'])),
    up: async () => void (await ctl('start')),
    async stop() {
      await asServerUser('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

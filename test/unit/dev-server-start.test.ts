import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { DevServerExitedEarly, findFreePort, OutputExcerpt, startDevServer } from '../../src/devserver/dev-server';

/**
 * A CLI wrapper that fails its first `failures` starts the way the real one does when another
 * process took one of its internal ports (an error line, then the panic on the missing listener),
 * and runs the real CLI after that. Every start is counted in `<dir>/starts`.
 */
async function flakyCli(failures: number, failure: string): Promise<{ cliPath: string; starts: () => Promise<number> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'crm-sync-flaky-cli-'));
  const counter = path.join(dir, 'starts');
  const cliPath = path.join(dir, 'temporal');
  await writeFile(
    cliPath,
    [
      '#!/bin/sh',
      `echo x >> '${counter}'`,
      `if [ "$(wc -l < '${counter}')" -le ${failures} ]; then`,
      `  echo '${failure}' >&2`,
      '  echo "panic: runtime error: invalid memory address or nil pointer dereference" >&2',
      '  exit 2',
      'fi',
      `exec '${inject('temporalCliPath')}' "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(cliPath, 0o755);
  return { cliPath, starts: async () => (await readFile(counter, 'utf8')).trim().split('\n').length };
}

const lostPortRace = 'time=2026-12-05T06:40:01Z level=ERROR msg="Failed to start gRPC listener" error="listen tcp 127.0.0.1:40123: bind: address already in use"';

describe('startDevServer', () => {
  it('starts again when the CLI lost a port race, and the server answers', async () => {
    const cli = await flakyCli(1, lostPortRace);
    const server = await startDevServer({ cliPath: cli.cliPath, port: await findFreePort() });
    try {
      expect(await cli.starts()).toBe(2);
      expect(server.process.exitCode).toBeNull();
    } finally {
      await server.stop();
    }
  });

  it('gives up after three lost races, with the cause and the panic in the error', async () => {
    const cli = await flakyCli(3, lostPortRace);
    const attempt = startDevServer({ cliPath: cli.cliPath, port: await findFreePort() });
    await expect(attempt).rejects.toThrow(DevServerExitedEarly);
    await expect(attempt).rejects.toThrow(/code 2[\s\S]*address already in use[\s\S]*panic: runtime error/);
    expect(await cli.starts()).toBe(3);
  });

  it('does not retry an exit for any other reason', async () => {
    const cli = await flakyCli(1, 'Error: unknown flag: --bogus');
    const attempt = startDevServer({ cliPath: cli.cliPath, port: await findFreePort() });
    await expect(attempt).rejects.toThrow(/unknown flag: --bogus/);
    expect(await cli.starts()).toBe(1);
  });
});

describe('OutputExcerpt', () => {
  it('keeps the first and the last characters of a long output', () => {
    const excerpt = new OutputExcerpt(10);
    excerpt.add('cause-line');
    excerpt.add('x'.repeat(100));
    excerpt.add('stack-end!');
    expect(excerpt.toString()).toBe('cause-line\n[...]\nstack-end!');
  });

  it('keeps a short output whole', () => {
    const excerpt = new OutputExcerpt(10);
    excerpt.add('short');
    expect(excerpt.toString()).toBe('short');
  });
});

import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { searchAttributeFlags } from '../../src/devserver/dev-server';
import { cachedCliPath, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../../src/devserver/temporal-cli';

async function fakeExecutable(dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, '#!/bin/sh\nexit 0\n');
  await chmod(file, 0o755);
  return file;
}

describe('resolveTemporalCli', () => {
  it('prefers TEMPORAL_CLI_PATH, then PATH, then the cache', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'temporal-cli-'));
    const explicit = await fakeExecutable(path.join(root, 'explicit'), 'temporal');
    const onPath = await fakeExecutable(path.join(root, 'bin'), 'temporal');
    const cacheDir = path.join(root, 'cache');
    const cached = await fakeExecutable(path.dirname(cachedCliPath(cacheDir)), 'temporal');

    await expect(resolveTemporalCli({ cacheDir, explicitPath: explicit, searchPath: path.join(root, 'bin') })).resolves.toEqual({ path: explicit, source: 'TEMPORAL_CLI_PATH' });
    await expect(resolveTemporalCli({ cacheDir, searchPath: `${path.join(root, 'empty')}:${path.join(root, 'bin')}` })).resolves.toEqual({ path: onPath, source: 'PATH' });
    await expect(resolveTemporalCli({ cacheDir, searchPath: path.join(root, 'empty') })).resolves.toEqual({ path: cached, source: 'cache' });
    expect(cached).toContain(path.join('temporal', TEMPORAL_CLI_VERSION, 'temporal'));
  });

  it('says what to install when nothing is found and Go is missing', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'temporal-cli-'));
    const attempt = resolveTemporalCli({ cacheDir: path.join(root, 'cache'), searchPath: path.join(root, 'empty') });
    await expect(attempt).rejects.toThrow(/Go is not installed[\s\S]*apt-get install golang-go[\s\S]*TEMPORAL_CLI_PATH/);
  });

  it('refuses a TEMPORAL_CLI_PATH that is not executable', async () => {
    await expect(resolveTemporalCli({ cacheDir: '/nonexistent', explicitPath: '/nonexistent/temporal' })).rejects.toThrow(
      'TEMPORAL_CLI_PATH is set to "/nonexistent/temporal", which is not an executable file.',
    );
  });
});

describe('searchAttributeFlags', () => {
  it('registers every search attribute of the design with the CLI spelling of its type', () => {
    expect(searchAttributeFlags()).toEqual([
      '--search-attribute', 'TenantId=Keyword',
      '--search-attribute', 'CrmProvider=Keyword',
      '--search-attribute', 'ConnectionId=Keyword',
      '--search-attribute', 'SyncState=Keyword',
      '--search-attribute', 'ParkedCount=Int',
      '--search-attribute', 'LastSyncedAt=Datetime',
      '--search-attribute', 'LastPolledAt=Datetime',
      '--search-attribute', 'ChangeLogFallbackAt=Datetime',
    ]);
  });
});

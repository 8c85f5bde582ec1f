import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

const key = (bytes = 32): string => randomBytes(bytes).toString('base64');

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives working defaults for local development', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/crm_sync');
    expect(config.TEMPORAL_ADDRESS).toBeUndefined();
    expect(config.TEMPORAL_TASK_QUEUE).toBe('crm-sync');
    expect(config.TEMPORAL_UI_PORT).toBe(8233);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: '' }).TEMPORAL_ADDRESS).toBeUndefined();
  });

  it('names each bad variable and what is wrong with it, all at once', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://x/y', TEMPORAL_ADDRESS: 'localhost', TEMPORAL_UI_PORT: '70000' })).toEqual([
      'DATABASE_URL must start with postgres:// or postgresql://',
      'TEMPORAL_ADDRESS must be host:port, e.g. 127.0.0.1:7233',
      'TEMPORAL_UI_PORT Too big: expected number to be <=65535',
    ]);
  });

  it('rejects encryption keys that are not 32 bytes, naming the key', () => {
    expect(problemsOf({ CRM_SYNC_ENCRYPTION_KEYS: `k1:${key(16)}` })).toEqual([
      'CRM_SYNC_ENCRYPTION_KEYS key "k1" decodes to 16 bytes; AES-256 needs 32 (make one with: openssl rand -base64 32)',
    ]);
  });

  it('requires encryption keys in production, and an active key id that exists', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'CRM_SYNC_ENCRYPTION_KEYS is required in production (credentials are encrypted at rest with it)',
    ]);
    expect(problemsOf({ CRM_SYNC_ENCRYPTION_KEYS: `k1:${key()}`, CRM_SYNC_ACTIVE_KEY_ID: 'k2' })).toEqual([
      'CRM_SYNC_ACTIVE_KEY_ID names key "k2", which CRM_SYNC_ENCRYPTION_KEYS does not contain',
    ]);
  });

  it('parses a keyring for rotation', () => {
    const config = loadConfig({ CRM_SYNC_ENCRYPTION_KEYS: `old:${key()}, new:${key()}`, CRM_SYNC_ACTIVE_KEY_ID: 'new' });
    expect([...(config.CRM_SYNC_ENCRYPTION_KEYS?.keys() ?? [])]).toEqual(['old', 'new']);
  });
});

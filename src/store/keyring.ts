import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { CredentialCipher } from './credential-cipher';

const DEV_KEY_ID = 'dev';

/** The configured (or generated development) AES-256 keys by id, and the one that seals new data. */
export interface EncryptionKeyring {
  keys: ReadonlyMap<string, Buffer>;
  activeKeyId: string;
}

/**
 * Builds the credential cipher from CRM_SYNC_ENCRYPTION_KEYS. Outside production, with no keys
 * configured, a key is generated once into the data dir so `npm start` needs no setup; production
 * refuses to start without configured keys (see config.ts).
 */
export async function loadCredentialCipher(config: Config, log: (line: string) => void = () => undefined): Promise<CredentialCipher> {
  const { keys, activeKeyId } = await loadEncryptionKeyring(config, log);
  return new CredentialCipher(keys, activeKeyId);
}

/**
 * The keyring behind loadCredentialCipher, shared with the Temporal payload codec (src/codec),
 * which derives its own keys from it.
 */
export async function loadEncryptionKeyring(config: Config, log: (line: string) => void = () => undefined): Promise<EncryptionKeyring> {
  if (config.CRM_SYNC_ENCRYPTION_KEYS) {
    const activeKeyId = config.CRM_SYNC_ACTIVE_KEY_ID ?? [...config.CRM_SYNC_ENCRYPTION_KEYS.keys()].at(-1);
    return { keys: config.CRM_SYNC_ENCRYPTION_KEYS, activeKeyId: activeKeyId as string };
  }
  const file = path.resolve(config.CRM_SYNC_DATA_DIR, 'dev-encryption-key');
  let key: Buffer;
  try {
    key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    key = randomBytes(32);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' }).catch(async (writeError: NodeJS.ErrnoException) => {
      // Another process wrote it first: use theirs, or the two would seal with different keys.
      if (writeError.code !== 'EEXIST') throw writeError;
      key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    });
    log(`No CRM_SYNC_ENCRYPTION_KEYS set: generated a development key in ${file} (set the variable in production).`);
  }
  return { keys: new Map([[DEV_KEY_ID, key]]), activeKeyId: DEV_KEY_ID };
}

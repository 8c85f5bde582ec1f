import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM envelope for connection credentials at rest.
 *
 * Layout: version (1 byte) | IV (12) | auth tag (16) | ciphertext. The key id is stored beside the
 * envelope so keys can be rotated: old rows still name the key that sealed them. The connection
 * id is authenticated as associated data, so an envelope copied onto another connection's row
 * fails to open instead of handing that connection someone else's credentials.
 */
const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SealedSecret {
  ciphertext: Buffer;
  keyId: string;
}

export class CredentialCipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialCipherError';
  }
}

export class CredentialCipher {
  constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    readonly activeKeyId: string,
  ) {
    if (!keys.has(activeKeyId)) throw new CredentialCipherError(`active key "${activeKeyId}" is not in the keyring`);
    for (const [id, key] of keys) {
      if (key.length !== 32) throw new CredentialCipherError(`key "${id}" is ${key.length} bytes; AES-256 needs 32`);
    }
  }

  seal(secret: unknown, boundTo: string): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.activeKeyId), iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const body = Buffer.concat([cipher.update(JSON.stringify(secret), 'utf8'), cipher.final()]);
    return {
      ciphertext: Buffer.concat([Buffer.from([FORMAT_VERSION]), iv, cipher.getAuthTag(), body]),
      keyId: this.activeKeyId,
    };
  }

  open(sealed: SealedSecret, boundTo: string): unknown {
    const { ciphertext, keyId } = sealed;
    if (ciphertext.length < 1 + IV_BYTES + TAG_BYTES || ciphertext[0] !== FORMAT_VERSION) {
      throw new CredentialCipherError('credentials envelope is malformed or of an unknown version');
    }
    const iv = ciphertext.subarray(1, 1 + IV_BYTES);
    const tag = ciphertext.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key(keyId), iv);
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      const plain = Buffer.concat([decipher.update(ciphertext.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(plain.toString('utf8'));
    } catch {
      // Never echo any part of the envelope or key: this message can reach logs.
      throw new CredentialCipherError(`credentials for "${boundTo}" failed authentication under key "${keyId}"`);
    }
  }

  private key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) throw new CredentialCipherError(`no encryption key "${id}" in CRM_SYNC_ENCRYPTION_KEYS`);
    return key;
  }
}

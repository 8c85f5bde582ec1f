import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const ProtoPayload = proto.temporal.api.common.v1.Payload;

/** The Temporal codec convention for encrypted payloads (as in Temporal's encryption samples). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key that sealed a payload, so histories written before a rotation still open. */
export const METADATA_KEY_ID = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * Payload keys are derived from the keyring's keys (HKDF-SHA256) rather than used directly: the
 * same key material then never seals both credentials at rest and history payloads.
 */
const DERIVATION_INFO = 'crm-sync temporal payload codec v1';

export class PayloadCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadCodecError';
  }
}

/** The payload key derived from one keyring key. */
export function derivePayloadKey(keyringKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', keyringKey, Buffer.alloc(0), DERIVATION_INFO, 32));
}

/**
 * AES-256-GCM payload codec. The whole original payload (its metadata included: even the encoding
 * says something) is serialised and sealed; the sealed payload carries only
 * `encoding: binary/encrypted` and the key id. Data layout: IV (12) | ciphertext | tag (16), the
 * layout of Temporal's own encryption samples.
 *
 * Payloads without the encrypted encoding decode unchanged: histories recorded before the codec
 * (and inputs sent by tools without it, e.g. `temporal workflow start --input`) keep working.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;

  /** `keys` are payload keys (already derived) by id; `activeKeyId` seals new payloads. */
  constructor(
    keys: ReadonlyMap<string, Buffer>,
    readonly activeKeyId: string,
  ) {
    for (const [id, key] of keys) {
      if (key.length !== 32) throw new PayloadCodecError(`payload key "${id}" is ${key.length} bytes; AES-256 needs 32`);
    }
    if (!keys.has(activeKeyId)) throw new PayloadCodecError(`active payload key "${activeKeyId}" is not in the keyring`);
    this.keys = new Map(keys);
  }

  /** A codec over the credential keyring (CRM_SYNC_ENCRYPTION_KEYS), each key derived for payloads. */
  static fromKeyring(keyring: { keys: ReadonlyMap<string, Buffer>; activeKeyId: string }): EncryptionCodec {
    return new EncryptionCodec(new Map([...keyring.keys].map(([id, key]) => [id, derivePayloadKey(key)])), keyring.activeKeyId);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.open(payload) : payload));
  }

  private seal(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.activeKeyId), iv);
    const plain = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: Buffer.from(this.activeKeyId),
      },
      data,
    };
  }

  private open(payload: Payload): Payload {
    const keyIdBytes = payload.metadata?.[METADATA_KEY_ID];
    if (!keyIdBytes) throw new PayloadCodecError(`encrypted payload has no "${METADATA_KEY_ID}" metadata`);
    const keyId = Buffer.from(keyIdBytes).toString('utf8');
    const key = this.key(keyId);
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadCodecError(`encrypted payload under key "${keyId}" is too short to be one`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      // No part of the payload in the message: it can reach logs and the Web UI.
      throw new PayloadCodecError(`encrypted payload failed authentication under key "${keyId}" (tampered, or sealed with a different key of that id)`);
    }
    // Every field of the original payload, as it was sealed.
    return ProtoPayload.decode(plain);
  }

  private key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) {
      throw new PayloadCodecError(
        `payload was encrypted with key "${id}", which is not in the keyring (CRM_SYNC_ENCRYPTION_KEYS holds: ${[...this.keys.keys()].map((known) => `"${known}"`).join(', ')}); keep retired keys listed until no history needs them`,
      );
    }
    return key;
  }
}

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString('utf8') === ENCRYPTED_ENCODING;
}

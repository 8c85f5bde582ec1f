import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ENCRYPTED_ENCODING, EncryptionCodec, METADATA_KEY_ID, PayloadCodecError } from '../../src/codec/encryption-codec';

const record = { email: 'ada.codec@analytical.example', lastName: 'Lovelace-Codec' };
const plain = (): Payload => defaultPayloadConverter.toPayload(record);
const text = (value: Uint8Array | null | undefined): string => Buffer.from(value ?? new Uint8Array()).toString('utf8');
const keyring = (...ids: string[]) => new Map(ids.map((id) => [id, randomBytes(32)] as const));

describe('EncryptionCodec', () => {
  it('seals a payload (encoding binary/encrypted, key id, no plaintext) and opens it back exactly', async () => {
    const codec = new EncryptionCodec(keyring('k1'), 'k1');
    const [sealed] = await codec.encode([plain()]);
    expect(text(sealed!.metadata?.[METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata?.[METADATA_KEY_ID])).toBe('k1');
    // Neither the value nor even the original encoding is readable.
    expect(Object.keys(sealed!.metadata ?? {}).sort()).toEqual([METADATA_ENCODING_KEY, METADATA_KEY_ID].sort());
    expect(text(sealed!.data)).not.toContain('analytical');
    expect(text(sealed!.data)).not.toContain('json/plain');

    const [opened] = await codec.decode([sealed!]);
    expect(text(opened!.metadata?.[METADATA_ENCODING_KEY])).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(record);
  });

  it('uses a fresh IV each time: the same value never seals to the same bytes', async () => {
    const codec = new EncryptionCodec(keyring('k1'), 'k1');
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('refuses a payload whose ciphertext was changed by one byte, naming the key but no content', async () => {
    const codec = new EncryptionCodec(keyring('k1'), 'k1');
    const [sealed] = await codec.encode([plain()]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 0x01;
    const error = await codec.decode([{ ...sealed!, data }]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PayloadCodecError);
    expect((error as Error).message).toMatch(/failed authentication under key "k1"/);
    expect((error as Error).message).not.toContain('analytical');
  });

  it('refuses a payload relabelled with another key id of the keyring', async () => {
    const codec = new EncryptionCodec(keyring('k1', 'k2'), 'k1');
    const [sealed] = await codec.encode([plain()]);
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [METADATA_KEY_ID]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication under key "k2"/);
  });

  it('refuses a payload sealed under a key id it does not hold, with a clear error', async () => {
    const writer = new EncryptionCodec(keyring('retired'), 'retired');
    const reader = new EncryptionCodec(keyring('current'), 'current');
    const [sealed] = await writer.encode([plain()]);
    await expect(reader.decode([sealed!])).rejects.toThrow(/encrypted with key "retired", which is not in the keyring .*"current"/);
  });

  it('lets payloads without the encrypted encoding through unchanged (histories from before the codec)', async () => {
    const codec = new EncryptionCodec(keyring('k1'), 'k1');
    const before = plain();
    const [passed] = await codec.decode([before]);
    expect(passed).toBe(before);
    expect(defaultPayloadConverter.fromPayload(passed!)).toEqual(record);
  });

  it('still opens payloads sealed before a rotation while sealing new ones under the new key', async () => {
    const keys = keyring('2025', '2026');
    const before = new EncryptionCodec(new Map([['2025', keys.get('2025')!]]), '2025');
    const after = new EncryptionCodec(keys, '2026');
    const [old] = await before.encode([plain()]);
    const [fresh] = await after.encode([plain()]);
    expect(text(fresh!.metadata?.[METADATA_KEY_ID])).toBe('2026');
    const opened = await after.decode([old!, fresh!]);
    expect(opened.map((payload) => defaultPayloadConverter.fromPayload(payload))).toEqual([record, record]);
  });

  it('derives payload keys from the keyring: a raw credential key does not open payloads', async () => {
    const raw = randomBytes(32);
    const derived = EncryptionCodec.fromKeyring({ keys: new Map([['k1', raw]]), activeKeyId: 'k1' });
    const [sealed] = await derived.encode([plain()]);
    await expect(new EncryptionCodec(new Map([['k1', raw]]), 'k1').decode([sealed!])).rejects.toThrow(/failed authentication/);
    const sameKeyring = EncryptionCodec.fromKeyring({ keys: new Map([['k1', raw]]), activeKeyId: 'k1' });
    expect(defaultPayloadConverter.fromPayload((await sameKeyring.decode([sealed!]))[0]!)).toEqual(record);
  });

  it('rejects a keyring with a key of the wrong size or a missing active key', () => {
    expect(() => new EncryptionCodec(new Map([['k1', randomBytes(16)]]), 'k1')).toThrow(/needs 32/);
    expect(() => new EncryptionCodec(keyring('k1'), 'k2')).toThrow(/active payload key "k2"/);
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CredentialCipher } from '../../src/store/credential-cipher';

describe('CredentialCipher', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const secret = { refreshToken: 'rt-123', clientSecret: 'cs-456' };

  it('round-trips a secret and never emits it in the envelope', () => {
    const cipher = new CredentialCipher(new Map([['k1', oldKey]]), 'k1');
    const sealed = cipher.seal(secret, 'conn-a');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext.toString('latin1')).not.toContain('rt-123');
    expect(cipher.open(sealed, 'conn-a')).toEqual(secret);
  });

  it('uses a fresh IV per seal, so equal secrets give different envelopes', () => {
    const cipher = new CredentialCipher(new Map([['k1', oldKey]]), 'k1');
    expect(cipher.seal(secret, 'c').ciphertext.equals(cipher.seal(secret, 'c').ciphertext)).toBe(false);
  });

  it('refuses a tampered envelope or one bound to another connection', () => {
    const cipher = new CredentialCipher(new Map([['k1', oldKey]]), 'k1');
    const sealed = cipher.seal(secret, 'conn-a');
    const tampered = Buffer.from(sealed.ciphertext);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => cipher.open({ ...sealed, ciphertext: tampered }, 'conn-a')).toThrow('credentials for "conn-a" failed authentication under key "k1"');
    expect(() => cipher.open(sealed, 'conn-b')).toThrow('credentials for "conn-b" failed authentication under key "k1"');
    expect(() => cipher.open({ ...sealed, ciphertext: Buffer.from([9, 9]) }, 'conn-a')).toThrow('malformed or of an unknown version');
  });

  it('opens envelopes sealed under a retired key while sealing new ones with the active key', () => {
    const before = new CredentialCipher(new Map([['old', oldKey]]), 'old');
    const sealedBefore = before.seal(secret, 'conn-a');
    const after = new CredentialCipher(new Map([['old', oldKey], ['new', newKey]]), 'new');
    expect(after.open(sealedBefore, 'conn-a')).toEqual(secret);
    expect(after.seal(secret, 'conn-a').keyId).toBe('new');
    const withoutOld = new CredentialCipher(new Map([['new', newKey]]), 'new');
    expect(() => withoutOld.open(sealedBefore, 'conn-a')).toThrow('no encryption key "old" in CRM_SYNC_ENCRYPTION_KEYS');
  });

  it('rejects a keyring whose active key is missing or of the wrong size', () => {
    expect(() => new CredentialCipher(new Map([['k1', oldKey]]), 'k2')).toThrow('active key "k2" is not in the keyring');
    expect(() => new CredentialCipher(new Map([['k1', randomBytes(16)]]), 'k1')).toThrow('key "k1" is 16 bytes; AES-256 needs 32');
  });
});

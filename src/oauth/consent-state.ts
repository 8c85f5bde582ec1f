import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CrmProvider } from '../model/identifiers';
import type { EncryptionKeyring } from '../store/keyring';

/**
 * The OAuth `state` parameter: what it binds (tenant, connection, provider, expiry) in the clear,
 * signed with a key derived from the credential keyring, so the shim can refuse a forged or edited
 * state before touching PostgreSQL. Single use is not the signature's job: the consent row
 * (oauth-consents-repository.ts) is consumed once.
 */

/** How long a consent may take, from `connection connect` to the callback. */
export const CONSENT_LIFETIME_MS = 10 * 60_000;

const DERIVATION_INFO = Buffer.from('crm-sync oauth state v1');

export interface ConsentStateClaims {
  /** The consent row's id: random, so a state cannot be guessed from another. */
  id: string;
  tenantId: string;
  connectionId: string;
  provider: CrmProvider;
  /** Epoch ms. */
  expiresAt: number;
}

export type StateRefusal = 'malformed' | 'unknown-key' | 'bad-signature' | 'expired';

export class ConsentStateError extends Error {
  constructor(
    readonly reason: StateRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'ConsentStateError';
  }
}

export class ConsentStateSigner {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly activeKeyId: string;

  constructor(keyring: EncryptionKeyring) {
    // A key of its own per keyring key: the credential cipher's keys never sign anything public.
    this.keys = new Map([...keyring.keys].map(([id, key]) => [id, Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), DERIVATION_INFO, 32))]));
    this.activeKeyId = keyring.activeKeyId;
  }

  static newId(): string {
    return randomBytes(18).toString('base64url');
  }

  sign(claims: ConsentStateClaims): string {
    const body = Buffer.from(JSON.stringify({ v: 1, k: this.activeKeyId, i: claims.id, t: claims.tenantId, c: claims.connectionId, p: claims.provider, e: claims.expiresAt })).toString('base64url');
    return `${body}.${this.mac(this.activeKeyId, body)}`;
  }

  /** The claims of a state this crm-sync signed and that has not expired at `now`; throws ConsentStateError otherwise. */
  verify(state: string, now: number): ConsentStateClaims {
    const [body, mac, extra] = state.split('.');
    if (!body || !mac || extra !== undefined) throw new ConsentStateError('malformed', 'The state parameter is not one crm-sync issued.');
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new ConsentStateError('malformed', 'The state parameter is not one crm-sync issued.');
    }
    const keyId = typeof parsed.k === 'string' ? parsed.k : '';
    if (!this.keys.has(keyId)) throw new ConsentStateError('unknown-key', 'The state parameter was signed with a key this crm-sync does not hold.');
    const expected = Buffer.from(this.mac(keyId, body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new ConsentStateError('bad-signature', 'The state parameter was altered: its signature does not match.');
    const claims = { id: parsed.i, tenantId: parsed.t, connectionId: parsed.c, provider: parsed.p, expiresAt: parsed.e };
    if (parsed.v !== 1 || typeof claims.id !== 'string' || typeof claims.tenantId !== 'string' || typeof claims.connectionId !== 'string' || typeof claims.provider !== 'string' || typeof claims.expiresAt !== 'number') {
      throw new ConsentStateError('malformed', 'The state parameter is not one crm-sync issued.');
    }
    if (claims.expiresAt <= now) throw new ConsentStateError('expired', 'This consent link expired (links are valid for 10 minutes).');
    return claims as ConsentStateClaims;
  }

  private mac(keyId: string, body: string): string {
    return createHmac('sha256', this.keys.get(keyId) as Buffer).update(body).digest('base64url');
  }
}

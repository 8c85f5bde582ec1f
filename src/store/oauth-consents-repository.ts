import type { CrmProvider } from '../model/identifiers';
import type { CredentialCipher } from './credential-cipher';
import type { Queryable } from './database';

/** A consent `crm-sync connection connect` started and the OAuth callback finishes. */
export interface NewConsent {
  id: string;
  tenantId: string;
  connectionId: string;
  provider: CrmProvider;
  region?: string | undefined;
  settings: Record<string, unknown>;
  /** PKCE verifier (absent for vendors without PKCE): sealed, never stored in plaintext. */
  codeVerifier?: string | undefined;
  createdAt: Date;
  expiresAt: Date;
}

export interface ConsumedConsent {
  id: string;
  tenantId: string;
  connectionId: string;
  provider: CrmProvider;
  region: string | undefined;
  settings: Record<string, unknown>;
  codeVerifier: string | undefined;
}

export type ConsumeResult = { status: 'consumed'; consent: ConsumedConsent } | { status: 'unknown' | 'used' | 'expired' };

/** What the envelope of a consent's secret is bound to: it opens for that consent only. */
export function consentBinding(id: string): string {
  return `oauth-consent/${id}`;
}

/** The `oauth_consents` table: a row per started consent, consumed once by its callback. */
export class OAuthConsentsRepository {
  constructor(
    private readonly db: Queryable,
    private readonly cipher: CredentialCipher,
  ) {}

  async create(consent: NewConsent): Promise<void> {
    const sealed = this.cipher.seal({ codeVerifier: consent.codeVerifier ?? null }, consentBinding(consent.id));
    await this.db.query(
      `INSERT INTO oauth_consents (id, tenant_id, connection_id, provider, region, settings, secret, secret_key_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [consent.id, consent.tenantId, consent.connectionId, consent.provider, consent.region ?? null, consent.settings, sealed.ciphertext, sealed.keyId, consent.createdAt, consent.expiresAt],
    );
  }

  /**
   * Marks the consent used, once: of two callbacks racing with the same state, one gets it. `now`
   * is the shim's clock (tests move it past the expiry instead of waiting ten minutes).
   */
  async consume(id: string, now: Date): Promise<ConsumeResult> {
    const taken = await this.db.query<ConsentRow>(
      `UPDATE oauth_consents SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2
       RETURNING id, tenant_id, connection_id, provider, region, settings, secret, secret_key_id`,
      [id, now],
    );
    const row = taken.rows[0];
    if (row) {
      const secret = this.cipher.open({ ciphertext: row.secret, keyId: row.secret_key_id }, consentBinding(row.id)) as { codeVerifier: string | null };
      return {
        status: 'consumed',
        consent: { id: row.id, tenantId: row.tenant_id, connectionId: row.connection_id, provider: row.provider, region: row.region ?? undefined, settings: row.settings, codeVerifier: secret.codeVerifier ?? undefined },
      };
    }
    const found = await this.db.query<{ used: boolean }>('SELECT used_at IS NOT NULL AS used FROM oauth_consents WHERE id = $1', [id]);
    const existing = found.rows[0];
    if (!existing) return { status: 'unknown' };
    return { status: existing.used ? 'used' : 'expired' };
  }

  /** Records what the callback did (shown to operators; never a secret). */
  async recordOutcome(id: string, outcome: string): Promise<void> {
    await this.db.query('UPDATE oauth_consents SET outcome = $2 WHERE id = $1', [id, outcome.slice(0, 500)]);
  }

  /** Forgets consents that expired before `before` (used or not): nothing in them is needed after. */
  async deleteExpired(before: Date): Promise<number> {
    const result = await this.db.query('DELETE FROM oauth_consents WHERE expires_at < $1', [before]);
    return result.rowCount ?? 0;
  }
}

interface ConsentRow {
  id: string;
  tenant_id: string;
  connection_id: string;
  provider: CrmProvider;
  region: string | null;
  settings: Record<string, unknown>;
  secret: Buffer;
  secret_key_id: string;
}

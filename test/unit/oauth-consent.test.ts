import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConsentRefusedError } from '../../src/oauth/consent-flow';
import type { ConsentStateError} from '../../src/oauth/consent-state';
import { CONSENT_LIFETIME_MS, ConsentStateSigner } from '../../src/oauth/consent-state';
import { consentFlowFor } from '../../src/oauth/flows';
import { loadOAuthApps, redirectUriFor, ZOHO_ACCOUNTS_SERVERS } from '../../src/oauth/oauth-apps';
import { AuthorizationCodes, s256 } from '../../src/sandbox/core/consent';

const keyring = (entries: [string, Buffer][], active: string) => ({ keys: new Map(entries), activeKeyId: active });

describe('consent state: signed, bound, expiring', () => {
  const k1 = randomBytes(32);
  const signer = new ConsentStateSigner(keyring([['k1', k1]], 'k1'));
  const now = 1_700_000_000_000;
  const claims = { id: ConsentStateSigner.newId(), tenantId: 'acme', connectionId: 'acme-sf', provider: 'salesforce' as const, expiresAt: now + CONSENT_LIFETIME_MS };
  const refusal = (state: string, at = now): string => {
    try {
      signer.verify(state, at);
      return 'accepted';
    } catch (error) {
      return (error as ConsentStateError).reason;
    }
  };

  it('verifies what it signed, with tenant, connection, provider and expiry', () => {
    expect(signer.verify(signer.sign(claims), now)).toEqual(claims);
  });

  it('refuses an edited binding, a forged signature, garbage, and a state past its expiry', () => {
    const state = signer.sign(claims);
    const [body, mac] = state.split('.') as [string, string];
    const edited = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), c: 'acme-other' })).toString('base64url');
    expect(refusal(`${edited}.${mac}`)).toBe('bad-signature');
    expect(refusal(`${body}.${mac.slice(0, -2)}AA`)).toBe('bad-signature');
    expect(refusal('not-a-state')).toBe('malformed');
    expect(refusal(`${body}.${mac}.extra`)).toBe('malformed');
    expect(refusal(state, claims.expiresAt)).toBe('expired');
    expect(refusal(state, claims.expiresAt - 1)).toBe('accepted');
  });

  it('refuses a state signed under a key the keyring does not hold, and accepts one under a retired key it still holds', () => {
    const other = new ConsentStateSigner(keyring([['k9', randomBytes(32)]], 'k9'));
    expect(refusal(other.sign(claims))).toBe('unknown-key');
    const rotated = new ConsentStateSigner(keyring([['k1', k1], ['k2', randomBytes(32)]], 'k2'));
    expect(rotated.verify(signer.sign(claims), now)).toEqual(claims);
  });

  it('never signs with the credential key itself (a derived key): the MAC under the raw key differs', async () => {
    const { createHmac } = await import('node:crypto');
    const [body, mac] = signer.sign(claims).split('.') as [string, string];
    expect(createHmac('sha256', k1).update(body).digest('base64url')).not.toBe(mac);
  });
});

describe('sandbox authorization codes (the vendors\' token-endpoint checks)', () => {
  it('computes S256 as RFC 7636 appendix B does', () => {
    expect(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('redeems a code once, for its redirect URI and verifier, until it expires', () => {
    let clock = 0;
    const codes = new AuthorizationCodes(60_000, () => clock);
    const grant = { clientId: 'app', redirectUri: 'https://crm-sync.example/oauth/salesforce/callback', codeChallenge: s256('verifier-one-verifier-one-verifier-one-12345') };
    const ok = codes.issue(grant);
    expect(codes.redeem(ok, { clientId: 'app', redirectUri: grant.redirectUri, codeVerifier: 'verifier-one-verifier-one-verifier-one-12345' })).toEqual({ ok: true, grant });
    expect(codes.redeem(ok, { clientId: 'app', redirectUri: grant.redirectUri, codeVerifier: 'verifier-one-verifier-one-verifier-one-12345' })).toEqual({ ok: false, failure: 'code-reused' });
    const wrongVerifier = codes.issue(grant);
    expect(codes.redeem(wrongVerifier, { clientId: 'app', redirectUri: grant.redirectUri, codeVerifier: 'another-verifier-another-verifier-12345678' })).toEqual({ ok: false, failure: 'verifier-mismatch' });
    const noVerifier = codes.issue(grant);
    expect(codes.redeem(noVerifier, { clientId: 'app', redirectUri: grant.redirectUri, codeVerifier: undefined })).toEqual({ ok: false, failure: 'verifier-missing' });
    const wrongRedirect = codes.issue(grant);
    expect(codes.redeem(wrongRedirect, { clientId: 'app', redirectUri: 'https://evil.example/cb', codeVerifier: 'verifier-one-verifier-one-verifier-one-12345' })).toEqual({ ok: false, failure: 'redirect-mismatch' });
    const late = codes.issue(grant);
    clock = 60_000;
    expect(codes.redeem(late, { clientId: 'app', redirectUri: grant.redirectUri, codeVerifier: 'verifier-one-verifier-one-verifier-one-12345' })).toEqual({ ok: false, failure: 'code-expired' });
    expect(codes.redeem('never-issued', { clientId: 'app', redirectUri: grant.redirectUri, codeVerifier: undefined })).toEqual({ ok: false, failure: 'unknown-code' });
  });
});

describe('OAuth apps from the environment', () => {
  it('reads each configured app with its vendor defaults, and the callback URI per provider', () => {
    const apps = loadOAuthApps({ SHIM_PUBLIC_URL: 'https://hooks.example.com/', CRM_SYNC_OAUTH_SALESFORCE_CLIENT_ID: 'id', CRM_SYNC_OAUTH_SALESFORCE_CLIENT_SECRET: 's3cr3t-value' });
    expect(apps.salesforce).toEqual({ clientId: 'id', clientSecret: 's3cr3t-value', loginUrl: 'https://login.salesforce.com', scope: 'api refresh_token' });
    expect(apps.hubspot).toBeUndefined();
    expect(redirectUriFor(apps, 'salesforce')).toBe('https://hooks.example.com/oauth/salesforce/callback');
  });

  it('overrides Zoho data centres per region and refuses bad entries and half-configured apps without quoting values', () => {
    const apps = loadOAuthApps({ CRM_SYNC_OAUTH_ZOHO_CLIENT_ID: 'z', CRM_SYNC_OAUTH_ZOHO_CLIENT_SECRET: 'zs', CRM_SYNC_OAUTH_ZOHO_ACCOUNTS_SERVERS: 'eu=http://127.0.0.1:9/' });
    expect(apps.zoho?.accountsServers).toEqual({ ...ZOHO_ACCOUNTS_SERVERS, eu: 'http://127.0.0.1:9' });
    expect(() => loadOAuthApps({ CRM_SYNC_OAUTH_ZOHO_ACCOUNTS_SERVERS: 'mars=https://x.example' })).toThrow(/needs the form region=https:\/\/host/);
    expect(() => loadOAuthApps({ CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET: 'very-secret-value' })).toThrow(/CRM_SYNC_OAUTH_HUBSPOT_CLIENT_ID and CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET must be set together/);
    try {
      loadOAuthApps({ CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET: 'very-secret-value' });
    } catch (error) {
      expect((error as Error).message).not.toContain('very-secret-value');
    }
  });
});

describe('Zoho consent: the data centre comes from the callback and must be the one asked for', () => {
  const apps = loadOAuthApps({ CRM_SYNC_OAUTH_ZOHO_CLIENT_ID: 'z', CRM_SYNC_OAUTH_ZOHO_CLIENT_SECRET: 'zs' });
  const flow = consentFlowFor(apps, 'zoho')!;
  const consent = { id: 'c', tenantId: 't', connectionId: 't-zoho', provider: 'zoho' as const, region: 'eu', settings: {}, codeVerifier: undefined };

  it('sends the person to the accounts server of the region asked for, offline access with consent', () => {
    const url = flow.authorizationUrl({ region: 'eu', settings: {}, state: 's', redirectUri: 'https://h.example/oauth/zoho/callback' });
    expect(url.origin).toBe('https://accounts.zoho.eu');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ response_type: 'code', access_type: 'offline', prompt: 'consent', state: 's' });
  });

  it('refuses another location, or an accounts server not configured for it, before any request', async () => {
    const refused = (params: string) =>
      flow.complete(new URLSearchParams(params), consent, 'https://h.example/oauth/zoho/callback').then(
        () => 'connected',
        (error: ConsentRefusedError) => `${error.refusal}: ${error.message}`,
      );
    await expect(refused('code=x&location=us&accounts-server=https%3A%2F%2Faccounts.zoho.com')).resolves.toBe(
      'wrong_region: the Zoho account is in the "us" data centre, not "eu"; run connect with --region us',
    );
    await expect(refused('code=x&location=eu&accounts-server=https%3A%2F%2Fattacker.example')).resolves.toBe(
      'wrong_region: the callback names accounts server https://attacker.example, not https://accounts.zoho.eu of the "eu" data centre',
    );
  });

  it('defaults to the US data centre and refuses unknown regions and --region for other vendors', () => {
    expect(flow.prepare({ settings: {} }).region).toBe('us');
    expect(() => flow.prepare({ region: 'mars', settings: {} })).toThrow('--region must be one of us, eu, in, au, jp, ca, cn for Zoho, got "mars"');
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AuthorizationCodes, registerConsentEndpoint, type ConsentApp, type ConsentControls } from '../core/consent';
import { invalidToken } from './errors';

/**
 * Zoho's data centres [Z1]: each has its own accounts server and API domain, and an account (with
 * its OAuth client, refresh tokens and access tokens) lives in exactly one of them.
 */
export const REGIONS = ['us', 'eu', 'in', 'au', 'jp', 'ca', 'cn'] as const;
export type ZohoRegion = (typeof REGIONS)[number];

/** The vendor's host suffix per region [Z1] (the `location` value of the authorize callback). */
export const REGION_DOMAINS: Record<ZohoRegion, string> = { us: 'com', eu: 'eu', in: 'in', au: 'com.au', jp: 'jp', ca: 'ca', cn: 'com.cn' };

export interface RegionUrls {
  accountsUrl: string;
  apiUrl: string;
}

export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Zoho issues one-hour access tokens [Z2]. */
  accessTokenLifetimeSeconds: number;
}

interface AccessToken {
  region: ZohoRegion;
  expiresAt: number;
  refreshToken: string;
}

export type TokenAnswer = { statusCode: number; body: Record<string, unknown> };

/** The text fields of a multipart/form-data body (a token grant as Zoho's SDKs send it [Z13]). */
export async function parseFormFields(contentType: string, body: Buffer): Promise<Record<string, string>> {
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  const fields: Record<string, string> = {};
  for (const [name, value] of form.entries()) if (typeof value === 'string') fields[name] = value;
  return fields;
}

/** The accounts server's token endpoint [Z2]. */
export const TOKEN_ROUTE = '/oauth/v2/token';

/**
 * The accounts server's answer once a client asks for tokens too often: "Access Denied" with HTTP
 * 200 (Zoho, "Kaizen #43 - Tokens and Limitations"; some clients log the same body with 400), the
 * wording as clients log it. No Retry-After: the block lasts the rest of the ten minutes.
 */
export function tokenThrottled(): Record<string, unknown> {
  return { error_description: 'You have made too many requests continuously. Please try again after some time.', error: 'Access Denied', status: 'failure' };
}

/**
 * OAuth for the one account the sandbox holds. A token request at another region's accounts
 * server does not know the client; a token presented at another region's API domain is unknown
 * there: both are refused as Zoho refuses them.
 */
export class ZohoAuth {
  private readonly tokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Set<string>();
  /** Grant tokens from the consent page (and the admin API): single use, 2 minutes (UNCONFIRMED [Z36]). */
  readonly authCodes: AuthorizationCodes;
  /** Refresh-token grants served, by region (tests assert single-flight refreshes). */
  readonly grants: Partial<Record<ZohoRegion, number>> = {};

  constructor(
    readonly home: ZohoRegion,
    readonly client: OAuthClientConfig,
    private readonly urls: () => Record<ZohoRegion, RegionUrls>,
    private readonly now: () => number = Date.now,
  ) {
    this.refreshTokens.add(client.refreshToken);
    this.authCodes = new AuthorizationCodes(2 * 60_000, now, () => `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`);
  }

  /** `Authorization: Zoho-oauthtoken <token>` at `region`'s API domain [Z2]. */
  authenticate(header: string | undefined, region: ZohoRegion): void {
    const token = /^Zoho-oauthtoken\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
    const entry = token === undefined ? undefined : this.tokens.get(token);
    if (!entry || entry.region !== region || entry.expiresAt <= this.now()) throw invalidToken();
  }

  /** `POST {accounts}/oauth/v2/token`, form-encoded [Z2]. */
  grant(region: ZohoRegion, form: Record<string, string | undefined>): TokenAnswer {
    // Zoho answers refused grants with HTTP 200 and an `error` field (secondary; UNCONFIRMED for every code).
    const fail = (error: string): TokenAnswer => ({ statusCode: 200, body: { error } });
    if (region !== this.home || form.client_id !== this.client.clientId || form.client_secret !== this.client.clientSecret) return fail('invalid_client');
    let refreshToken: string;
    if (form.grant_type === 'refresh_token') {
      if (!form.refresh_token || !this.refreshTokens.has(form.refresh_token)) return fail('invalid_code');
      refreshToken = form.refresh_token;
      this.grants[region] = (this.grants[region] ?? 0) + 1;
    } else if (form.grant_type === 'authorization_code') {
      // Zoho answers `invalid_code` for a grant token that is unknown, used or expired [Z2][Z36].
      if (!this.authCodes.redeem(form.code, { clientId: form.client_id, redirectUri: form.redirect_uri, codeVerifier: undefined }).ok) return fail('invalid_code');
      refreshToken = this.issueRefreshToken();
    } else {
      return fail('unsupported_grant_type');
    }
    const { accessToken, expiresIn } = this.issueAccessToken(refreshToken);
    const body: Record<string, unknown> = { access_token: accessToken, scope: 'ZohoCRM.modules.ALL ZohoCRM.notifications.ALL', api_domain: this.urls()[this.home].apiUrl, token_type: 'Bearer', expires_in: expiresIn };
    if (form.grant_type === 'authorization_code') body.refresh_token = refreshToken;
    return { statusCode: 200, body };
  }

  issueAccessToken(refreshToken = this.client.refreshToken): { accessToken: string; expiresIn: number } {
    const accessToken = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
    const lifetime = this.client.accessTokenLifetimeSeconds;
    this.tokens.set(accessToken, { region: this.home, expiresAt: this.now() + lifetime * 1000, refreshToken });
    return { accessToken, expiresIn: lifetime };
  }

  issueRefreshToken(): string {
    const token = `1000.${randomUUID().replace(/-/g, '')}.${randomBytes(16).toString('hex')}`;
    this.refreshTokens.add(token);
    return token;
  }

  /**
   * What the consent redirect carries: the code, `location` (the data centre) and
   * `accounts-server` [Z1]; the connection stores the last two as its settings.
   */
  issueAuthorizationCode(): { code: string; location: string; accountsServer: string } {
    const code = this.authCodes.issue({ clientId: this.client.clientId, redirectUri: undefined });
    return { code, ...this.location() };
  }

  /** Where the account lives, as the consent redirect names it [Z34]: `location` and `accounts-server`. */
  location(): { location: string; accountsServer: string } {
    return { location: this.home, accountsServer: this.urls()[this.home].accountsUrl };
  }

  revokeRefreshToken(token: string): boolean {
    for (const [value, entry] of this.tokens) if (entry.refreshToken === token) this.tokens.delete(value);
    return this.refreshTokens.delete(token);
  }

  /** Expires one access token or all of them; returns how many. */
  expire(token?: string): number {
    const expiredAt = this.now() - 1000;
    let count = 0;
    for (const [value, entry] of this.tokens) {
      if ((token !== undefined && token !== value) || entry.expiresAt <= expiredAt) continue;
      entry.expiresAt = expiredAt;
      count += 1;
    }
    return count;
  }
}

/**
 * `GET {accounts}/oauth/v2/auth` at every data centre's accounts server [Z34]: the person signs in
 * (the account is found wherever it lives) and the redirect names the account's own data centre
 * (`location`) and accounts server, whichever server showed the page. A declined consent
 * redirects with `error=access_denied` (UNCONFIRMED [Z36]).
 */
export function registerAuthorizeRoute(app: FastifyInstance, consentApp: () => ConsentApp, auth: ZohoAuth, controls: ConsentControls): void {
  registerConsentEndpoint(app, {
    path: '/oauth/v2/auth',
    vendor: 'Zoho',
    app: consentApp,
    codes: auth.authCodes,
    pkce: 'none',
    requiredParams: { response_type: 'code', scope: undefined },
    denied: { error: 'access_denied' },
    approvedParams: () => {
      const { location, accountsServer } = auth.location();
      return { location, 'accounts-server': accountsServer };
    },
    controls,
  });
}

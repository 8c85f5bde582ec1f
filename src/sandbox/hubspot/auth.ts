import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AuthorizationCodes, registerConsentEndpoint, type ConsentApp, type ConsentControls, type RedeemFailure } from '../core/consent';
import { errorBody, HubSpotError, type HubSpotErrorBody } from './errors';

/** The app a request acts for: rate windows and webhook `sourceId` are per app. */
export interface AppIdentity {
  appId: number;
  kind: 'private' | 'public';
}

export interface PrivateAppConfig {
  token: string;
  appId: number;
  clientSecret: string;
}

export interface PublicAppConfig {
  appId: number;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** HubSpot issues 30-minute access tokens [H7]. */
  accessTokenLifetimeSeconds: number;
  /** The scopes of an install made without the consent page (the starting refresh token, admin codes) [H106]. */
  scopes: string[];
}

/** Who installed the app, as token metadata names them [H105]. */
export interface InstallIdentity {
  portalId: number;
  userId: number;
  user: string;
  hubDomain: string;
}

interface AccessToken {
  app: AppIdentity;
  expiresAt: number;
  /** What the install granted; undefined for private-app and client-credentials tokens. */
  scopes?: readonly string[];
}

/** An answer of `GET /oauth/v1/access-tokens/{token}`, or undefined when this portal never issued the token. */
export type TokenMetadataAnswer = { statusCode: number; body: Record<string, unknown> };

const CREDENTIALS_NOT_FOUND =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

/** Private-app static tokens and OAuth access/refresh tokens, with expiry on a clock the tests can force. */
export class AuthRegistry {
  private readonly tokens = new Map<string, AccessToken>();
  /** Each refresh token with the scopes its install granted: the access tokens it mints carry them. */
  private readonly refreshTokens = new Map<string, readonly string[]>();
  /** App-level tokens from the client-credentials grant (the webhooks journal's [H102]), with their scopes. */
  private readonly clientCredentialsTokens = new Map<string, Set<string>>();
  /** Codes from the consent page (and the admin API); HubSpot's lifetime is UNCONFIRMED: 10 minutes here [H64]. */
  readonly authCodes: AuthorizationCodes;

  constructor(
    readonly privateApp: PrivateAppConfig,
    readonly publicApp: PublicAppConfig,
    private readonly now: () => number = Date.now,
    private readonly install: InstallIdentity = { portalId: 62515, userId: 7_000_001, user: 'admin@portal.example', hubDomain: 'portal.example' },
  ) {
    this.tokens.set(privateApp.token, { app: { appId: privateApp.appId, kind: 'private' }, expiresAt: Number.POSITIVE_INFINITY });
    this.refreshTokens.set(publicApp.refreshToken, [...publicApp.scopes]);
    this.authCodes = new AuthorizationCodes(10 * 60_000, now, () => randomUUID());
  }

  /** Resolves `Authorization: Bearer …`; throws HubSpot's 401 bodies [H8]. */
  authenticate(header: string | undefined): AppIdentity {
    const token = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
    const entry = token === undefined ? undefined : this.tokens.get(token);
    if (!entry) throw new HubSpotError(401, errorBody(CREDENTIALS_NOT_FOUND, 'INVALID_AUTHENTICATION'));
    const now = this.now();
    if (entry.expiresAt <= now) throw new HubSpotError(401, expiredBody(now, entry.expiresAt));
    return entry.app;
  }

  /** Expires one OAuth access token, or all of them; private-app tokens never expire. Returns how many. */
  expire(token?: string): number {
    const expiredAt = this.now() - 1000;
    let count = 0;
    for (const [value, entry] of this.tokens) {
      if (entry.app.kind !== 'public' || (token !== undefined && token !== value) || entry.expiresAt <= expiredAt) continue;
      entry.expiresAt = expiredAt;
      count += 1;
    }
    return count;
  }

  issueRefreshToken(scopes: readonly string[] = this.publicApp.scopes): string {
    const token = `na1-${randomUUID()}`;
    this.refreshTokens.set(token, [...scopes]);
    return token;
  }

  /** What a user's consent would hand the app's redirect URI. */
  issueAuthorizationCode(): string {
    return this.authCodes.issue({ clientId: this.publicApp.clientId, redirectUri: undefined });
  }

  /** Mints an access token directly (tests of expiry), as a refresh would. */
  issueAccessToken(scopes: readonly string[] = this.publicApp.scopes): { accessToken: string; expiresIn: number } {
    return this.mint(scopes);
  }

  /** `undefined` scopes: an app-level (client-credentials) token, which names no install. */
  private mint(scopes: readonly string[] | undefined): { accessToken: string; expiresIn: number } {
    const accessToken = `C${randomBytes(96).toString('base64url')}`;
    const lifetime = this.publicApp.accessTokenLifetimeSeconds;
    this.tokens.set(accessToken, { app: { appId: this.publicApp.appId, kind: 'public' }, expiresAt: this.now() + lifetime * 1000, ...(scopes ? { scopes: [...scopes] } : {}) });
    return { accessToken, expiresIn: lifetime };
  }

  /**
   * `GET /oauth/v1/access-tokens/{token}` [H105]: the install behind an OAuth access token.
   * Undefined when this portal never issued the token (another portal of the same app may have).
   */
  tokenMetadata(token: string): TokenMetadataAnswer | undefined {
    const entry = this.tokens.get(token);
    if (entry?.app.kind === 'private') return malformedToken();
    // An app-level (client-credentials) token names no install: answered as unknown (UNCONFIRMED [H109]).
    if (!entry?.scopes) return undefined;
    const now = this.now();
    if (entry.expiresAt <= now) return { statusCode: 401, body: expiredBody(now, entry.expiresAt) };
    return {
      statusCode: 200,
      body: {
        token,
        user: this.install.user,
        hub_domain: this.install.hubDomain,
        scopes: [...entry.scopes],
        hub_id: this.install.portalId,
        app_id: entry.app.appId,
        expires_in: Math.floor((entry.expiresAt - now) / 1000),
        user_id: this.install.userId,
        token_type: 'access',
      },
    };
  }

  /** The app and scopes of a client-credentials token; undefined for any other (or no) token. */
  clientCredentialsScopes(header: string | undefined): { appId: number; scopes: ReadonlySet<string> } | undefined {
    const token = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
    const scopes = token === undefined ? undefined : this.clientCredentialsTokens.get(token);
    return scopes ? { appId: this.publicApp.appId, scopes } : undefined;
  }

  /** `POST /oauth/v1/token`, form-encoded [H4][H6]. */
  grant(form: Record<string, string | undefined>): { statusCode: number; body: Record<string, unknown> } {
    const fail = (status: string, message: string): { statusCode: number; body: Record<string, unknown> } => ({
      statusCode: 400,
      body: { status, message, correlationId: randomUUID() },
    });
    if (form.client_id !== this.publicApp.clientId) return fail('BAD_CLIENT_ID', 'missing or invalid client_id');
    if (form.client_secret !== this.publicApp.clientSecret) return fail('BAD_CLIENT_SECRET', 'missing or invalid client_secret');
    let refreshToken: string;
    let scopes: readonly string[];
    if (form.grant_type === 'client_credentials') {
      // An app-level token for the webhooks journal: no refresh token (answer shape UNCONFIRMED [H102]).
      const { accessToken, expiresIn } = this.mint(undefined);
      this.clientCredentialsTokens.set(accessToken, new Set((form.scope ?? '').split(/[\s+]+/).filter(Boolean)));
      return { statusCode: 200, body: { token_type: 'bearer', access_token: accessToken, expires_in: expiresIn } };
    }
    if (form.grant_type === 'refresh_token') {
      const granted = form.refresh_token === undefined ? undefined : this.refreshTokens.get(form.refresh_token);
      if (!form.refresh_token || !granted) return fail('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
      refreshToken = form.refresh_token;
      scopes = granted;
    } else if (form.grant_type === 'authorization_code') {
      const redeemed = this.authCodes.redeem(form.code, { clientId: form.client_id, redirectUri: form.redirect_uri, codeVerifier: form.code_verifier });
      if (!redeemed.ok) return fail(...codeRefusal(redeemed.failure));
      // The install grants what the consent page asked for (`scope`, space-separated) [H106].
      scopes = redeemed.grant.scope === undefined ? this.publicApp.scopes : redeemed.grant.scope.split(/[\s+]+/).filter(Boolean);
      refreshToken = this.issueRefreshToken(scopes);
    } else {
      return fail('BAD_GRANT_TYPE', 'grant_type must be one of: authorization_code, refresh_token, client_credentials');
    }
    const { accessToken, expiresIn } = this.issueAccessToken(scopes);
    return { statusCode: 200, body: { token_type: 'bearer', refresh_token: refreshToken, access_token: accessToken, expires_in: expiresIn } };
  }
}

/** HubSpot's token-endpoint refusals of a code [H65] (BAD_AUTH_CODE for any unusable code; wording UNCONFIRMED). */
function codeRefusal(failure: RedeemFailure): [string, string] {
  if (failure === 'redirect-mismatch') return ['BAD_REDIRECT_URI', 'redirect_uri does not match the one the code was issued for'];
  if (failure === 'verifier-missing' || failure === 'verifier-mismatch') return ['BAD_AUTH_CODE', 'code_verifier does not match the code challenge'];
  return ['BAD_AUTH_CODE', 'missing or unknown auth code'];
}

/**
 * The install (consent) page, `app.hubspot.com/oauth/authorize` in reality [H64]: client id, a
 * redirect URI registered in the app's Auth settings, scopes; PKCE checked when sent. Denial
 * redirects with `error=access_denied` (UNCONFIRMED [H65]).
 */
export function registerAuthorizeRoute(app: FastifyInstance, consentApp: () => ConsentApp, auth: AuthRegistry, controls: ConsentControls): void {
  registerConsentEndpoint(app, {
    path: '/oauth/authorize',
    vendor: 'HubSpot',
    app: consentApp,
    codes: auth.authCodes,
    pkce: 'optional',
    requiredParams: { scope: undefined },
    denied: { error: 'access_denied', error_description: 'The user declined to install the app.' },
    controls,
  });
}

/** HubSpot's 401 to an expired OAuth token [H8]. */
function expiredBody(now: number, expiresAt: number): HubSpotErrorBody {
  return errorBody(`The OAuth token used to make this call expired ${agoText(now - expiresAt)} ago.`, 'EXPIRED_AUTHENTICATION', {
    context: { 'expire time': [new Date(expiresAt).toISOString()] },
  });
}

/** What the metadata endpoint answers a private-app (`pat-`) token [H107]; the status is UNCONFIRMED. */
export function malformedToken(): TokenMetadataAnswer {
  return { statusCode: 400, body: { status: 'error', message: 'The access token must have the correct format', correlationId: randomUUID() } };
}

/** HubSpot words the lag in the largest whole unit ("0 second(s)", "5 hour(s)"). */
function agoText(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} second(s)`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} minute(s)`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} hour(s)`;
  return `${Math.floor(seconds / 86_400)} day(s)`;
}

/** The token endpoint, per OAuth API version (fault scoping: `FaultConfig.tokenEndpointOnly`). */
export const TOKEN_ROUTES = ['v1', 'v3', '2026-03'].map((version) => `/oauth/${version}/token`);

export function registerOAuthRoutes(app: FastifyInstance, auth: AuthRegistry): void {
  for (const route of TOKEN_ROUTES) {
    app.post<{ Body: Record<string, string | undefined> | undefined }>(route, async (request, reply) => {
      const { statusCode, body } = auth.grant(request.body ?? {});
      return reply.code(statusCode).send(body);
    });
  }
}

/** The answer to a token no portal issued: a malformed one as HubSpot's format check [H107], else 404 (UNCONFIRMED [H108]). */
export function unknownToken(token: string): TokenMetadataAnswer {
  // Every OAuth access token HubSpot documents starts with `C` and is base64url.
  if (!/^C[A-Za-z0-9_-]+$/.test(token)) return malformedToken();
  return { statusCode: 404, body: errorBody('Token not found', 'OBJECT_NOT_FOUND') };
}

/** A wildcard: tokens run to 300 characters [H4], past the router's limit for a named parameter. */
export const TOKEN_METADATA_ROUTE = '/oauth/v1/access-tokens/*';

/**
 * Token metadata [H105]: the token is the path, no Authorization header; exempt from the portal's
 * API limits (the server skips `/oauth/` routes; UNCONFIRMED [H110]).
 */
export function registerTokenMetadataRoute(app: FastifyInstance, metadata: (token: string) => TokenMetadataAnswer): void {
  app.get<{ Params: { '*': string } }>(TOKEN_METADATA_ROUTE, async (request, reply) => {
    const { statusCode, body } = metadata(request.params['*']);
    return reply.code(statusCode).send(body);
  });
}

import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AuthorizationCodes} from '../core/consent';
import { registerConsentEndpoint, type ConsentControls, type ConsentApp, type RedeemFailure } from '../core/consent';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
}

interface AccessToken {
  expiresAt: number;
  clientId: string;
}

export interface TokenStoreOptions {
  client: OAuthClient;
  lifetimeMs: number;
  organizationId: string;
  userId: string;
  now?: () => number;
}

/** Access and refresh tokens of the org's connected app. */
export class TokenStore {
  private readonly access = new Map<string, AccessToken>();
  private readonly refresh = new Map<string, string>();
  private readonly now: () => number;
  tokenRequests = 0;

  constructor(private readonly options: TokenStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get client(): OAuthClient {
    return this.options.client;
  }

  issueAccessToken(clientId = this.options.client.clientId): string {
    // Real tokens are `00D...!AQ...`: org id, a bang, then an opaque part.
    const token = `${this.options.organizationId.slice(0, 15)}!${randomBytes(36).toString('base64url')}`;
    this.access.set(token, { expiresAt: this.now() + this.options.lifetimeMs, clientId });
    return token;
  }

  issueRefreshToken(clientId = this.options.client.clientId): string {
    const token = `5Aep${randomBytes(48).toString('base64url')}`;
    this.refresh.set(token, clientId);
    return token;
  }

  isValid(token: string): boolean {
    const entry = this.access.get(token);
    return entry !== undefined && entry.expiresAt > this.now();
  }

  /** Every issued access token stops working at once, as when the org's session timeout passes. */
  expireAll(): void {
    for (const entry of this.access.values()) entry.expiresAt = 0;
  }

  /** The token response: no `expires_in`, signature = base64(HMAC-SHA256(secret, id + issued_at)) [S5]. */
  tokenResponse(instanceUrl: string, includeRefresh: boolean): Record<string, string> {
    const issuedAt = String(this.now());
    const id = `${instanceUrl}/id/${this.options.organizationId}/${this.options.userId}`;
    const signature = createHmac('sha256', this.options.client.clientSecret).update(id + issuedAt).digest('base64');
    return {
      access_token: this.issueAccessToken(),
      ...(includeRefresh ? { refresh_token: this.issueRefreshToken() } : {}),
      signature,
      scope: 'api refresh_token',
      instance_url: instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
  }

  refreshTokenValid(token: string, clientId: string): boolean {
    return this.refresh.get(token) === clientId;
  }

  /** Refresh token rotation [S62]: the used token stops working, a new one for the same client replaces it. */
  rotateRefreshToken(used: string): string {
    const clientId = this.refresh.get(used);
    this.refresh.delete(used);
    return this.issueRefreshToken(clientId);
  }
}

type OAuthError = { error: string; error_description: string };

export const TOKEN_PATH = '/services/oauth2/token';
export const AUTHORIZE_PATH = '/services/oauth2/authorize';

/** Salesforce authorization codes are valid for 15 minutes (secondary [S100]). */
export const AUTHORIZATION_CODE_LIFETIME_MS = 15 * 60_000;

/**
 * The web server flow's authorization endpoint [S100]: `response_type=code`, the connected app's
 * consumer key and one of its callback URLs; `code_challenge` (S256) when the client sends one.
 * Denied consent redirects with `error=access_denied` [S101].
 */
export function registerAuthorizeRoute(app: FastifyInstance, consentApp: () => ConsentApp, codes: AuthorizationCodes, controls: ConsentControls): void {
  registerConsentEndpoint(app, {
    path: AUTHORIZE_PATH,
    vendor: 'Salesforce',
    app: consentApp,
    codes,
    pkce: 'optional',
    requiredParams: { response_type: 'code' },
    denied: { error: 'access_denied', error_description: 'end-user denied authorization' },
    controls,
  });
}

/** The token endpoint's refusal of an authorization code, per failure [S100][S102] (wording secondary). */
function codeRefusal(failure: RedeemFailure): OAuthError {
  switch (failure) {
    case 'redirect-mismatch':
      return { error: 'redirect_uri_mismatch', error_description: 'redirect_uri must match configuration' };
    case 'code-expired':
      return { error: 'invalid_grant', error_description: 'expired authorization code' };
    case 'verifier-missing':
    case 'verifier-mismatch':
      return { error: 'invalid_grant', error_description: 'invalid code verifier' };
    default:
      return { error: 'invalid_grant', error_description: 'invalid authorization code' };
  }
}

/**
 * `POST /services/oauth2/token` with the grants jsforce and server-to-server clients use [S3][S4].
 * A refresh-token grant is "being processed" for `processingMs`; another grant with the same
 * refresh token meanwhile is refused as Salesforce refuses simultaneous refresh requests (Winter
 * '25): 400 `invalid_grant` "token request is already being processed". With refresh token rotation
 * on, a grant answers with a new refresh token and the one it used is refused from then on
 * (`invalid_grant`, as any unknown refresh token) [S62].
 */
export function registerTokenRoute(
  app: FastifyInstance,
  tokens: TokenStore,
  instanceUrl: () => string,
  options: { processingMs?: number | undefined; rotation?: boolean | undefined; codes?: AuthorizationCodes | undefined } = {},
): void {
  const processingMs = options.processingMs ?? 0;
  const processing = new Set<string>();
  app.post<{ Body: Record<string, string> | undefined }>(TOKEN_PATH, async (request, reply) => {
    tokens.tokenRequests += 1;
    const params = request.body ?? {};
    const fail = (error: OAuthError, status = 400) => reply.code(status).send(error);
    const client = tokens.client;
    if (params.client_id !== client.clientId) return fail({ error: 'invalid_client_id', error_description: 'client identifier invalid' });
    const secretOk = params.client_secret === client.clientSecret;
    switch (params.grant_type) {
      case 'refresh_token': {
        if (params.client_secret !== undefined && !secretOk) return fail({ error: 'invalid_client', error_description: 'invalid client credentials' });
        const refreshToken = params.refresh_token;
        if (!refreshToken || !tokens.refreshTokenValid(refreshToken, client.clientId)) {
          return fail({ error: 'invalid_grant', error_description: 'expired access/refresh token' });
        }
        if (processing.has(refreshToken)) return fail({ error: 'invalid_grant', error_description: 'token request is already being processed' });
        processing.add(refreshToken);
        try {
          if (processingMs > 0) await new Promise((resolve) => setTimeout(resolve, processingMs));
        } finally {
          processing.delete(refreshToken);
        }
        if (!options.rotation) return tokens.tokenResponse(instanceUrl(), false);
        return { ...tokens.tokenResponse(instanceUrl(), false), refresh_token: tokens.rotateRefreshToken(refreshToken) };
      }
      case 'authorization_code': {
        // The web server flow: the consumer secret is required, then the code's own checks [S100].
        if (!secretOk || !options.codes) return fail({ error: 'invalid_client', error_description: 'invalid client credentials' });
        const redeemed = options.codes.redeem(params.code, { clientId: params.client_id, redirectUri: params.redirect_uri, codeVerifier: params.code_verifier });
        if (!redeemed.ok) return fail(codeRefusal(redeemed.failure));
        const scopes = (redeemed.grant.scope ?? 'api refresh_token').split(/[\s+]+/);
        return tokens.tokenResponse(instanceUrl(), scopes.includes('refresh_token') || scopes.includes('offline_access'));
      }
      case 'client_credentials':
        if (!secretOk) return fail({ error: 'invalid_client', error_description: 'invalid client credentials' });
        return tokens.tokenResponse(instanceUrl(), false);
      case 'password':
        if (!secretOk) return fail({ error: 'invalid_client', error_description: 'invalid client credentials' });
        if (params.username !== client.username || params.password !== client.password) {
          return fail({ error: 'invalid_grant', error_description: 'authentication failure' });
        }
        return tokens.tokenResponse(instanceUrl(), true);
      default:
        return fail({ error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    }
  });
}

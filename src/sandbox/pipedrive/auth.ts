import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthorizationCodes, registerConsentEndpoint, type ConsentApp, type ConsentControls, type RedeemFailure } from '../core/consent';
import { unauthorized } from './errors';

/** Who a request acts as: burst windows are per token, and the OAuth tier is higher [P3]. */
export interface Caller {
  kind: 'api-token' | 'oauth';
  /** The token itself keys the burst window (never logged or rendered). */
  token: string;
}

export interface OAuthAppConfig {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Seconds; the facts leave the real lifetime UNCONFIRMED [P1]; default one hour. */
  accessTokenLifetimeSeconds: number;
}

/** The personal API token and the OAuth app's tokens, expiring on a clock tests can force. */
export class AuthRegistry {
  private readonly accessTokens = new Map<string, number>();
  private readonly refreshTokens = new Set<string>();
  private tokenRequests = 0;
  /** Codes from the consent page: valid 5 minutes, exchanged once [P23]. */
  readonly authCodes: AuthorizationCodes;

  constructor(
    readonly apiToken: string,
    readonly app: OAuthAppConfig,
    private readonly apiDomain: () => string,
    private readonly now: () => number,
  ) {
    this.refreshTokens.add(app.refreshToken);
    this.authCodes = new AuthorizationCodes(5 * 60_000, now, () => `${randomBytes(4).toString('hex')}.${randomBytes(20).toString('hex')}`);
  }

  /** `x-api-token` header, `?api_token=`, or `Authorization: Bearer` (OAuth) [P1]. */
  authenticate(request: FastifyRequest): Caller {
    const header = request.headers['x-api-token'];
    const query = (request.query as Record<string, unknown> | undefined)?.api_token;
    const apiToken = typeof header === 'string' ? header : typeof query === 'string' ? query : undefined;
    if (apiToken !== undefined) {
      if (apiToken !== this.apiToken) throw unauthorized();
      return { kind: 'api-token', token: apiToken };
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
    const expiresAt = bearer === undefined ? undefined : this.accessTokens.get(bearer);
    if (bearer === undefined || expiresAt === undefined || expiresAt <= this.now()) throw unauthorized();
    return { kind: 'oauth', token: bearer };
  }

  /** Expires every OAuth access token (the API token never expires). Returns how many. */
  expireAll(): number {
    let count = 0;
    for (const [token, expiresAt] of this.accessTokens) {
      if (expiresAt > this.now()) count += 1;
      this.accessTokens.set(token, this.now() - 1);
    }
    return count;
  }

  /** Successful refresh grants so far (tests of single-flight refresh). */
  get refreshGrants(): number {
    return this.tokenRequests;
  }

  /**
   * `POST /oauth/token`, form-encoded, client credentials in HTTP Basic or the form [P1]. Every
   * refresh answers with a new refresh token and the one used is refused from then on, as
   * Pipedrive refuses a refresh token "already exchanged" [P12].
   */
  grant(form: Record<string, string | undefined>, authorization: string | undefined): { statusCode: number; body: Record<string, unknown> } {
    const basic = /^Basic\s+(.+)$/i.exec(authorization ?? '')?.[1];
    const [clientId, clientSecret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':', 2) : [form.client_id, form.client_secret];
    // OAuth-style error bodies; Pipedrive's exact wording is UNCONFIRMED.
    if (clientId !== this.app.clientId || clientSecret !== this.app.clientSecret) return { statusCode: 401, body: { success: false, error: 'invalid_client', message: 'Invalid client credentials' } };
    if (form.grant_type === 'authorization_code') {
      const redeemed = this.authCodes.redeem(form.code, { clientId, redirectUri: form.redirect_uri, codeVerifier: undefined });
      if (!redeemed.ok) return codeRefusal(redeemed.failure);
    } else if (form.grant_type !== 'refresh_token') {
      return { statusCode: 400, body: { success: false, error: 'unsupported_grant_type', message: 'Unsupported grant type: grant_type is invalid' } };
    } else {
      if (!form.refresh_token || !this.refreshTokens.delete(form.refresh_token)) return { statusCode: 400, body: { success: false, error: 'invalid_grant', message: 'Invalid grant: refresh_token is invalid' } };
      this.tokenRequests += 1;
    }
    const refreshToken = `${randomUUID()}:${randomBytes(16).toString('hex')}`;
    this.refreshTokens.add(refreshToken);
    const accessToken = `v1u:${randomBytes(48).toString('base64url')}`;
    this.accessTokens.set(accessToken, this.now() + this.app.accessTokenLifetimeSeconds * 1000);
    return {
      statusCode: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        refresh_token: refreshToken,
        scope: 'base,deals:full,contacts:full,activities:full,webhooks:full',
        expires_in: this.app.accessTokenLifetimeSeconds,
        api_domain: this.apiDomain(),
      },
    };
  }
}

/** The token endpoint's refusals of a code, worded as Pipedrive's status-code table words them [P23]. */
function codeRefusal(failure: RedeemFailure): { statusCode: number; body: Record<string, unknown> } {
  const message =
    failure === 'code-expired' ? 'Invalid grant: authorization_code has expired' : failure === 'redirect-mismatch' ? 'Invalid request: redirect_uri is invalid' : 'Invalid grant: authorization_code is invalid';
  return { statusCode: 400, body: { success: false, error: failure === 'redirect-mismatch' ? 'invalid_request' : 'invalid_grant', message } };
}

/**
 * `GET https://oauth.pipedrive.com/oauth/authorize?client_id&redirect_uri&state` [P22]: the install
 * page; a declined install redirects with an error (`user_denied`, value UNCONFIRMED [P22]).
 */
export function registerAuthorizeRoute(app: FastifyInstance, consentApp: () => ConsentApp, auth: AuthRegistry, controls: ConsentControls): void {
  registerConsentEndpoint(app, {
    path: '/oauth/authorize',
    vendor: 'Pipedrive',
    app: consentApp,
    codes: auth.authCodes,
    pkce: 'none',
    denied: { error: 'user_denied' },
    controls,
  });
}

/** The OAuth server's token endpoint (oauth.pipedrive.com in reality), for fault scoping. */
export const TOKEN_ROUTE = '/oauth/token';

export function registerOAuthRoutes(app: FastifyInstance, auth: AuthRegistry): void {
  app.post<{ Body: Record<string, string | undefined> | undefined }>(TOKEN_ROUTE, async (request, reply) => {
    const { statusCode, body } = auth.grant(request.body ?? {}, request.headers.authorization);
    return reply.code(statusCode).send(body);
  });
}

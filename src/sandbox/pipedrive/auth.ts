import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

  constructor(
    readonly apiToken: string,
    readonly app: OAuthAppConfig,
    private readonly apiDomain: () => string,
    private readonly now: () => number,
  ) {
    this.refreshTokens.add(app.refreshToken);
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
    if (form.grant_type !== 'refresh_token') return { statusCode: 400, body: { success: false, error: 'unsupported_grant_type', message: 'grant_type must be refresh_token' } };
    if (!form.refresh_token || !this.refreshTokens.delete(form.refresh_token)) return { statusCode: 400, body: { success: false, error: 'invalid_grant', message: 'Invalid grant: refresh_token is invalid' } };
    this.tokenRequests += 1;
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

/** The OAuth server's token endpoint (oauth.pipedrive.com in reality), for fault scoping. */
export const TOKEN_ROUTE = '/oauth/token';

export function registerOAuthRoutes(app: FastifyInstance, auth: AuthRegistry): void {
  app.post<{ Body: Record<string, string | undefined> | undefined }>(TOKEN_ROUTE, async (request, reply) => {
    const { statusCode, body } = auth.grant(request.body ?? {}, request.headers.authorization);
    return reply.code(statusCode).send(body);
  });
}

import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { registerConsentEndpoint, type ConsentApp, type ConsentControls } from '../core/consent';
import { SeededRandom } from '../core/random';
import { DataverseError } from './errors';

/** Token lifetime in seconds: fixed, or [min, max] drawn per token (Entra's default is 60-90 min [D4]). */
export type TokenLifetime = number | [number, number];

export interface AuthSettings {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The environment URL; the only scope accepted is `<resource>/.default` [D2]. */
  resource: string;
  applicationUserId: string;
  lifetime: TokenLifetime;
  seed: number;
  now: () => number;
  /** Whether the tenant's administrator consented to the (multi-tenant) app; until then it is unknown in the directory [D59]. */
  consented: boolean;
}

export interface TokenResponse {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
}

/** Entra ID's OAuth error body (`AADSTS...` codes), not Dataverse's envelope. */
export class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(`AADSTS${aadsts}: ${description}`);
  }

  body(): Record<string, unknown> {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
    return {
      error: this.error,
      error_description: `${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [this.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.aadsts}`,
    };
  }
}

interface IssuedToken {
  userId: string;
  expiresAt: number;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * The client-credentials token endpoint and bearer checks. Tokens are opaque to the sandbox
 * (JWT-shaped so clients that peek at `exp` work) and looked up in memory, so expiring them on
 * demand is exact.
 */
export class TokenAuthority {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly random: SeededRandom;

  constructor(private readonly settings: AuthSettings) {
    this.random = new SeededRandom(settings.seed);
  }

  /** Handles the form of `POST /{tenant}/oauth2/v2.0/token`. */
  issue(tenantId: string, form: Record<string, string | undefined>, basicAuth: string | undefined): TokenResponse {
    const { settings } = this;
    if (tenantId !== settings.tenantId && tenantId !== 'organizations') {
      throw new EntraError(400, 'invalid_tenant', 90002, `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    if (form.grant_type !== 'client_credentials') {
      throw new EntraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${form.grant_type ?? ''}'.`);
    }
    let clientId = form.client_id;
    let secret = form.client_secret;
    if (basicAuth?.startsWith('Basic ')) {
      const [id, pass] = Buffer.from(basicAuth.slice(6), 'base64').toString().split(':');
      clientId = decodeURIComponent(id ?? '');
      secret = decodeURIComponent(pass ?? '');
    }
    if (!form.scope) throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    if (clientId !== settings.clientId || (clientId === settings.clientId && !settings.consented)) {
      throw new EntraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId ?? ''}' was not found in the directory '${settings.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    if (secret === undefined || !sameSecret(secret, settings.clientSecret)) {
      throw new EntraError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${settings.clientId}'.`);
    }
    const scopes = form.scope.split(' ').filter(Boolean);
    const expectedScope = `${settings.resource.replace(/\/$/, '')}/.default`;
    if (!scopes.every((scope) => scope.replace(/\/\/\.default$/, '/.default') === expectedScope)) {
      throw new EntraError(400, 'invalid_scope', 1002012, `The provided value for scope ${form.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const lifetime = this.lifetimeSeconds();
    const now = settings.now();
    const payload = {
      aud: settings.resource,
      iss: `https://sts.windows.net/${settings.tenantId}/`,
      iat: Math.floor(now / 1000),
      nbf: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + lifetime,
      appid: settings.clientId,
      oid: settings.applicationUserId,
      tid: settings.tenantId,
      uti: randomUUID(),
    };
    const token = `${base64url({ typ: 'JWT', alg: 'RS256' })}.${base64url(payload)}.${randomBytes(32).toString('base64url')}`;
    this.tokens.set(token, { userId: settings.applicationUserId, expiresAt: now + lifetime * 1000 });
    return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token };
  }

  /** The tenant's administrator approved the app at the admin consent endpoint: client credentials work from now on. */
  grantAdminConsent(): void {
    this.settings.consented = true;
  }

  get tenantId(): string {
    return this.settings.tenantId;
  }

  /** The caller's user for a `Bearer` header; 401 with `WWW-Authenticate` otherwise (UNCONFIRMED shape). */
  authenticate(header: string | undefined): { userId: string } {
    const challenge = (error: string, description: string): DataverseError =>
      new DataverseError(401, '', description, {
        'www-authenticate': `Bearer error="${error}", error_description="${description}", authorization_uri="${this.authorizationUri()}", resource_id="${this.settings.resource}"`,
      });
    if (!header?.startsWith('Bearer ')) throw challenge('invalid_request', 'The request is missing a Bearer access token.');
    const issued = this.tokens.get(header.slice(7).trim());
    if (!issued) throw challenge('invalid_token', 'The access token is invalid.');
    if (issued.expiresAt <= this.settings.now()) throw challenge('invalid_token', 'The access token expired.');
    return { userId: issued.userId };
  }

  /** Expires every token issued so far (or one), as if their lifetime had run out. */
  expire(token?: string): number {
    let count = 0;
    for (const [value, issued] of this.tokens) {
      if (token !== undefined && value !== token) continue;
      issued.expiresAt = Math.min(issued.expiresAt, this.settings.now());
      count += 1;
    }
    return count;
  }

  openIdConfiguration(baseUrl: string): Record<string, unknown> {
    const tenant = this.settings.tenantId;
    return {
      token_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${baseUrl}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${baseUrl}/${tenant}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/logout`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  }

  private authorizationUri(): string {
    return `https://login.microsoftonline.com/${this.settings.tenantId}/oauth2/authorize`;
  }

  private lifetimeSeconds(): number {
    const { lifetime } = this.settings;
    if (typeof lifetime === 'number') return lifetime;
    const [min, max] = lifetime;
    return Math.round(min + this.random.next() * (max - min));
  }
}

/**
 * Entra's tenant-wide admin consent, `GET {authority}/organizations/v2.0/adminconsent?client_id&scope&redirect_uri&state`
 * [D57]: an administrator approves the app for the whole tenant; the redirect carries
 * `admin_consent=True`, the `tenant` id and `scope`; a refusal carries `error=access_denied` and
 * an AADSTS65004 description [D58]. No code: the app then uses client credentials.
 */
export function registerAdminConsentRoute(app: FastifyInstance, consentApp: () => ConsentApp, authority: () => TokenAuthority, controls: ConsentControls): void {
  registerConsentEndpoint(app, {
    path: '/organizations/v2.0/adminconsent',
    vendor: 'Microsoft Entra ID (admin consent)',
    app: consentApp,
    pkce: 'none',
    requiredParams: { scope: undefined },
    denied: { error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.' },
    approveWithoutCode: (query) => {
      authority().grantAdminConsent();
      return { admin_consent: 'True', tenant: authority().tenantId, scope: query.scope ?? '' };
    },
    controls,
  });
}

import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * A vendor's authorization endpoint as a person meets it: `GET` checks the app and its registered
 * redirect URI and shows a consent page (an HTML form with Allow and Deny); the form's `POST`
 * redirects to the app with a code, or with the vendor's error when denied. A wrong client id or
 * redirect URI is shown on the vendor's own page, never redirected: the redirect URI is untrusted
 * until it matches the registered one (RFC 6749 4.1.2.1). Codes are single use, expire, and
 * remember the redirect URI and PKCE challenge they were issued for, for the token endpoint.
 */

export interface ConsentApp {
  clientId: string;
  /** Registered redirect URIs ("callback URLs" in the vendor's console): matched exactly. */
  redirectUris: Set<string>;
}

/** What a test does in the vendor's console: register the app's redirect URI; and what happened at the consent page. */
export interface ConsentControls {
  registerRedirectUri(uri: string): void;
  readonly decisions: { allow: number; deny: number };
}

/** The registered app behind a consent endpoint, and its console controls. */
export function consentApp(clientId: () => string): { app: () => ConsentApp; controls: ConsentControls } {
  const redirectUris = new Set<string>();
  const decisions = { allow: 0, deny: 0 };
  return {
    app: () => ({ clientId: clientId(), redirectUris }),
    controls: { registerRedirectUri: (uri) => void redirectUris.add(uri), decisions },
  };
}

export interface AuthorizationGrant {
  clientId: string;
  /** Undefined for codes a test mints through the admin API without a consent (no redirect to check). */
  redirectUri: string | undefined;
  codeChallenge?: string | undefined;
  scope?: string | undefined;
  /** What else the vendor ties to the code (Zoho's data centre). */
  extra?: Record<string, string> | undefined;
}

export type RedeemFailure = 'unknown-code' | 'code-reused' | 'code-expired' | 'client-mismatch' | 'redirect-mismatch' | 'verifier-missing' | 'verifier-mismatch';

export type RedeemResult = { ok: true; grant: AuthorizationGrant } | { ok: false; failure: RedeemFailure };

/** Issued authorization codes: single use, `lifetimeMs` long on the vendor's clock. */
export class AuthorizationCodes {
  private readonly codes = new Map<string, { grant: AuthorizationGrant; expiresAt: number; used: boolean }>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number,
    private readonly format: () => string = () => randomBytes(24).toString('base64url'),
  ) {}

  issue(grant: AuthorizationGrant): string {
    const code = this.format();
    this.codes.set(code, { grant, expiresAt: this.now() + this.lifetimeMs, used: false });
    return code;
  }

  /** The token endpoint's checks, in the order vendors apply them; a code is spent by its first redemption, failed or not. */
  redeem(code: string | undefined, request: { clientId: string | undefined; redirectUri: string | undefined; codeVerifier: string | undefined }): RedeemResult {
    const entry = code === undefined ? undefined : this.codes.get(code);
    if (!entry) return { ok: false, failure: 'unknown-code' };
    if (entry.used) return { ok: false, failure: 'code-reused' };
    entry.used = true;
    if (entry.expiresAt <= this.now()) return { ok: false, failure: 'code-expired' };
    const { grant } = entry;
    if (request.clientId !== grant.clientId) return { ok: false, failure: 'client-mismatch' };
    if (grant.redirectUri !== undefined && request.redirectUri !== grant.redirectUri) return { ok: false, failure: 'redirect-mismatch' };
    if (grant.codeChallenge !== undefined) {
      if (!request.codeVerifier) return { ok: false, failure: 'verifier-missing' };
      if (s256(request.codeVerifier) !== grant.codeChallenge) return { ok: false, failure: 'verifier-mismatch' };
    }
    return { ok: true, grant };
  }
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export interface ConsentEndpointOptions {
  /** The authorization endpoint's path, e.g. `/services/oauth2/authorize`. */
  path: string;
  /** Shown on the page: "Allow <appLabel> to access <vendor>?" */
  vendor: string;
  app: () => ConsentApp;
  /** Where codes are issued; not needed with `approveWithoutCode`. */
  codes?: AuthorizationCodes;
  /** `required`: S256 challenge needed; `optional`: checked when sent; `none`: ignored. */
  pkce: 'required' | 'optional' | 'none';
  /** Query parameters the vendor requires besides client_id and redirect_uri (e.g. response_type=code). */
  requiredParams?: Record<string, string | undefined>;
  /** The redirect query a denial produces (before `state`). */
  denied: Record<string, string>;
  /** Extra parameters of a successful redirect (Zoho's `location`, `accounts-server`). */
  approvedParams?: () => Record<string, string>;
  /**
   * Instead of a code (Entra's admin consent): the parameters of a successful redirect. When set,
   * no code is issued.
   */
  approveWithoutCode?: (query: Record<string, string>) => Record<string, string>;
  /** Counts every decision. */
  controls?: ConsentControls;
}

/** Registers `GET` (consent page) and `POST` (decision) at `options.path`. */
export function registerConsentEndpoint(app: FastifyInstance, options: ConsentEndpointOptions): void {
  const check = (query: Record<string, string>): string | undefined => {
    const registered = options.app();
    if (query.client_id !== registered.clientId) return 'invalid_client_id: the client id is not an app registered here.';
    if (!query.redirect_uri || !registered.redirectUris.has(query.redirect_uri)) return 'redirect_uri_mismatch: the redirect_uri does not match a callback URL registered for this app.';
    for (const [name, value] of Object.entries(options.requiredParams ?? {})) {
      if (value === undefined ? !query[name] : query[name] !== value) return `invalid_request: ${name} must be ${value ?? 'given'}.`;
    }
    if (options.pkce !== 'none' && (query.code_challenge || options.pkce === 'required')) {
      if (!query.code_challenge || !/^[A-Za-z0-9_-]{43}$/.test(query.code_challenge)) return 'invalid_request: code_challenge must be a base64url SHA-256 (S256) hash.';
      if (query.code_challenge_method !== 'S256') return 'invalid_request: code_challenge_method must be S256.';
    }
    return undefined;
  };

  app.get<{ Querystring: Record<string, string> }>(options.path, async (request, reply) => {
    const query = request.query;
    const problem = check(query);
    if (problem) return htmlPage(reply.code(400), `${options.vendor}: error`, `<p id="error">${escapeHtml(problem)}</p>`);
    const hidden = Object.entries(query)
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join('');
    return htmlPage(
      reply,
      `${options.vendor}: allow access?`,
      `<h1>Allow access to ${escapeHtml(options.vendor)}?</h1>
<p>The app <code>${escapeHtml(query.client_id ?? '')}</code> asks for access${query.scope ? ` (<code>${escapeHtml(query.scope)}</code>)` : ''}.</p>
<form method="post" action="${escapeHtml(options.path)}">${hidden}
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>`,
    );
  });

  app.post<{ Body: Record<string, string> | undefined }>(options.path, async (request, reply) => {
    const form = { ...(request.body ?? {}) };
    const problem = check(form);
    if (problem) return htmlPage(reply.code(400), `${options.vendor}: error`, `<p id="error">${escapeHtml(problem)}</p>`);
    const target = new URL(form.redirect_uri as string);
    const decision = form.decision === 'allow' ? 'allow' : 'deny';
    if (options.controls) options.controls.decisions[decision] += 1;
    let params: Record<string, string>;
    if (decision === 'deny') params = options.denied;
    else if (options.approveWithoutCode) params = options.approveWithoutCode(form);
    else if (!options.codes) throw new Error(`${options.path}: no codes to issue`);
    else {
      const code = options.codes.issue({ clientId: form.client_id as string, redirectUri: form.redirect_uri, codeChallenge: form.code_challenge || undefined, scope: form.scope });
      params = { code, ...options.approvedParams?.() };
    }
    for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
    if (form.state !== undefined) target.searchParams.set('state', form.state);
    return reply.code(302).header('location', target.toString()).send();
  });
}

function htmlPage(reply: FastifyReply, title: string, body: string): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(`<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

import * as oauth from 'oauth4webapi';
import { ConsentRefusedError } from './consent-flow';

/**
 * The authorization-code exchange every vendor but Dynamics shares, done by oauth4webapi (a
 * maintained, dependency-free OAuth 2 client that checks the callback and the token response per
 * RFC 6749) rather than hand-built requests. Vendors' deviations from the RFC's error shape are
 * normalised by `normaliseError` before oauth4webapi reads the answer.
 */

export interface TokenEndpoint {
  issuer: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** How the client authenticates at the token endpoint. */
  clientAuth: 'post' | 'basic';
  /**
   * Turns a vendor's non-standard refusal into RFC 6749's `{ error, error_description }` with a
   * 4xx status (HubSpot's `{status, message}`, Zoho's HTTP 200 `{error}`); `undefined` keeps it.
   */
  normaliseError?: (status: number, body: Record<string, unknown>) => { error: string; error_description?: string } | undefined;
}

export interface ExchangedToken {
  accessToken: string;
  refreshToken: string | undefined;
  expiresIn: number | undefined;
  /** Every other field of the answer (Salesforce's `instance_url`, Pipedrive's and Zoho's `api_domain`). */
  extra: Record<string, unknown>;
}

export async function exchangeCode(endpoint: TokenEndpoint, callback: URLSearchParams, redirectUri: string, codeVerifier: string | undefined): Promise<ExchangedToken> {
  const as: oauth.AuthorizationServer = { issuer: endpoint.issuer, token_endpoint: endpoint.tokenUrl };
  const client: oauth.Client = { client_id: endpoint.clientId };
  const auth = endpoint.clientAuth === 'basic' ? oauth.ClientSecretBasic(endpoint.clientSecret) : oauth.ClientSecretPost(endpoint.clientSecret);
  let params: URLSearchParams;
  try {
    // The state was checked (signature, single use) before this: only the error and code are read here.
    params = oauth.validateAuthResponse(as, client, callback, oauth.skipStateCheck);
  } catch (error) {
    throw refusalOf(error);
  }
  const options = {
    // Plain http only for loopback hosts (local sandboxes); a vendor is always https.
    [oauth.allowInsecureRequests]: isLoopback(endpoint.tokenUrl),
    [oauth.customFetch]: normalisingFetch(endpoint),
    signal: AbortSignal.timeout(15_000),
  };
  try {
    const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, codeVerifier ?? oauth.nopkce, options);
    const token = await oauth.processAuthorizationCodeResponse(as, client, response);
    const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn, ...extra } = token;
    return { accessToken, refreshToken, expiresIn, extra };
  } catch (error) {
    throw refusalOf(error);
  }
}

function normalisingFetch(endpoint: TokenEndpoint): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!endpoint.normaliseError) return response;
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return new Response(text, { status: response.status, headers: response.headers });
    }
    const normalised = typeof body === 'object' && body !== null ? endpoint.normaliseError(response.status, body as Record<string, unknown>) : undefined;
    if (!normalised) return new Response(text, { status: response.status, headers: response.headers });
    return new Response(JSON.stringify(normalised), { status: response.status >= 400 ? response.status : 400, headers: { 'content-type': 'application/json' } });
  };
}

/** What the person is told: the vendor's error code and description, never a token or secret (oauth4webapi's errors carry none). */
export function refusalOf(error: unknown): ConsentRefusedError {
  if (error instanceof ConsentRefusedError) return error;
  if (error instanceof oauth.AuthorizationResponseError) {
    const denied = error.error === 'access_denied' || error.error === 'access-denied' || error.error === 'user_denied' || error.error === 'consent_required';
    return new ConsentRefusedError(denied ? 'denied' : 'vendor', `${describe(error.error, error.error_description)}`);
  }
  if (error instanceof oauth.ResponseBodyError) {
    return new ConsentRefusedError(error.error === 'invalid_grant' ? 'invalid_grant' : 'vendor', describe(error.error, error.error_description));
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError' || (error as { code?: string }).code === 'ECONNREFUSED' || error.message === 'fetch failed')) {
    return new ConsentRefusedError('unavailable', 'the vendor did not answer the token request; try again');
  }
  return new ConsentRefusedError('vendor', `the vendor's token answer was not usable (${error instanceof Error ? error.message.slice(0, 120) : 'unknown error'})`);
}

function describe(code: string, description: string | undefined): string {
  // Both come from the vendor and end up in HTML: consent-page.ts escapes them.
  return description ? `${code}: ${description.slice(0, 300)}` : code;
}

export function isLoopback(target: string): boolean {
  const host = new URL(target).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

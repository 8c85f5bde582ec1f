import { request, type Dispatcher } from 'undici';
import { networkFailure } from '../errors';
import type { IssuedToken } from '../token-provider';
import { zohoTokenFailure } from './errors';

/** Zoho's data centres and their host suffixes [Z1]. */
export const ZOHO_REGIONS = { us: 'com', eu: 'eu', in: 'in', au: 'com.au', jp: 'jp', ca: 'ca', cn: 'com.cn' } as const;
export type ZohoRegionName = keyof typeof ZOHO_REGIONS;

/** The accounts server of a data centre [Z1] (`accounts.zohocloud.ca` for Canada). */
export function accountsServerOf(region: ZohoRegionName): string {
  return region === 'ca' ? 'https://accounts.zohocloud.ca' : `https://accounts.zoho.${ZOHO_REGIONS[region]}`;
}

/** The API domain of a data centre, until a token response names it [Z1]. */
export function apiDomainOf(region: ZohoRegionName): string {
  return region === 'ca' ? 'https://www.zohoapis.ca' : `https://www.zohoapis.${ZOHO_REGIONS[region]}`;
}

export interface ZohoOAuthClient {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** Where this connection's calls go: the API domain the last token response returned. */
export interface ZohoSession {
  apiDomain: string;
}

/**
 * Refresh grants at the connection's own accounts server (the one the consent redirect named as
 * `accounts-server` [Z1]); another data centre's server does not know the client. Each response
 * names the `api_domain` every API call then goes to [Z2]. Zoho refuses a grant with HTTP 200 and
 * `{"error": "invalid_code"}` (classed `auth`), and throttles token requests with HTTP 200 and
 * "Access Denied" (classed `rate-limited`): a 200 without an access token is read by `zohoTokenFailure`.
 * Zoho's refresh tokens do not rotate (the answer carries none [Z2]; they live until revoked [Z18]).
 */
export function createRefresh(accountsServer: string, client: ZohoOAuthClient, dispatcher: Dispatcher, timeoutMs: number): (refreshToken: string | undefined) => Promise<IssuedToken> {
  const url = `${accountsServer.replace(/\/+$/, '')}/oauth/v2/token`;
  return async (refreshToken = client.refreshToken) => {
    let status: number;
    let text: string;
    let headers: Record<string, string | undefined>;
    try {
      // Refresh an access token: POST {accounts-server}/oauth/v2/token, grant_type=refresh_token [Z2]
      const response = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: client.clientId, client_secret: client.clientSecret, refresh_token: refreshToken }).toString(),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.statusCode;
      text = await response.body.text();
      headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value]));
    } catch (error) {
      throw networkFailure('zoho', error);
    }
    let body: { access_token?: unknown; api_domain?: unknown; expires_in?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not JSON: classified below by status.
    }
    // Never the request in the error: it carries the client secret and the refresh token.
    if (status >= 400 || typeof body.access_token !== 'string') throw zohoTokenFailure(status, text, headers);
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    const apiBase = typeof body.api_domain === 'string' && body.api_domain !== '' ? body.api_domain.replace(/\/+$/, '') : undefined;
    return { accessToken: body.access_token, expiresInMs: expiresIn * 1000, apiBase };
  };
}

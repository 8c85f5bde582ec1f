import { request, type Dispatcher } from 'undici';
import type { AccessToken } from '../token-provider';
import { SingleFlightTokenProvider } from '../token-provider';
import { networkFailure } from '../errors';
import { classifyPipedriveTokenFailure } from './errors';
import { PIPEDRIVE_API } from './spec';

export interface PipedriveApiTokenAuth {
  kind: 'api-token';
  apiToken: string;
}

export interface PipedriveOAuthAuth {
  kind: 'oauth';
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** @default https://oauth.pipedrive.com/oauth/token */
  tokenUrl?: string | undefined;
  /** A token already held (e.g. from the consent callback). */
  accessToken?: AccessToken | undefined;
}

export type PipedriveAuth = PipedriveApiTokenAuth | PipedriveOAuthAuth;

/**
 * OAuth access tokens, refreshed single-flight at the token URL: `grant_type=refresh_token`,
 * client credentials in HTTP Basic, `expires_in` in the answer [P1]. A rotated refresh token (if
 * Pipedrive sends one) replaces the held one.
 */
export function createOAuthTokens(auth: PipedriveOAuthAuth, dispatcher: Dispatcher, timeoutMs: number, onRefreshed?: (token: AccessToken) => Promise<void> | void): SingleFlightTokenProvider {
  let refreshToken = auth.refreshToken;
  const tokenUrl = auth.tokenUrl ?? PIPEDRIVE_API.defaultTokenUrl;
  return new SingleFlightTokenProvider({
    provider: 'pipedrive',
    initial: auth.accessToken,
    ...(onRefreshed ? { onRefreshed } : {}),
    refresh: async () => {
      let status: number;
      let text: string;
      let headers: Record<string, string>;
      try {
        const response = await request(tokenUrl, {
          method: 'POST',
          dispatcher,
          headers: {
            authorization: `Basic ${Buffer.from(`${auth.clientId}:${auth.clientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.statusCode;
        headers = Object.fromEntries(Object.entries(response.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value]])));
        text = await response.body.text();
      } catch (error) {
        throw networkFailure('pipedrive', error);
      }
      // A refused grant (400 invalid_grant, 401 invalid_client) is 'auth': re-authorise; a 429 or 5xx is passing.
      if (status >= 400) throw classifyPipedriveTokenFailure(status, text, headers);
      let body: { access_token?: unknown; expires_in?: unknown; refresh_token?: unknown } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      // A 2xx without a token (a proxy's page): an OAuth error code in it is a refusal, else it is passing.
      if (typeof body?.access_token !== 'string') throw classifyPipedriveTokenFailure(status, text, headers);
      if (typeof body.refresh_token === 'string' && body.refresh_token !== '') refreshToken = body.refresh_token;
      const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 3600;
      return { accessToken: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
    },
  });
}

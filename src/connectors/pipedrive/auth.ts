import { request, type Dispatcher } from 'undici';
import { SingleFlightTokenProvider, type AccessToken, type SharedTokenStore } from '../token-provider';
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
 * client credentials in HTTP Basic, `expires_in` and a `refresh_token` in the answer [P1]. A refresh
 * token once exchanged is refused [P12]: the one in the answer replaces it (and is stored).
 */
export function createOAuthTokens(
  auth: PipedriveOAuthAuth,
  dispatcher: Dispatcher,
  timeoutMs: number,
  shared: { store?: SharedTokenStore | undefined; now?: (() => number) | undefined; onRefreshed?: ((token: AccessToken) => Promise<void> | void) | undefined } = {},
): SingleFlightTokenProvider {
  const tokenUrl = auth.tokenUrl ?? PIPEDRIVE_API.defaultTokenUrl;
  return new SingleFlightTokenProvider({
    provider: 'pipedrive',
    initial: auth.accessToken,
    refreshToken: auth.refreshToken,
    store: shared.store,
    now: shared.now,
    onRefreshed: shared.onRefreshed,
    refresh: async (refreshToken = auth.refreshToken) => {
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
      const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 3600;
      return { accessToken: body.access_token, expiresInMs: expiresIn * 1000, refreshToken: typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined };
    },
  });
}

import { request, type Dispatcher } from 'undici';
import type { AccessToken } from '../token-provider';
import { SingleFlightTokenProvider } from '../token-provider';
import { networkFailure } from '../errors';
import { classifyPipedriveFailure } from './errors';
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
        text = await response.body.text();
      } catch (error) {
        throw networkFailure('pipedrive', error);
      }
      // A refused grant (400 invalid_grant, 401 invalid_client) is 'auth': re-authorise; 5xx stays transient.
      if (status >= 400) throw classifyPipedriveFailure(status, text);
      const body = JSON.parse(text) as { access_token: string; expires_in: number; refresh_token?: string };
      if (body.refresh_token) refreshToken = body.refresh_token;
      return { accessToken: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
    },
  });
}

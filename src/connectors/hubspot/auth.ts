import { Client } from '@hubspot/api-client';
import { ConnectorError } from '../errors';
import { SingleFlightTokenProvider, type AccessToken, type SharedTokenStore } from '../token-provider';
import { tokenFailure } from './errors';
import type { CallOptions } from './request-runner';
import { HUBSPOT_API } from './spec';

/** A private app's static token: never expires, never refreshed [H4]. */
export interface HubSpotPrivateAppAuth {
  kind: 'private-app';
  accessToken: string;
}

/** A public app's OAuth grant: refreshed with the refresh token, 30-minute access tokens [H5][H7]. */
export interface HubSpotOAuthAuth {
  kind: 'oauth';
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Default `{basePath}/oauth/v1/token`. Must end in `/oauth/v1/token` (the SDK's path). */
  tokenUrl?: string | undefined;
  /** A current access token, if the caller holds one. */
  accessToken?: AccessToken | undefined;
}

export type HubSpotAuth = HubSpotPrivateAppAuth | HubSpotOAuthAuth;

/**
 * Tokens for one connection, single-flight. OAuth refreshes go through the SDK's tokens API with
 * its retries off like every other call; HubSpot's refresh token does not rotate (the answer repeats
 * it [H49]), but the newest one it returns is kept (and stored) all the same.
 */
export function createTokenProvider(
  auth: HubSpotAuth,
  basePath: string,
  callOptions: () => CallOptions,
  shared: { store?: SharedTokenStore | undefined; now?: (() => number) | undefined; onRefreshed?: ((token: AccessToken) => Promise<void> | void) | undefined } = {},
): SingleFlightTokenProvider {
  if (auth.kind === 'private-app') {
    return new SingleFlightTokenProvider({
      provider: 'hubspot',
      initial: { accessToken: auth.accessToken, expiresAt: null },
      refresh: () => Promise.reject(new ConnectorError({ provider: 'hubspot', errorClass: 'auth', message: 'the private-app token was refused; it cannot be refreshed' })),
    });
  }
  const tokenUrl = auth.tokenUrl ?? `${basePath}${HUBSPOT_API.tokenPath}`;
  if (!tokenUrl.endsWith(HUBSPOT_API.tokenPath)) throw new Error(`tokenUrl must end in ${HUBSPOT_API.tokenPath}, got ${tokenUrl}`);
  const oauthClient = new Client({ basePath: tokenUrl.slice(0, -HUBSPOT_API.tokenPath.length), numberOfApiCallRetries: 0 });
  const tokensApi = oauthClient.oauth.tokensApi;
  return new SingleFlightTokenProvider({
    provider: 'hubspot',
    initial: auth.accessToken,
    refreshToken: auth.refreshToken,
    store: shared.store,
    now: shared.now,
    onRefreshed: shared.onRefreshed,
    refresh: async (refreshToken) => {
      try {
        // https://developers.hubspot.com/docs/api/oauth/tokens (POST /oauth/v1/token, grant_type=refresh_token)
        const response = await tokensApi.create('refresh_token', undefined, undefined, auth.clientId, auth.clientSecret, refreshToken ?? auth.refreshToken, callOptions());
        return { accessToken: response.accessToken, expiresInMs: response.expiresIn * 1000, refreshToken: response.refreshToken || undefined };
      } catch (error) {
        // A refused grant (400 BAD_REFRESH_TOKEN) is 'auth': re-authorise; a 429 or an outage is passing.
        throw tokenFailure(error);
      }
    },
  });
}

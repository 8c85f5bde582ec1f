import type { ConsentFlow } from '../consent-flow';
import { requiredRefreshToken, withoutRegion } from '../consent-flow';
import type { OAuthApps } from '../oauth-apps';
import { exchangeCode } from '../token-exchange';

type HubSpotApp = NonNullable<OAuthApps['hubspot']>;

/**
 * HubSpot's public-app OAuth [H64]: the install page at app.hubspot.com, the code exchanged at
 * `{api}/oauth/v1/token`. The refresh token does not rotate [H66]; the connector renews 30-minute
 * access tokens with it. Private-app tokens are still added with `connection add`.
 */
export function hubspotConsent(app: HubSpotApp): ConsentFlow {
  return {
    provider: 'hubspot',
    pkce: false,
    prepare(input) {
      return withoutRegion(input, 'HubSpot picks the account on its install page');
    },
    authorizationUrl(request) {
      const url = new URL(app.authorizeUrl);
      url.search = new URLSearchParams({ client_id: app.clientId, redirect_uri: request.redirectUri, scope: app.scope, state: request.state }).toString();
      return url;
    },
    async complete(callback, consent, redirectUri) {
      const tokenUrl = `${app.apiUrl}/oauth/v1/token`;
      const token = await exchangeCode(
        {
          issuer: app.apiUrl,
          tokenUrl,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          clientAuth: 'post',
          // HubSpot refuses with `{status, message}` (BAD_AUTH_CODE, BAD_REDIRECT_URI...) [H65].
          normaliseError: (status, body) =>
            status >= 400 && typeof body.status === 'string'
              ? { error: body.status === 'BAD_AUTH_CODE' ? 'invalid_grant' : body.status, error_description: typeof body.message === 'string' ? body.message : '' }
              : undefined,
        },
        callback,
        redirectUri,
        undefined,
      );
      return {
        settings: { ...consent.settings, basePath: app.apiUrl },
        credentials: {
          kind: 'oauth',
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          refreshToken: requiredRefreshToken(token.refreshToken, 'HubSpot'),
          tokenUrl,
          // Sealed with the rest: the connector configures the app's webhooks with it.
          ...(app.webhookApp ? { webhookApp: app.webhookApp } : {}),
        },
      };
    },
  };
}

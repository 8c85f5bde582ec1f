import type { ConsentFlow } from '../consent-flow';
import { requiredRefreshToken, requiredUrl, withoutRegion } from '../consent-flow';
import type { OAuthApps } from '../oauth-apps';
import { exchangeCode } from '../token-exchange';

type PipedriveApp = NonNullable<OAuthApps['pipedrive']>;

/**
 * Pipedrive's OAuth [P22]: consent at `oauth.pipedrive.com/oauth/authorize`, the code exchanged with
 * HTTP Basic client authentication; the answer's `api_domain` is the company's own API host, which
 * becomes the connection's `apiDomain`. Every refresh rotates the refresh token [P12].
 */
export function pipedriveConsent(app: PipedriveApp): ConsentFlow {
  const tokenUrl = `${app.oauthUrl}/oauth/token`;
  return {
    provider: 'pipedrive',
    pkce: false,
    prepare(input) {
      return withoutRegion(input, 'Pipedrive names the company domain in its token answer');
    },
    authorizationUrl(request) {
      const url = new URL(`${app.oauthUrl}/oauth/authorize`);
      url.search = new URLSearchParams({ client_id: app.clientId, redirect_uri: request.redirectUri, state: request.state }).toString();
      return url;
    },
    async complete(callback, consent, redirectUri) {
      const token = await exchangeCode(
        {
          issuer: app.oauthUrl,
          tokenUrl,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          clientAuth: 'basic',
          // Pipedrive words its refusals in `message` ("Invalid grant: authorization_code is invalid") [P23].
          normaliseError: (status, body) =>
            status >= 400 && typeof body.error === 'string' ? { error: body.error, ...(typeof body.message === 'string' ? { error_description: body.message } : {}) } : undefined,
        },
        callback,
        redirectUri,
        undefined,
      );
      return {
        settings: { ...consent.settings, apiDomain: requiredUrl(token.extra, 'api_domain', 'Pipedrive') },
        credentials: { kind: 'oauth', clientId: app.clientId, clientSecret: app.clientSecret, refreshToken: requiredRefreshToken(token.refreshToken, 'Pipedrive'), tokenUrl },
      };
    },
  };
}

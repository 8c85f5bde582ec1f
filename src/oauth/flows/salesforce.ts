import type { ConsentFlow } from '../consent-flow';
import { requiredRefreshToken, requiredUrl, withoutRegion } from '../consent-flow';
import type { OAuthApps } from '../oauth-apps';
import { exchangeCode } from '../token-exchange';

type SalesforceApp = NonNullable<OAuthApps['salesforce']>;

/**
 * Salesforce's web server flow with PKCE [S100]: consent at `{loginUrl}/services/oauth2/authorize`,
 * the code exchanged with the consumer secret and the verifier; the answer's `instance_url` is
 * where the org's API lives, and its refresh token (scope `refresh_token`) is what the connector
 * renews with (refresh_token grant; rotated when the app rotates them [S62]).
 */
export function salesforceConsent(app: SalesforceApp): ConsentFlow {
  const tokenUrl = `${app.loginUrl}/services/oauth2/token`;
  return {
    provider: 'salesforce',
    pkce: true,
    prepare(input) {
      return withoutRegion(input, 'a Salesforce org is found through its login URL');
    },
    authorizationUrl(request) {
      const url = new URL(`${app.loginUrl}/services/oauth2/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: request.redirectUri,
        scope: app.scope,
        state: request.state,
        code_challenge: request.codeChallenge ?? '',
        code_challenge_method: 'S256',
        prompt: 'consent',
      }).toString();
      return url;
    },
    async complete(callback, consent, redirectUri) {
      const token = await exchangeCode({ issuer: app.loginUrl, tokenUrl, clientId: app.clientId, clientSecret: app.clientSecret, clientAuth: 'post' }, callback, redirectUri, consent.codeVerifier);
      const instanceUrl = requiredUrl(token.extra, 'instance_url', 'Salesforce');
      const refreshToken = requiredRefreshToken(token.refreshToken, 'Salesforce', ': add the "Perform requests at any time (refresh_token, offline_access)" scope to the connected app');
      return {
        settings: { ...consent.settings, instanceUrl, loginUrl: app.loginUrl },
        credentials: { grant: 'refresh_token', clientId: app.clientId, clientSecret: app.clientSecret, refreshToken },
      };
    },
  };
}

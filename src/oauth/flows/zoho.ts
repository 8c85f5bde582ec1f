import type { ConsentFlow } from '../consent-flow';
import { ConsentInputError, ConsentRefusedError, requiredRefreshToken, requiredUrl } from '../consent-flow';
import { ZOHO_REGIONS, type OAuthApps, type ZohoRegion } from '../oauth-apps';
import { exchangeCode } from '../token-exchange';

type ZohoApp = NonNullable<OAuthApps['zoho']>;

/**
 * Zoho's multi-DC OAuth [Z34][Z35]: consent at the accounts server of the region asked for; the
 * redirect names the account's data centre (`location`) and its accounts server; the code is
 * exchanged there and nowhere else, and the answer's `api_domain` is where the API calls go. So an
 * EU account never touches a US host. A `location` other than the region asked for is refused
 * before any token request: the person re-runs connect with the right `--region`. The accounts
 * server must be the configured one for that region: the callback's URL is not trusted with the
 * client secret.
 */
export function zohoConsent(app: ZohoApp): ConsentFlow {
  return {
    provider: 'zoho',
    pkce: false,
    prepare(input) {
      const region = input.region ?? 'us';
      if (!(ZOHO_REGIONS as readonly string[]).includes(region)) throw new ConsentInputError(`--region must be one of ${ZOHO_REGIONS.join(', ')} for Zoho, got "${region}"`);
      return { ...input, region };
    },
    authorizationUrl(request) {
      const url = new URL(`${app.accountsServers[request.region as ZohoRegion]}/oauth/v2/auth`);
      url.search = new URLSearchParams({
        scope: app.scope,
        client_id: app.clientId,
        response_type: 'code',
        access_type: 'offline',
        prompt: 'consent',
        redirect_uri: request.redirectUri,
        state: request.state,
      }).toString();
      return url;
    },
    async complete(callback, consent, redirectUri) {
      const region = consent.region as ZohoRegion;
      if (!callback.has('error')) {
        const location = callback.get('location');
        if (location !== region) {
          throw new ConsentRefusedError('wrong_region', `the Zoho account is in the "${location ?? 'unknown'}" data centre, not "${region}"; run connect with --region ${location ?? '<region>'}`);
        }
        const accountsServer = callback.get('accounts-server')?.replace(/\/+$/, '');
        if (accountsServer !== app.accountsServers[region]) {
          throw new ConsentRefusedError('wrong_region', `the callback names accounts server ${accountsServer ?? '(none)'}, not ${app.accountsServers[region]} of the "${region}" data centre`);
        }
      }
      const accountsServer = app.accountsServers[region];
      const token = await exchangeCode(
        {
          issuer: accountsServer,
          tokenUrl: `${accountsServer}/oauth/v2/token`,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          clientAuth: 'post',
          // Zoho refuses grants with HTTP 200 and `{error}` [Z2]; invalid_code is RFC 6749's invalid_grant.
          normaliseError: (status, body) =>
            status === 200 && typeof body.error === 'string' && body.access_token === undefined ? { error: body.error === 'invalid_code' ? 'invalid_grant' : body.error } : undefined,
        },
        callback,
        redirectUri,
        undefined,
      );
      return {
        settings: { ...consent.settings, region, accountsServer, apiDomain: requiredUrl(token.extra, 'api_domain', 'Zoho') },
        credentials: { clientId: app.clientId, clientSecret: app.clientSecret, refreshToken: requiredRefreshToken(token.refreshToken, 'Zoho', ' (access_type=offline and prompt=consent were asked for)') },
      };
    },
  };
}

import type { ConsentFlow } from '../consent-flow';
import { ConsentInputError, ConsentRefusedError, withoutRegion } from '../consent-flow';
import type { OAuthApps } from '../oauth-apps';
import { refusalOf } from '../token-exchange';
import * as oauth from 'oauth4webapi';

type DynamicsApp = NonNullable<OAuthApps['dynamics']>;

/**
 * Dynamics 365 runs on client credentials, so there is no user token to obtain: an administrator
 * of the customer's Entra tenant grants the app tenant-wide at the v2.0 admin consent endpoint
 * [D57], which redirects with `admin_consent=True` and the `tenant` id. The connection then holds
 * that tenant id with the app's credentials, and the connector's client-credentials grant (MSAL)
 * takes it from there. The environment URL is the caller's (`--org-url`): Entra does not know it.
 */
export function dynamicsConsent(app: DynamicsApp): ConsentFlow {
  return {
    provider: 'dynamics',
    pkce: false,
    prepare(input) {
      withoutRegion(input, 'a Dynamics environment is named by --org-url');
      const orgUrl = input.settings.orgUrl;
      if (typeof orgUrl !== 'string' || !/^https:\/\/[^/]+\/?$/.test(orgUrl)) throw new ConsentInputError('Dynamics needs --org-url https://<org>.crm.dynamics.com (the environment URL)');
      return { ...input, settings: { ...input.settings, orgUrl: orgUrl.replace(/\/+$/, '') } };
    },
    authorizationUrl(request) {
      const url = new URL(`${app.authorityHost}/organizations/v2.0/adminconsent`);
      url.search = new URLSearchParams({ client_id: app.clientId, scope: `${String(request.settings.orgUrl)}/.default`, redirect_uri: request.redirectUri, state: request.state }).toString();
      return url;
    },
    async complete(callback, consent) {
      try {
        // The error half of RFC 6749's authorization response is what Entra sends on refusal [D58].
        oauth.validateAuthResponse({ issuer: app.authorityHost }, { client_id: app.clientId }, withCode(callback), oauth.skipStateCheck);
      } catch (error) {
        throw refusalOf(error);
      }
      const tenant = callback.get('tenant');
      if (callback.get('admin_consent') !== 'True' || !tenant || !/^[0-9a-f-]{36}$/i.test(tenant)) {
        throw new ConsentRefusedError('vendor', 'the admin consent redirect carried no admin_consent=True with a tenant id');
      }
      return {
        settings: { ...consent.settings, authorityHost: app.authorityHost },
        credentials: { tenantId: tenant, clientId: app.clientId, clientSecret: app.clientSecret, authority: `${app.authorityHost}/${tenant}` },
      };
    },
  };
}

/** validateAuthResponse wants a code on success; admin consent has none, so the check reads only its error. */
function withCode(callback: URLSearchParams): URLSearchParams {
  const copy = new URLSearchParams(callback);
  if (!copy.has('error')) copy.set('code', 'admin-consent');
  return copy;
}

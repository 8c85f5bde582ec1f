import { OAuth2 } from 'jsforce';
import type { Transport } from 'jsforce/lib/transport.js';
import { ConnectorError } from '../errors';
import { SingleFlightTokenProvider, type AccessToken } from '../token-provider';
import { isAbort } from './errors';
import { traced } from './transport';

/** How the connection obtains access tokens from the org's token endpoint. */
export type SalesforceGrant =
  | { grant: 'refresh_token'; clientId: string; clientSecret: string; refreshToken: string }
  | { grant: 'client_credentials'; clientId: string; clientSecret: string };

export interface SalesforceAuthOptions {
  /** Token endpoint host: `https://login.salesforce.com`, the My Domain, or the sandbox URL. */
  loginUrl: string;
  credentials: SalesforceGrant;
  /** A token still valid from an earlier run, to avoid a token request at start. */
  accessToken?: string | undefined;
  /** The org's instance moves (org migrations): every refresh answer says where it lives now. */
  onInstanceUrl: (instanceUrl: string) => void;
  onRefreshed?: ((token: AccessToken) => Promise<void> | void) | undefined;
  /** So token requests time out like every other call. */
  transport?: Transport | undefined;
}

/**
 * Tokens for one connection. Salesforce sends no `expires_in` [S5], so expiry is only learnt from a
 * 401 INVALID_SESSION_ID; refresh is single-flight so concurrent 401s cost one token request, and
 * jsforce's own refresh delegate is left out (it would retry a 401 without bound).
 */
export function createTokenProvider(options: SalesforceAuthOptions): SingleFlightTokenProvider {
  const { credentials } = options;
  const oauth2 = new OAuth2({ clientId: credentials.clientId, clientSecret: credentials.clientSecret, loginUrl: options.loginUrl });
  if (options.transport) oauth2._transport = options.transport;
  let refreshToken = credentials.grant === 'refresh_token' ? credentials.refreshToken : undefined;
  return new SingleFlightTokenProvider({
    provider: 'salesforce',
    initial: options.accessToken ? { accessToken: options.accessToken, expiresAt: null } : undefined,
    onRefreshed: options.onRefreshed,
    refresh: async () => {
      // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
      // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
      const outcome = await traced(() => (refreshToken ? oauth2.refreshToken(refreshToken) : oauth2.requestToken({ grant_type: 'client_credentials' })));
      if ('error' in outcome) throw tokenFailure(outcome.error, outcome.trace.status);
      const response = outcome.value;
      if (response.refresh_token) refreshToken = response.refresh_token;
      if (response.instance_url) options.onInstanceUrl(response.instance_url);
      return { accessToken: response.access_token, expiresAt: null };
    },
  });
}

/**
 * A refused grant (a 4xx OAuth error such as invalid_grant) needs re-authorisation; a token
 * endpoint answering 5xx, or not answering at all, is a passing outage and is retried like any call.
 */
function tokenFailure(error: unknown, status: number | undefined): ConnectorError {
  const message = error instanceof Error ? error.message : String(error);
  const vendorCode = error instanceof Error && error.name && error.name !== 'Error' ? error.name : undefined;
  if (status === undefined || status >= 500) {
    const what = status === undefined ? `no answer (${isAbort(error) ? 'request aborted' : message})` : `HTTP ${status}`;
    return new ConnectorError({ provider: 'salesforce', errorClass: 'transient', message: `token request failed: ${what}`, vendorCode, status }, { cause: error });
  }
  return new ConnectorError({ provider: 'salesforce', errorClass: 'auth', message: `token request refused: ${message}`, vendorCode, status }, { cause: error });
}

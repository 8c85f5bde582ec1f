import { OAuth2 } from 'jsforce';
import type { Transport } from 'jsforce/lib/transport.js';
import { ConnectorError } from '../errors';
import { SingleFlightTokenProvider, type AccessToken } from '../token-provider';

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
      try {
        // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
        // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
        const response = refreshToken ? await oauth2.refreshToken(refreshToken) : await oauth2.requestToken({ grant_type: 'client_credentials' });
        if (response.refresh_token) refreshToken = response.refresh_token;
        if (response.instance_url) options.onInstanceUrl(response.instance_url);
        return { accessToken: response.access_token, expiresAt: null };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const vendorCode = error instanceof Error && error.name !== 'Error' ? error.name : undefined;
        throw new ConnectorError({ provider: 'salesforce', errorClass: 'auth', message: `token request refused: ${message}`, vendorCode }, { cause: error });
      }
    },
  });
}

import { OAuth2 } from 'jsforce';
import type { Transport } from 'jsforce/lib/transport.js';
import { classifyTokenFailure, ConnectorError, parseRetryAfter } from '../errors';
import { SingleFlightTokenProvider, type AccessToken, type SharedTokenStore } from '../token-provider';
import { isAbort } from './errors';
import { salesforceSpec } from './spec';
import { traced, type CallTrace } from './transport';

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
  /** Shares the tokens with every worker (see ConnectorBaseOptions.tokenStore). */
  store?: SharedTokenStore | undefined;
  now?: (() => number) | undefined;
  /** So token requests time out like every other call. */
  transport?: Transport | undefined;
}

/**
 * Tokens for one connection. Salesforce sends no `expires_in` [S5], so expiry is only learnt from a
 * 401 INVALID_SESSION_ID; refresh is single-flight so concurrent 401s cost one token request, and
 * jsforce's own refresh delegate is left out (it would retry a 401 without bound). A connected app
 * with refresh token rotation on answers every refresh with a new refresh token and invalidates the
 * one used [S62]: the provider keeps (and stores) the newest.
 */
export function createTokenProvider(options: SalesforceAuthOptions): SingleFlightTokenProvider {
  const { credentials } = options;
  const oauth2 = new OAuth2({ clientId: credentials.clientId, clientSecret: credentials.clientSecret, loginUrl: options.loginUrl });
  if (options.transport) oauth2._transport = options.transport;
  return new SingleFlightTokenProvider({
    provider: 'salesforce',
    initial: options.accessToken ? { accessToken: options.accessToken, expiresAt: null } : undefined,
    refreshToken: credentials.grant === 'refresh_token' ? credentials.refreshToken : undefined,
    store: options.store,
    now: options.now,
    onRefreshed: options.onRefreshed,
    // Every worker taking a token stored by another moves to the instance it names.
    onToken: (token) => {
      if (token.apiBase) options.onInstanceUrl(token.apiBase);
    },
    refresh: async (refreshToken) => {
      // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
      // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
      const outcome = await traced(() =>
        credentials.grant === 'refresh_token' ? oauth2.refreshToken(refreshToken ?? credentials.refreshToken) : oauth2.requestToken({ grant_type: 'client_credentials' }),
      );
      if ('error' in outcome) throw tokenFailure(outcome.error, outcome.trace);
      // jsforce hands back whatever parsed (or undefined) for a 2xx: without a token it is no answer we can use.
      const response = outcome.value as Partial<typeof outcome.value> | undefined;
      if (typeof response?.access_token !== 'string') {
        throw classifyTokenFailure('salesforce', salesforceSpec.tokenErrorRules, { status: outcome.trace.status ?? 200, message: 'the answer holds no access token' });
      }
      return { accessToken: response.access_token, expiresInMs: null, refreshToken: response.refresh_token || undefined, apiBase: response.instance_url || undefined };
    },
  });
}

/**
 * A token request that got no answer (refused, reset, aborted at the timeout) is transient; an
 * answer is classified by the shared token rules: a refused grant (invalid_grant, invalid_client…)
 * needs re-authorisation, a throttled (429, the concurrent-refresh refusal) or failing (5xx) token
 * endpoint is passing. jsforce names the error after the OAuth `error` code, or `ERROR_HTTP_<status>`
 * when the body is none (the status already says that).
 */
function tokenFailure(error: unknown, trace: CallTrace): ConnectorError {
  const message = error instanceof Error ? error.message : String(error);
  if (trace.status === undefined) {
    const what = isAbort(error) ? 'request aborted' : message;
    return new ConnectorError({ provider: 'salesforce', errorClass: 'transient', message: `token request failed: no answer (${what})` }, { cause: error });
  }
  const name = error instanceof Error ? error.name : undefined;
  const vendorCode = name && name !== 'Error' && !/^ERROR_HTTP_\d+$/.test(name) ? name : undefined;
  return classifyTokenFailure(
    'salesforce',
    salesforceSpec.tokenErrorRules,
    { status: trace.status, vendorCode, message: message || `HTTP ${trace.status}`, retryAfterMs: parseRetryAfter(trace.headers?.['retry-after']) },
    { cause: error },
  );
}

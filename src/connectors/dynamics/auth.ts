import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { request, type Dispatcher } from 'undici';
import { ConnectorError } from '../errors';
import type { AccessToken } from '../token-provider';
import { dynamicsSpec } from './spec';

export interface ClientCredentials {
  /** `https://login.microsoftonline.com/<tenant>` (or the sandbox's `<url>/<tenant>`). */
  authority: string;
  clientId: string;
  clientSecret: string;
  /** `https://<org>.crm.dynamics.com/.default` [D2]. */
  scope: string;
}

/**
 * MSAL's HTTP goes through the connection's own undici Agent: the same keep-alive pool, the same
 * private CA for a self-signed test authority, and no process-wide TLS switch.
 */
function undiciNetworkModule(dispatcher: Dispatcher, timeoutMs: number): INetworkModule {
  const send = async <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const response = await request(url, {
      method,
      dispatcher,
      headers: options?.headers ?? {},
      ...(options?.body !== undefined ? { body: options.body } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await response.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = { error: 'invalid_response', error_description: text.slice(0, 200) };
    }
    return { status: response.statusCode, headers, body: body as T };
  };
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

/**
 * Client-credentials tokens from Entra ID through MSAL [D2]. MSAL caches tokens itself, but the
 * connector's SingleFlightTokenProvider owns caching and expiry; asking MSAL only when a token
 * is missing, expiring or refused (401), so every ask skips MSAL's cache: after a 401 its cached
 * token is exactly the one the server just rejected.
 */
export function createTokenSource(credentials: ClientCredentials, dispatcher: Dispatcher, timeoutMs: number): () => Promise<AccessToken> {
  const authorityHost = new URL(credentials.authority).host;
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      authority: credentials.authority,
      // A known authority skips instance discovery at login.microsoftonline.com, so sovereign
      // clouds and the sandbox resolve their own OpenID metadata.
      knownAuthorities: [authorityHost],
    },
    system: {
      networkClient: undiciNetworkModule(dispatcher, timeoutMs),
      // Retries are the activity's job; a refused grant must surface once, at once.
      disableInternalRetries: true,
    },
  });
  return async () => {
    try {
      // https://learn.microsoft.com/entra/msal/node/ (client credentials flow) [D2]
      const result = await app.acquireTokenByClientCredential({ scopes: [credentials.scope], skipCache: true });
      if (!result?.accessToken) throw new Error('the token endpoint returned no access token');
      return { accessToken: result.accessToken, expiresAt: result.expiresOn ? result.expiresOn.getTime() : null };
    } catch (error) {
      if (error instanceof ConnectorError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const code = (error as { errorCode?: unknown }).errorCode;
      // MSAL wraps transport failures as network errors; anything else is a refused grant.
      const transient = code === 'network_error' || /ECONNREFUSED|ECONNRESET|timeout/i.test(message);
      throw new ConnectorError(
        { provider: dynamicsSpec.provider, errorClass: transient ? 'transient' : 'auth', message: `token request failed: ${message}`, ...(typeof code === 'string' ? { vendorCode: code } : {}) },
        { cause: error },
      );
    }
  };
}

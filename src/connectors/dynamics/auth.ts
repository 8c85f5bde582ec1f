import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { request, type Dispatcher } from 'undici';
import { classifyTokenFailure, ConnectorError, networkFailure, parseRetryAfter } from '../errors';
import type { IssuedToken } from '../token-provider';
import { dynamicsSpec } from './spec';

export interface ClientCredentials {
  /** `https://login.microsoftonline.com/<tenant>` (or the sandbox's `<url>/<tenant>`). */
  authority: string;
  clientId: string;
  clientSecret: string;
  /** `https://<org>.crm.dynamics.com/.default` [D2]. */
  scope: string;
}

/** What Entra answered a request (status, headers, body), for classifying a failed token request. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: { error?: unknown; error_description?: unknown };
}

/** The answer to MSAL's latest request, or none if it got none (or has not asked yet). */
class LastAnswer {
  private answer: Answer | undefined;

  get(): Answer | undefined {
    return this.answer;
  }

  set(answer: Answer | undefined): void {
    this.answer = answer;
  }
}

/**
 * MSAL's HTTP goes through the connection's own undici Agent: the same keep-alive pool, the same
 * private CA for a self-signed test authority, and no process-wide TLS switch. `seen` gets every
 * answer (cleared before each request), so a failure can be classified by what Entra said: MSAL's
 * errors keep the status at best, never the Retry-After.
 */
function undiciNetworkModule(dispatcher: Dispatcher, timeoutMs: number, seen: LastAnswer): INetworkModule {
  const send = async <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    seen.set(undefined);
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
    let body: Answer['body'];
    try {
      body = text === '' ? {} : (JSON.parse(text) as Answer['body']);
    } catch {
      body = { error: 'invalid_response', error_description: text.slice(0, 200) };
    }
    seen.set({ status: response.statusCode, headers, body });
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
export function createTokenSource(credentials: ClientCredentials, dispatcher: Dispatcher, timeoutMs: number): () => Promise<IssuedToken> {
  const authorityHost = new URL(credentials.authority).host;
  const seen = new LastAnswer();
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
      networkClient: undiciNetworkModule(dispatcher, timeoutMs, seen),
      // Retries are the activity's job; a refused grant must surface once, at once.
      disableInternalRetries: true,
    },
  });
  return async () => {
    try {
      // MSAL remembers a 429 or 5xx and refuses every request locally until Retry-After (60 s
      // without one), answering with the old error and no status. Backoff is the activity's job,
      // with Entra's Retry-After as retryAfterMs: forget it (clearCache keeps authority metadata).
      app.clearCache();
      seen.set(undefined);
      // https://learn.microsoft.com/entra/msal/node/ (client credentials flow) [D2]
      const result = await app.acquireTokenByClientCredential({ scopes: [credentials.scope], skipCache: true });
      if (!result?.accessToken) {
        throw classifyTokenFailure(dynamicsSpec.provider, [], { status: seen.get()?.status ?? 200, message: 'the answer holds no access token' });
      }
      return { accessToken: result.accessToken, expiresInMs: result.expiresOn ? Math.max(0, result.expiresOn.getTime() - Date.now()) : null };
    } catch (error) {
      throw tokenFailure(error, seen.get());
    }
  };
}

/**
 * A failed token request, classified by what Entra answered (the shared token rules: 429
 * rate-limited with Retry-After, 5xx / `temporarily_unavailable` transient, an `AADSTS` refusal
 * such as `invalid_client` auth). With no answer, MSAL's network failure (refused, reset, timeout)
 * is transient; anything else MSAL refused before asking (its configuration) is auth.
 */
function tokenFailure(error: unknown, answer: Answer | undefined): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { errorCode?: unknown } | undefined)?.errorCode;
  const msalCode = typeof code === 'string' && code !== '' ? code : undefined;
  if (!answer) {
    if (msalCode === 'network_error' || /ECONNREFUSED|ECONNRESET|timeout/i.test(message)) return networkFailure(dynamicsSpec.provider, error);
    return new ConnectorError({ provider: dynamicsSpec.provider, errorClass: 'auth', message: `token request failed: ${message}`, vendorCode: msalCode }, { cause: error });
  }
  const vendorCode = typeof answer.body.error === 'string' && answer.body.error !== '' && answer.body.error !== 'invalid_response' ? answer.body.error : undefined;
  return classifyTokenFailure(
    dynamicsSpec.provider,
    [],
    // MSAL's message names the AADSTS code and Entra's description.
    { status: answer.status, vendorCode, message, retryAfterMs: parseRetryAfter(answer.headers['retry-after']) },
    { cause: error },
  );
}

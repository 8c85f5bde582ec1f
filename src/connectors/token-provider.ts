import type { CrmProvider } from '../model/identifiers';
import { ConnectorError } from './errors';

export interface AccessToken {
  accessToken: string;
  /** Epoch ms; null when the vendor does not say (Salesforce) and only a 401 tells. */
  expiresAt: number | null;
}

export interface TokenProviderOptions {
  provider: CrmProvider;
  /**
   * Obtains a new token (refresh grant, client credentials…). Throws a ConnectorError classified by
   * `classifyTokenFailure`: 'auth' only when the grant is refused.
   */
  refresh: () => Promise<AccessToken>;
  initial?: AccessToken | undefined;
  /** Refresh this long before expiry, so a call never starts with a token about to lapse. */
  refreshSkewMs?: number;
  /** Called after every refresh, e.g. to persist a rotated refresh token. */
  onRefreshed?: (token: AccessToken) => Promise<void> | void;
  now?: () => number;
}

/**
 * Access tokens for one connection, refreshed single-flight: however many calls find the token
 * expired at once, one refresh runs and all of them wait for it. Two refreshes racing would
 * invalidate each other at vendors that rotate refresh tokens.
 */
export class SingleFlightTokenProvider {
  private current: AccessToken | undefined;
  private inFlight: Promise<AccessToken> | undefined;
  private refreshes = 0;
  private readonly now: () => number;

  constructor(private readonly options: TokenProviderOptions) {
    this.current = options.initial;
    this.now = options.now ?? Date.now;
  }

  /** How many refreshes actually ran (tests and metrics). */
  get refreshCount(): number {
    return this.refreshes;
  }

  async token(): Promise<string> {
    const current = this.current;
    if (current && (current.expiresAt === null || current.expiresAt - (this.options.refreshSkewMs ?? 60_000) > this.now())) {
      return current.accessToken;
    }
    return (await this.refreshOnce()).accessToken;
  }

  /**
   * After a 401 with `rejected`: refresh unless another caller already replaced that token, and
   * return the token to retry with.
   */
  async replace(rejected: string): Promise<string> {
    if (this.current && this.current.accessToken !== rejected) return this.current.accessToken;
    return (await this.refreshOnce()).accessToken;
  }

  private refreshOnce(): Promise<AccessToken> {
    this.inFlight ??= (async () => {
      try {
        this.refreshes += 1;
        const token = await this.options.refresh();
        this.current = token;
        await this.options.onRefreshed?.(token);
        return token;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}

/**
 * Runs `call` with a token; on an auth failure refreshes exactly once and retries once. A second
 * auth failure, or a refused refresh, surfaces as 'auth': the connection needs re-authorisation.
 * The refresh classified its own failure (`classifyTokenFailure`) and it is kept as it is: a token
 * endpoint that throttled, failed or did not answer is rate-limited / transient, the grant is still
 * good and the call is retried later. Only an unclassified error is taken for a refusal.
 */
export async function withFreshToken<T>(tokens: SingleFlightTokenProvider, provider: CrmProvider, call: (token: string) => Promise<T>): Promise<T> {
  const token = await tokens.token();
  try {
    return await call(token);
  } catch (error) {
    if (!(error instanceof ConnectorError) || error.errorClass !== 'auth') throw error;
    let fresh: string;
    try {
      fresh = await tokens.replace(token);
    } catch (refreshError) {
      if (refreshError instanceof ConnectorError) throw refreshError;
      const message = refreshError instanceof Error ? refreshError.message : String(refreshError);
      throw new ConnectorError({ provider, errorClass: 'auth', message: `token refresh failed: ${message}` }, { cause: refreshError });
    }
    return call(fresh);
  }
}

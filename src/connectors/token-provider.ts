import type { CrmProvider } from '../model/identifiers';
import { recordTokenRefresh } from '../observability/metrics';
import { ConnectorError } from './errors';

export interface AccessToken {
  accessToken: string;
  /** Epoch ms; null when the vendor does not say (Salesforce) and only a 401 tells. */
  expiresAt: number | null;
}

/** What a token endpoint answered, as a connector read it. */
export interface IssuedToken {
  accessToken: string;
  /** How long the token lives (the answer's `expires_in`); null when the vendor does not say. */
  expiresInMs: number | null;
  /** The refresh token the answer carried: a vendor that rotates refresh tokens refuses the one just used. */
  refreshToken?: string | undefined;
  /** Where this token's calls go when the answer names it (Salesforce `instance_url`, Zoho `api_domain`). */
  apiBase?: string | undefined;
}

/** A connection's grant as every worker shares it: the access token and what renews it. */
export interface ConnectionToken extends AccessToken {
  /** Epoch ms of the refresh that issued it, on the provider's clock; unknown for a token handed in. */
  issuedAt?: number | undefined;
  /** The newest refresh token (absent for grants without one: client credentials). */
  refreshToken?: string | undefined;
  apiBase?: string | undefined;
}

/**
 * Where a connection's token is shared by every worker process (PostgreSQL:
 * src/store/connection-tokens-repository.ts).
 */
export interface SharedTokenStore {
  /** The stored token, without waiting for anyone. */
  read(): Promise<ConnectionToken | undefined>;
  /**
   * Runs `work` holding the connection's token lock, which one caller in all processes holds at a
   * time. `work` gets the stored token and returns the one to keep; it is stored (sealed) before the
   * lock is released, so a rotated refresh token is persisted before anyone can use it. Returning
   * the stored token itself stores nothing.
   */
  update(work: (stored: ConnectionToken | undefined) => Promise<ConnectionToken>): Promise<ConnectionToken>;
}

export interface TokenProviderOptions {
  provider: CrmProvider;
  /**
   * Obtains a new token with the newest refresh token known (undefined for grants without one:
   * client credentials). Throws a ConnectorError classified by `classifyTokenFailure`: 'auth' only
   * when the grant is refused. Never puts the refresh token or a client secret in an error.
   */
  refresh: (refreshToken: string | undefined) => Promise<IssuedToken>;
  /** The refresh token the connection's credentials hold (the stored one, if any, is newer). */
  refreshToken?: string | undefined;
  initial?: AccessToken | undefined;
  /** Shares the token with every other worker; without it the token is this process's alone. */
  store?: SharedTokenStore | undefined;
  /** Refresh this long before expiry (at most a quarter of the token's life), so a call never starts with a token about to lapse. */
  refreshSkewMs?: number;
  /** Every token taken into use, refreshed here or by another worker: applies its `apiBase`. */
  onToken?: ((token: ConnectionToken) => void) | undefined;
  /** Called after every refresh this provider made, once the token is stored. */
  onRefreshed?: ((token: AccessToken) => Promise<void> | void) | undefined;
  now?: (() => number) | undefined;
}

export const DEFAULT_REFRESH_SKEW_MS = 60_000;

/**
 * Whether a token must be renewed before a call: missing, or within the skew of its expiry. The
 * skew is capped at a quarter of the token's life, so a short-lived token is still used for most
 * of it instead of being renewed on every call.
 */
export function needsRenewal(token: ConnectionToken | undefined, now: number, skewMs: number): boolean {
  if (!token) return true;
  if (token.expiresAt === null) return false;
  const life = token.issuedAt === undefined ? Number.POSITIVE_INFINITY : token.expiresAt - token.issuedAt;
  return token.expiresAt - Math.min(skewMs, life / 4) <= now;
}

/**
 * Access tokens for one connection, refreshed single-flight: however many calls find the token
 * expired at once, one refresh runs and all of them wait for it. With a shared store the flight is
 * single across processes too: the refresh runs under the connection's lock, after reading the
 * stored token again, so of all workers finding a token near expiry exactly one asks the vendor and
 * the others take what it stored. Two refreshes racing would invalidate each other at vendors that
 * rotate refresh tokens.
 */
export class SingleFlightTokenProvider {
  private current: ConnectionToken | undefined;
  private refreshToken: string | undefined;
  private inFlight: Promise<ConnectionToken> | undefined;
  private refreshes = 0;
  private readonly now: () => number;
  private readonly skewMs: number;

  constructor(private readonly options: TokenProviderOptions) {
    this.current = options.initial;
    this.refreshToken = options.refreshToken;
    this.now = options.now ?? Date.now;
    this.skewMs = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
  }

  /** How many refreshes this provider actually ran (tests and metrics). */
  get refreshCount(): number {
    return this.refreshes;
  }

  async token(): Promise<string> {
    if (this.current && !needsRenewal(this.current, this.now(), this.skewMs)) return this.current.accessToken;
    return (await this.renew(undefined)).accessToken;
  }

  /**
   * After a 401 with `rejected`: renew unless another caller (in any process) already replaced
   * that token, and return the token to retry with.
   */
  async replace(rejected: string): Promise<string> {
    if (this.current && this.current.accessToken !== rejected && !needsRenewal(this.current, this.now(), this.skewMs)) return this.current.accessToken;
    return (await this.renew(rejected)).accessToken;
  }

  private async renew(rejected: string | undefined): Promise<ConnectionToken> {
    // A renewal already in flight may have been started for another reason and end with the very
    // token that was rejected (taken from the store): then renew again, for this caller's reason.
    const joined = this.inFlight;
    if (joined) {
      const token = await joined;
      if (token.accessToken !== rejected) return token;
    }
    this.inFlight ??= this.renewOnce(rejected).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async renewOnce(rejected: string | undefined): Promise<ConnectionToken> {
    const usable = (token: ConnectionToken | undefined): token is ConnectionToken =>
      token !== undefined && token.accessToken !== rejected && !needsRenewal(token, this.now(), this.skewMs);
    const store = this.options.store;
    if (!store) return this.adopt(await this.issue(this.current), true);
    let refreshed = false;
    let vendorFailure: unknown;
    try {
      // Another worker may have renewed it already: a read costs less than waiting for the lock.
      const seen = await store.read();
      if (usable(seen)) return await this.adopt(seen, false);
      const token = await store.update(async (stored) => {
        if (usable(stored)) return stored;
        refreshed = true;
        return this.issue(stored ?? this.current).catch((error: unknown) => {
          vendorFailure = error;
          throw error;
        });
      });
      return await this.adopt(token, refreshed);
    } catch (error) {
      // The vendor's answer was classified where it was read; a store that failed is passing, never
      // a refused grant (withFreshToken takes an unclassified error for one).
      if (error === vendorFailure || error instanceof ConnectorError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new ConnectorError({ provider: this.options.provider, errorClass: 'transient', message: `token store failed: ${message}` }, { cause: error });
    }
  }

  /** Asks the vendor, with the newest refresh token known; keeps what the answer does not replace. */
  private async issue(base: ConnectionToken | undefined): Promise<ConnectionToken> {
    const refreshToken = base?.refreshToken ?? this.refreshToken;
    this.refreshes += 1;
    const issuedAt = this.now();
    const answer = await this.options.refresh(refreshToken).catch((error: unknown) => {
      // withFreshToken's rule: a throttled or failed token endpoint is classified so; anything else is a refused grant.
      recordTokenRefresh(this.options.provider, error instanceof ConnectorError && error.errorClass !== 'auth' ? 'failed' : 'refused');
      throw error;
    });
    recordTokenRefresh(this.options.provider, 'ok');
    return {
      accessToken: answer.accessToken,
      issuedAt,
      expiresAt: answer.expiresInMs === null ? null : issuedAt + answer.expiresInMs,
      refreshToken: answer.refreshToken ?? refreshToken,
      apiBase: answer.apiBase ?? base?.apiBase,
    };
  }

  private async adopt(token: ConnectionToken, refreshed: boolean): Promise<ConnectionToken> {
    this.current = token;
    if (token.refreshToken !== undefined) this.refreshToken = token.refreshToken;
    this.options.onToken?.(token);
    if (refreshed) await this.options.onRefreshed?.({ accessToken: token.accessToken, expiresAt: token.expiresAt });
    return token;
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

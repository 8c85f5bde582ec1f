import type pg from 'pg';
import type { RateWindowPolicy } from './rate-budget';
import type { AccessToken, SharedTokenStore } from './token-provider';

/** What every connector factory takes besides its vendor's settings and credentials. */
export interface ConnectorBaseOptions {
  connectionId: string;
  /** The tenant's mapping override (JSON as stored with the connection); validated at creation. */
  mappingOverride?: unknown;
  /** Shares rate-budget counters across workers; omitted = an in-process budget. */
  pool?: pg.Pool | undefined;
  /** Replaces the vendor's default windows (e.g. a bigger HubSpot tier); false = no client-side budget. */
  rateLimits?: readonly RateWindowPolicy[] | false;
  /** Longest a call waits for the budget before failing rate-limited. Default 30 s. */
  maxBudgetWaitMs?: number;
  /** How far listChanges reaches back before its watermark (clock skew, late commits). Default 5 min. */
  lookbackMs?: number;
  /** Per-request timeout; a request that takes longer fails transient. Default 60 s. */
  requestTimeoutMs?: number;
  /**
   * Shares the connection's OAuth tokens with every worker (sealed in PostgreSQL): the refresh runs
   * in one process under the connection's lock and a rotated refresh token is stored before it is
   * used. Omitted = tokens of this connector alone (tests, the CLI's one-off checks).
   */
  tokenStore?: SharedTokenStore | undefined;
  /** The clock token expiry is judged by. Default `Date.now`; tests share the sandbox's. */
  tokenClock?: (() => number) | undefined;
  /** Called after each token refresh this connector made, once the token is stored. */
  onTokenRefreshed?: (token: AccessToken) => Promise<void> | void;
}

export const DEFAULT_LOOKBACK_MS = 5 * 60_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

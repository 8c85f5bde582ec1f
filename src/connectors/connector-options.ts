import type pg from 'pg';
import type { RateWindowPolicy } from './rate-budget';
import type { AccessToken } from './token-provider';

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
  /** Called after each token refresh, e.g. to persist a rotated refresh token (sealed). */
  onTokenRefreshed?: (token: AccessToken) => Promise<void> | void;
}

export const DEFAULT_LOOKBACK_MS = 5 * 60_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

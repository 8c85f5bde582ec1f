import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Activity option presets, the only place retry policies live (architecture §3). Transient
 * failures back off 1 s, 4 s, 16 s, 64 s, 256 s, then the activity fails and the workflow parks
 * what it carried. Rate-limited and quota failures wait as long as the vendor asked
 * (ApplicationFailure.nextRetryDelay overrides the backoff). Classes that retrying cannot fix
 * fail at once.
 */
const notRetried = ['validation', 'auth', 'not-found', 'conflict', 'permission'];

const backoff = {
  initialInterval: '1s',
  backoffCoefficient: 4,
  maximumInterval: '256s',
  maximumAttempts: 6,
  nonRetryableErrorTypes: notRetried,
} as const;

/** Reads from a CRM (changes, records): short. */
export const crmRead: ActivityOptions = { startToCloseTimeout: '2m', retry: backoff };

/**
 * The connection workflow's reads of its own CRM: a spent quota fails at once instead of waiting
 * out the vendor's hint inside the activity (hours, invisible), so the workflow can show
 * `quota-paused` and wait on its own timer (connection-sync/failures.ts, readFromSource). These
 * reads heartbeat while they run (sync-activities.ts): a read lost with its worker is retried after
 * 30 s, not after the 2 minutes its connection's poll would otherwise stall.
 */
export const crmReadPausingOnQuota: ActivityOptions = { ...crmRead, heartbeatTimeout: '30s', retry: { ...backoff, nonRetryableErrorTypes: [...notRetried, 'quota-exhausted'] } };

/**
 * One bounded read of a change log (it waits 5 s at most): a read lost with its worker is tried
 * again after 30 s, not after a read's 2 minutes, so a crashed worker stalls the log that long at most.
 */
export const changeLogRead: ActivityOptions = { startToCloseTimeout: '30s', retry: backoff };

/**
 * Writes to a CRM: a batch through the vendor's batch API, budget waits included. The activity
 * heartbeats while it works (keepalive.ts): a write lost with its worker is retried after 30 s,
 * not after the 5 minutes a batch may take.
 */
export const crmWrite: ActivityOptions = { startToCloseTimeout: '5m', heartbeatTimeout: '30s', retry: backoff };

/** Our own database: fast, retried briefly. */
export const storeCall: ActivityOptions = { startToCloseTimeout: '30s', retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumAttempts: 10 } };

/**
 * Inside one bulk page attempt: a chunk write that failed as a whole with a passing failure is
 * tried again in place after these delays (or the vendor's Retry-After, capped), before the attempt
 * fails. The page's attempts (below) do not reset when an attempt makes progress, so at a steady
 * 10-15% of failed vendor calls a page of many chunks would otherwise exhaust them while advancing.
 */
export const bulkChunkRetry = { delaysMs: [250, 1000, 2000, 4000], maxDelayMs: 15_000, classes: ['transient', 'rate-limited'] } as const;

/** One bulk page (read a page, write it to targets): long, heartbeating its cursor. */
export const bulkPage: ActivityOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '1m', retry: backoff };

/** Calls to the Temporal frontend (the supervisor's reconcile pass): a minute, retried briefly. */
export const temporalCall: ActivityOptions = { startToCloseTimeout: '1m', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 } };

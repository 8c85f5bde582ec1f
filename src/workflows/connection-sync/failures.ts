import { ActivityFailure, ApplicationFailure, isCancellation, patched } from '@temporalio/workflow';
import type { SyncConfig } from '../../activities/sync-activities';
import type { ConnectorErrorInfo } from '../../connectors/errors';
import type { ConnectionSyncState } from '../connection-sync-state';

/** Marks runs that pause on this CRM's spent quota (quota-paused) instead of counting it a poll error. */
const QUOTA_PAUSE_PATCH = 'quota-pause';

/** How long a quota pause lasts when the vendor gave no hint (Salesforce's own default, connectors/salesforce/spec.ts). */
const DEFAULT_QUOTA_PAUSE_MS = 15 * 60_000;

/**
 * Reads from this connection's CRM. An auth failure (refresh already tried by the connector)
 * puts the connection in needs-reauth, a spent quota pauses it until the vendor's hint: both
 * return undefined, and the caller keeps what it had.
 */
export async function readFromSource<T>(state: ConnectionSyncState, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const type = failureType(error);
    if (type === 'quota-exhausted' && patched(QUOTA_PAUSE_PATCH)) {
      state.quotaPausedUntil = new Date(Date.now() + (retryAfterMs(error) ?? DEFAULT_QUOTA_PAUSE_MS)).toISOString();
      return undefined;
    }
    if (type !== 'auth') throw error;
    state.needsReauth = true;
    return undefined;
  }
}

function retryAfterMs(error: unknown): number | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (!(cause instanceof ApplicationFailure)) return undefined;
  const hinted = (cause.details?.[0] as Partial<ConnectorErrorInfo> | undefined)?.retryAfterMs;
  return typeof hinted === 'number' && hinted > 0 ? hinted : undefined;
}

/** Marks runs that outlive a failed call to crm-sync's own database (fromStore) instead of failing on it. */
const STORE_OUTAGE_PATCH = 'store-outage';

export type StoreAnswer<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Calls crm-sync's own database (a store activity). One that still fails after its retries
 * (PostgreSQL unreachable for longer than they last) must not fail the run: the supervisor would
 * restart it empty, and the parked records, held deletions and watermarks only its state holds
 * would be gone. The caller gets the error instead, keeps what it had and tries again at a later
 * pass. `patched`: a run that failed this way before the patch replays as it ran.
 */
export async function fromStore<T>(call: () => Promise<T>): Promise<StoreAnswer<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    // Only the activity's own failure: a bug here or a cancellation still ends the task or run.
    if (!(error instanceof ActivityFailure) || isCancellation(error) || !patched(STORE_OUTAGE_PATCH)) throw error;
    return { ok: false, error: error.cause?.message ?? error.message };
  }
}

function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** A whole-batch failure (a read of this connection or a write to a peer) as parked-record data: the connector's own info when it classified it. */
export function failureInfo(error: unknown, peer: { connectionId: string; provider: SyncConfig['provider'] }): ConnectorErrorInfo {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const classified = cause instanceof ApplicationFailure ? (cause.details?.[0] as Partial<ConnectorErrorInfo> | undefined) : undefined;
  // Mapping failures are classified outside any connector and carry no provider.
  if (classified?.errorClass) return { ...classified, errorClass: classified.errorClass, message: classified.message ?? '', provider: classified.provider ?? peer.provider };
  const message = cause instanceof Error ? cause.message : String(error);
  return { provider: peer.provider, errorClass: 'transient', message: `${peer.connectionId}: ${message}` };
}

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { storeCall } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { fromStore } from './failures';
import { retryRef } from './parked-records';

const store = proxyActivities<Activities>(storeCall);

/** Changes per flush activity: a flush's input stays far below Temporal's payload limit (records of about 1 KiB). */
const FLUSH_CHUNK = 500;

/**
 * Writes what overflowed the in-state window to PostgreSQL. Returns false when the store could not
 * take it: the changes wait in state for the next flush, and the run does not continue as new
 * until they are written (they would ride in its input).
 */
export async function flushParked(state: ConnectionSyncState): Promise<boolean> {
  for (;;) {
    const flush = state.parked.takeFlush(FLUSH_CHUNK);
    if (!flush) return true;
    const written = await fromStore(() => store.flushParkedRecords({ connectionId: state.connectionId, ...flush }));
    if (!written.ok) {
      state.parked.flushFailed(flush);
      state.storeError = `parked records not written: ${written.error}`;
      return false;
    }
    state.parked.flushed(written.value);
  }
}

/**
 * One page of a retry of parked records in the store: queued as change notices, as records in
 * state are. The records stay parked until their attempt succeeds or parks them again; the next
 * page starts after this one, so none is tried twice in one retry.
 */
export async function queueParkedRetryPage(state: ConnectionSyncState, pageSize: number): Promise<void> {
  const retry = state.parked.pendingRetry;
  if (!retry) return;
  const page = await fromStore(() => store.parkedRecordsPage({ connectionId: state.connectionId, afterKey: retry.afterKey, keys: retry.keys, limit: pageSize, ...(retry.classes ? { errorClasses: retry.classes } : {}) }));
  if (!page.ok) {
    state.storeError = `parked records not read for retry: ${page.error}`;
    return;
  }
  for (const record of page.value) state.pending.add(retryRef(record));
  state.parked.retryPageQueued(page.value.at(-1)?.key);
}

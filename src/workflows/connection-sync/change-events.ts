import { ActivityFailure, condition, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { SyncConfig } from '../../activities/sync-activities';
import { changeLogRead } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { failureInfo } from './failures';

const read = proxyActivities<Activities>(changeLogRead);

/** Marks runs that may read the change log: runs recorded before it never did, and replay as they ran. */
export const CHANGE_EVENTS_PATCH = 'salesforce-cdc';

/** Events asked for per read (the Pub/Sub API's most per FetchRequest). */
const EVENTS_PER_READ = 100;
/** How long a read waits for events when there are none: the loop's idle beat in CDC mode. */
const READ_WAIT_MS = 5_000;
/**
 * After a read that failed past its retries (or a feed that is not configured), the next one waits
 * this long, while notices, operator decisions and the poll go on: the read is the loop's only
 * wait in CDC mode, and a failure that comes at once must not spin the workflow.
 */
const FAILED_READ_PAUSE_MS = 60_000;

/**
 * Whether this connection hears changes from the vendor's change log (settings.sync.changeEvents):
 * Salesforce CDC or HubSpot's webhooks journal, read alike. No run recorded before `journal`
 * existed could choose it, so the existing patch covers both.
 */
export function readsChangeLog(config: SyncConfig): boolean {
  const mode = config.settings.changeEvents;
  return (mode === 'cdc' || mode === 'journal') && patched(CHANGE_EVENTS_PATCH);
}

/**
 * One read of the change log from the position in state: the records it names join the pending
 * notices, the position moves on. What the log cannot list (an overflow, a position past its
 * retention) falls back to a poll from the watermark, marked in the status. On a lost position
 * the newest one is taken first, then the poll runs: every change is either after the new
 * position or before the poll's read, so none falls between them.
 */
export async function readChangeEvents(state: ConnectionSyncState, config: SyncConfig, nextPollAt: number): Promise<void> {
  const cursor = state.changeEvents;
  if (cursor.retryAt !== null) {
    // After a failed read the loop waits here, as it waits on its condition without a change log.
    const retryAt = cursor.retryAt;
    const woken = await condition(
      () => state.configChanged || (!state.paused && !state.needsReauth && (state.pending.size > 0 || state.approvedDeletions.length > 0)),
      Math.max(1, Math.min(retryAt, nextPollAt) - Date.now()),
    );
    if (woken || Date.now() < retryAt) return;
    cursor.retryAt = null;
  }
  const request = { connectionId: state.connectionId, maxEvents: EVENTS_PER_READ, waitMs: READ_WAIT_MS, objects: config.settings.objects };
  let answer;
  try {
    answer = await read.readChangeEvents({ ...request, from: cursor.replayId ? { replayId: cursor.replayId } : 'LATEST' });
    if (answer.kind === 'replay-invalid') {
      cursor.fallBack(`change log position refused: ${answer.message}`, new Date(Date.now()).toISOString());
      cursor.replayId = null;
      answer = await read.readChangeEvents({ ...request, from: 'LATEST' });
    }
  } catch (error) {
    if (!(error instanceof ActivityFailure) || isCancellation(error)) throw error;
    // The poll is the safety net meanwhile; the position stays, so nothing the log holds is skipped.
    const info = failureInfo(error, { connectionId: state.connectionId, provider: state.provider });
    if (info.errorClass === 'auth') state.needsReauth = true;
    cursor.lastError = info.message;
    cursor.retryAt = Date.now() + FAILED_READ_PAUSE_MS;
    return;
  }
  if (answer.kind === 'replay-invalid') {
    // Refused even at its newest event: the poll covers the time until a later pass tries again.
    cursor.retryAt = Date.now() + FAILED_READ_PAUSE_MS;
    return;
  }
  cursor.lastError = null;
  cursor.received += answer.received;
  state.notice(answer.notices);
  if (answer.pollObjects.length > 0) cursor.fallBack(`change log could not list changes of ${answer.pollObjects.join(', ')} (GAP_OVERFLOW)`, new Date(Date.now()).toISOString());
  if (answer.replayId) cursor.replayId = answer.replayId;
}

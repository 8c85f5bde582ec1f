import { ActivityFailure, condition, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { SyncConfig } from '../../activities/sync-activities';
import { changeLogRead } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { failureInfo } from './failures';

const read = proxyActivities<Activities>(changeLogRead);

/** Marks runs that may read the change log: runs recorded before it never did, and replay as they ran. */
export const CHANGE_EVENTS_PATCH = 'salesforce-cdc';

/** Marks runs that apply what a change-log read brought without the debounce timer (the read settled it). */
const READ_SETTLES_PATCH = 'change-log-read-settles-burst';

/** Marks runs whose due poll waits while change-log reads still bring events (see `pollWaitsForChangeLog`). */
const POLL_AFTER_LOG_PATCH = 'poll-after-change-log-read';
/** How many reads in a row that bring events a due poll waits for at most (the log never quiet in a busy org). */
const MAX_POLL_WAITS = 50;
/**
 * The last read, when it went through without a fallback: when it started (workflow time) and how
 * many reads in a row brought events. Per run, keyed by its state (plain module state would be
 * shared by every run the worker holds).
 */
const lastCleanRead = new WeakMap<ConnectionSyncState, { startedAt: number; withEvents: number }>();

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
 * Whether the notices pending after this pass go out without the debounce: a change-log read
 * already gathered its burst (it answers a moment after the first event), and the debounce timer
 * would add to every change again (a 200 ms timer fired after about a second on the dev server,
 * bench/README.md), against issue #16's lag p95 under 1 s.
 */
export function changeLogReadSettled(changeLog: boolean): boolean {
  return changeLog && patched(READ_SETTLES_PATCH);
}

/**
 * Whether a poll that is due waits for the next read of the change log. The log lists every
 * change since the kept position, in order (after a worker outage, all that happened meanwhile):
 * the poll waits until a read made after it came due came back empty, so each change is applied
 * from its event and the poll then finds nothing left to write. A log that never goes quiet
 * delays the poll by at most MAX_POLL_WAITS reads; after a fallback or a failed read it does not
 * wait at all.
 */
export function pollWaitsForChangeLog(state: ConnectionSyncState, changeLog: boolean, pollDueAt: number): boolean {
  const read = lastCleanRead.get(state);
  if (!changeLog || !read) return false;
  const logBehind = read.startedAt < pollDueAt || (read.withEvents > 0 && read.withEvents <= MAX_POLL_WAITS);
  const waits = logBehind && patched(POLL_AFTER_LOG_PATCH);
  if (!waits) lastCleanRead.delete(state);
  return waits;
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
  // Counted again only by a read that goes through without a fallback.
  const previous = lastCleanRead.get(state);
  lastCleanRead.delete(state);
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
  const startedAt = Date.now();
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
  else if (!cursor.pollNow) lastCleanRead.set(state, { startedAt, withEvents: answer.received > 0 ? (previous?.withEvents ?? 0) + 1 : 0 });
  if (answer.replayId) cursor.replayId = answer.replayId;
}

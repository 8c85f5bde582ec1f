import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { SyncConfig } from '../../activities/sync-activities';
import type { ObjectType } from '../../model/identifiers';
import { crmReadPausingOnQuota } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { applyToPeers } from './apply-to-peers';
import { deletePolicyOf, handleDeletions } from './deletions';
import { failureInfo, readFromSource } from './failures';

const read = proxyActivities<Activities>(crmReadPausingOnQuota);

/** A new connection's first poll looks this far back; a backfill covers what is older. */
const FIRST_POLL_LOOKBACK_MS = 24 * 60 * 60_000;

/** Marks runs whose poll stops between pages when the run should continue as new. */
const POLL_YIELDS_PATCH = 'poll-yields-to-continue-as-new';

/**
 * The safety net: every change since the watermark, page by page; the watermark moves only after a
 * page is applied. What failed in this pass, for any object, is the status's poll error until a
 * pass succeeds (one object's success does not hide another's failure). Returns whether the pass
 * went through every page of every object.
 *
 * A backlog of tens of thousands of changes (a new connection's first poll, a target refusing
 * every write) is megabytes of history per hundred pages: the pass stops between pages once
 * `handOver()` says the run should continue as new (the server refuses histories past its size
 * limit and terminates the run), and the next run polls at once from the watermark.
 */
export async function pollChanges(state: ConnectionSyncState, config: SyncConfig, handOver: () => boolean = () => false): Promise<boolean> {
  const errors: string[] = [];
  const yieldsToHandOver = patched(POLL_YIELDS_PATCH);
  try {
    for (const objectType of config.settings.objects) {
      // A pass that stopped for continue-as-new goes on from its page (records sharing one
      // modstamp, a bulk load, would otherwise be read from the first page again, forever).
      const resume = yieldsToHandOver ? state.pollResume[objectType] : undefined;
      const since = resume?.since ?? state.watermarks[objectType] ?? new Date(Date.now() - FIRST_POLL_LOOKBACK_MS).toISOString();
      let cursor: string | undefined = resume?.cursor;
      do {
        let page;
        try {
          page = await readFromSource(state, () => read.pollChanges({ tenantId: state.tenantId, connectionId: state.connectionId, objectType, since, cursor }));
        } catch (error) {
          // The watermark stays where it is, so the next poll covers this page again.
          errors.push(`${objectType}: ${failureInfo(error, { connectionId: state.connectionId, provider: state.provider }).message}`);
          break;
        }
        if (!page) return false; // needs re-authorisation or a quota pause: the next poll starts from the same watermark
        await applyToPeers(state, config, objectType, page.records);
        state.watermarks[objectType] = page.highWatermark;
        cursor = page.nextCursor;
        if (cursor && yieldsToHandOver && handOver()) {
          state.pollResume[objectType] = { since, cursor };
          return false;
        }
        delete state.pollResume[objectType];
      } while (cursor);
      if (deletePolicyOf(config, objectType) !== 'ignore' && !(await pollDeletions(state, config, objectType, errors))) return false;
    }
    return errors.length === 0;
  } finally {
    state.pollError = errors.length > 0 ? errors.join('; ') : null;
  }
}

/**
 * The deletion feed since its watermark (or feed token), all pages, then one decision for the
 * lot: the mass-delete guard must see a mass delete whole. Returns false when the connection
 * needs re-authorisation.
 */
async function pollDeletions(state: ConnectionSyncState, config: SyncConfig, objectType: ObjectType, errors: string[]): Promise<boolean> {
  const since = state.deletionWatermarks[objectType] ?? new Date(Date.now() - FIRST_POLL_LOOKBACK_MS).toISOString();
  let cursor = state.deletionCursors[objectType];
  const deleted: string[] = [];
  let last;
  do {
    try {
      last = await readFromSource(state, () => read.pollDeletions({ connectionId: state.connectionId, objectType, since, cursor }));
    } catch (error) {
      errors.push(`${objectType} deletions: ${failureInfo(error, { connectionId: state.connectionId, provider: state.provider }).message}`);
      return true;
    }
    if (!last) return false;
    deleted.push(...last.externalIds);
    cursor = last.nextCursor;
  } while (cursor);
  const notPlanned = await handleDeletions(state, config, objectType, deleted);
  if (notPlanned !== undefined) {
    // Watermark and feed token stay: the next poll reads these deletions again and plans them.
    errors.push(`${objectType} deletions not planned: ${notPlanned}`);
    return true;
  }
  state.deletionWatermarks[objectType] = last.highWatermark;
  if (last.resumeCursor) state.deletionCursors[objectType] = last.resumeCursor;
  else delete state.deletionCursors[objectType];
  return true;
}

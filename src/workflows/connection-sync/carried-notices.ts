import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { storeCall } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { fromStore } from './failures';

const store = proxyActivities<Activities>(storeCall);

/** Notices per store activity: about 100 bytes each, far below Temporal's payload limit. */
const STORE_CHUNK = 1000;

/**
 * Before continue-as-new: the notices beyond PENDING_CARRY_LIMIT go to PostgreSQL instead of
 * being left to a poll, which cannot find every change again (a HubSpot association moves no
 * record's stamp, hubspot/BEHAVIOR.md [H53]). The next run still polls at once (`pollAtOnce`): what
 * a poll can find arrives without waiting for the queue to drain. Returns false when the store
 * could not take them: those not written are back in the queue, and the run does not continue as
 * new (they would be lost).
 */
export async function storeCarryOverflow(state: ConnectionSyncState): Promise<boolean> {
  // A removal still owed would, after this store, delete a notice stored again here.
  if (!(await forgetTakenBack(state))) return false;
  const overflow = state.takeCarryOverflow();
  for (let at = 0; at < overflow.length; at += STORE_CHUNK) {
    const chunk = overflow.slice(at, at + STORE_CHUNK);
    const written = await fromStore(() => store.storeCarriedNotices({ connectionId: state.connectionId, notices: chunk }));
    if (!written.ok) {
      for (const ref of overflow.slice(at)) state.pending.add(ref);
      state.storeError = `change notices beyond the carry limit not written: ${written.error}`;
      return false;
    }
    state.noticesInStore = true;
    state.pollAtOnce = true;
  }
  return true;
}

/**
 * Takes up to `limit` stored notices back into the queue, oldest first. The read is recorded in
 * history before the rows are removed, so a worker lost between the two replays the read (the
 * notices are in state again) and removes them then; a notice read twice is only read twice from
 * the CRM. The store is empty once a page comes back short.
 */
export async function takeBackCarriedNotices(state: ConnectionSyncState, limit: number): Promise<void> {
  if (!(await forgetTakenBack(state))) return;
  const page = await fromStore(() => store.carriedNoticesPage({ connectionId: state.connectionId, limit }));
  if (!page.ok) {
    state.storeError = `change notices beyond the carry limit not read: ${page.error}`;
    return;
  }
  for (const ref of page.value) state.pending.add(ref);
  state.noticesToForget = page.value.map(({ objectType, externalId }) => ({ objectType, externalId }));
  if ((await forgetTakenBack(state)) && page.value.length < limit) state.noticesInStore = false;
}

/** Removes the rows of notices already back in the queue; false when the store failed (retried at the next take-back or hand-over). */
async function forgetTakenBack(state: ConnectionSyncState): Promise<boolean> {
  if (state.noticesToForget.length === 0) return true;
  const keys = state.noticesToForget;
  const forgotten = await fromStore(() => store.forgetCarriedNotices({ connectionId: state.connectionId, keys }));
  if (!forgotten.ok) {
    state.storeError = `change notices taken back not removed from the store: ${forgotten.error}`;
    return false;
  }
  state.noticesToForget = [];
  return true;
}

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { SyncConfig } from '../../activities/sync-activities';
import type { DeletePolicy } from '../../model/sync-settings';
import { storeCall } from '../activity-options';
import type { ConnectionSyncState, HeldDeletions } from '../connection-sync-state';
import { applyDeletions } from './deletions';
import { fromStore } from './failures';

const store = proxyActivities<Activities>(storeCall);

/** Ids per activity, written or read: far below Temporal's payload limit (ids of about 20 bytes). */
const HELD_CHUNK = 1000;

/**
 * Writes the ids held beyond the in-state window (pending holds, and decided ones not yet
 * applied) to PostgreSQL. Returns false when the store could not take them: they wait in state
 * for the next flush, and the run does not continue as new until they are written.
 */
export async function flushHeldDeletions(state: ConnectionSyncState): Promise<boolean> {
  for (const held of [...state.heldDeletions.values(), ...state.approvedDeletions]) {
    while (held.toStore && held.toStore.length > 0) {
      const chunk = held.toStore.slice(0, HELD_CHUNK);
      const written = await fromStore(() => store.storeHeldDeletions({ connectionId: state.connectionId, holdId: held.id, objectType: held.objectType, externalIds: chunk }));
      if (!written.ok) {
        state.storeError = `held deletions not written: ${written.error}`;
        return false;
      }
      held.inStore = written.value;
      held.toStore = held.toStore.slice(chunk.length);
    }
    delete held.toStore;
  }
  return true;
}

/**
 * Applies a hold an operator decided, by `policy` (`ignore` for a rejected one): the ids in state,
 * then those in the store page by page (the position rides across continue-as-new with the hold),
 * then the store forgets the hold. Returns false when the store failed: the hold stays in the
 * queue and the next pass goes on from where this one stopped.
 */
export async function applyDecidedDeletions(state: ConnectionSyncState, config: SyncConfig, decided: HeldDeletions, policy: DeletePolicy): Promise<boolean> {
  if (!(await flushHeldDeletions(state))) return false;
  if (decided.storeCursor === undefined) {
    await applyDeletions(state, config, decided.objectType, decided.externalIds, policy, { countTowardsGuard: false });
  }
  if (decided.inStore === undefined) return true;
  for (;;) {
    const afterId = decided.storeCursor ?? '';
    const page = await fromStore(() => store.heldDeletionsPage({ connectionId: state.connectionId, holdId: decided.id, afterId, limit: HELD_CHUNK }));
    if (!page.ok) {
      state.storeError = `held deletions not read: ${page.error}`;
      return false;
    }
    if (page.value.length === 0) break;
    await applyDeletions(state, config, decided.objectType, page.value, policy, { countTowardsGuard: false });
    decided.storeCursor = page.value.at(-1);
  }
  // Rows left behind (the store failed here) belong to no pending hold: the CLI lists holds by the workflow's ids.
  await fromStore(() => store.forgetHeldDeletions({ connectionId: state.connectionId, holdId: decided.id }));
  return true;
}

import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, sleep, workflowInfo } from '@temporalio/workflow';
import { loadFirstConfig, reloadConfig } from './connection-sync/config';
import { readChangeEvents, readsChangeLog } from './connection-sync/change-events';
import { applyDeletions, deletePolicyOf } from './connection-sync/deletions';
import { setConnectionSyncHandlers } from './connection-sync/handlers';
import { applyNoticedChanges } from './connection-sync/noticed-changes';
import { pollChanges } from './connection-sync/polling';
import { publishSearchAttributes } from './connection-sync/search-attributes';
import { ConnectionSyncState, connectionSyncInputSchema } from './connection-sync-state';

/**
 * One tenant-CRM connection, for as long as it exists (workflow id `sync:<tenant>:<connection>`).
 * Change notices arrive as signals from the webhook shim, or from the vendor's change log read at a
 * position kept here (Salesforce CDC); a timer polls as the safety net; each
 * batch is read once from this CRM and applied to every other CRM of the tenant in parallel, each
 * target failing on its own. What cannot be written is parked, visible and retryable. A failure of
 * crm-sync's own database never ends the run (that would lose its state): see fromStore.
 */
export async function connectionSync(rawInput: unknown): Promise<void> {
  const parsed = connectionSyncInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid connectionSync input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`, 'InvalidInput');
  }
  const { tenantId, connectionId, carried, continueAsNewAfterEvents } = parsed.data;
  const state = new ConnectionSyncState(tenantId, connectionId, carried);
  setConnectionSyncHandlers(state);

  let config = await loadFirstConfig(state);
  state.provider = config.provider;
  publishSearchAttributes(state, config);
  let nextPollAt = Date.now();

  for (;;) {
    // Reading the change log waits for changes itself; without one, wait for a notice or the poll.
    const changeLog = readsChangeLog(config);
    if (!changeLog) {
      await condition(
        () => state.configChanged || (!state.paused && !state.needsReauth && (state.pending.size > 0 || state.approvedDeletions.length > 0)),
        Math.max(1, nextPollAt - Date.now()),
      );
    }
    if (state.configChanged || state.configStale) {
      state.configChanged = false;
      config = await reloadConfig(state, config);
    }
    state.requeueDeferredDeletions();
    if (state.paused || state.needsReauth) {
      publishSearchAttributes(state, config);
      await condition(() => (!state.paused && !state.needsReauth) || state.configChanged);
      continue;
    }
    // Operator decisions first: the next poll reports the same deletions again (look-back).
    while (state.approvedDeletions.length > 0 && !state.paused && !state.needsReauth) {
      const decided = state.approvedDeletions[0] as (typeof state.approvedDeletions)[number];
      const policy = decided.decision === 'rejected' ? 'ignore' : deletePolicyOf(config, decided.objectType);
      await applyDeletions(state, config, decided.objectType, decided.externalIds, policy, { countTowardsGuard: false });
      state.approvedDeletions.shift();
    }
    if (changeLog) {
      await readChangeEvents(state, config, nextPollAt);
      if (state.changeEvents.pollNow) {
        state.changeEvents.pollNow = false;
        nextPollAt = Date.now();
      }
    }
    if (Date.now() >= nextPollAt) {
      await pollChanges(state, config);
      state.lastPolledAt = new Date(Date.now()).toISOString();
      nextPollAt = Date.now() + config.settings.pollIntervalMs;
    }
    if (state.pending.size > 0) {
      // Let a burst of edits settle, so ten keystrokes become one write.
      await sleep(config.settings.debounceMs);
      while (state.pending.size > 0 && !state.paused && !state.needsReauth) {
        await applyNoticedChanges(state, config);
      }
    }
    state.settleStoreError();
    publishSearchAttributes(state, config);

    const info = workflowInfo();
    if (info.continueAsNewSuggested || (continueAsNewAfterEvents !== undefined && info.historyLength >= continueAsNewAfterEvents)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof connectionSync>({ tenantId, connectionId, continueAsNewAfterEvents, carried: state.carry() });
    }
  }
}

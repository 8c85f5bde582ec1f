import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { z } from 'zod';
import type { Activities } from '../activities';
import { objectTypeSchema } from '../model/identifiers';
import { storeCall } from './activity-options';
import { backfill, backfillChildIdPolicy, backfillWorkflowId } from './backfill';
import { applyDeletions, deletePolicyOf } from './connection-sync/deletions';
import { applyNoticedChanges } from './connection-sync/noticed-changes';
import { pollChanges } from './connection-sync/polling';
import { publishSearchAttributes } from './connection-sync/search-attributes';
import { ConnectionSyncState, connectionSyncInputSchema } from './connection-sync-state';
import {
  approveDeletionsUpdate,
  changeNoticesSignal,
  heldDeletionsQuery,
  configChangedSignal,
  parkedRecordsQuery,
  pauseSyncSignal,
  reauthorisedSignal,
  rejectDeletionsUpdate,
  resumeSyncSignal,
  retryParkedUpdate,
  skipParkedUpdate,
  startBackfillUpdate,
  syncStatusQuery,
  type StartBackfillRequest,
} from './messages';

const store = proxyActivities<Activities>(storeCall);

/**
 * One tenant-CRM connection, for as long as it exists (workflow id `sync:<tenant>:<connection>`).
 * Change notices arrive as signals from the webhook shim; a timer polls as the safety net; each
 * batch is read once from this CRM and applied to every other CRM of the tenant in parallel, each
 * target failing on its own. What cannot be written is parked, visible and retryable.
 */
export async function connectionSync(rawInput: unknown): Promise<void> {
  const parsed = connectionSyncInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid connectionSync input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`, 'InvalidInput');
  }
  const { tenantId, connectionId, carried, continueAsNewAfterEvents } = parsed.data;
  const state = new ConnectionSyncState(tenantId, connectionId, carried);

  setHandler(changeNoticesSignal, ({ events }) => void state.notice(events));
  setHandler(pauseSyncSignal, ({ reason }) => void (state.paused = { reason: reason ?? null }));
  setHandler(resumeSyncSignal, () => void (state.paused = null));
  setHandler(reauthorisedSignal, () => void (state.needsReauth = false));
  setHandler(configChangedSignal, () => void (state.configChanged = true));
  setHandler(syncStatusQuery, () => state.status());
  setHandler(parkedRecordsQuery, () => [...state.parked.values()]);
  setHandler(heldDeletionsQuery, () => state.heldDeletionsSummary());
  const decide = (decision: 'approved' | 'rejected') => ({ id }: { id: string }) => state.decideDeletions(id, decision)?.externalIds.length ?? 0;
  const heldValidator = ({ id }: { id: string }) => {
    if (typeof id !== 'string' || !state.heldDeletions.has(id)) {
      throw new Error(`no held deletions "${String(id)}"; held now: ${[...state.heldDeletions.keys()].join(', ') || 'none'}`);
    }
  };
  setHandler(approveDeletionsUpdate, decide('approved'), { validator: heldValidator });
  setHandler(rejectDeletionsUpdate, decide('rejected'), { validator: heldValidator });
  setHandler(retryParkedUpdate, ({ keys }) => state.retryParked(keys));
  setHandler(startBackfillUpdate, (request) => startBackfillChild(tenantId, connectionId, request), {
    validator: (request) => {
      const parsed = startBackfillRequestSchema.safeParse(request);
      if (!parsed.success) throw new Error(`startBackfill: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
    },
  });
  setHandler(skipParkedUpdate, ({ keys }) => state.skipParked(keys), {
    validator: ({ keys }) => {
      if (!Array.isArray(keys) || keys.length === 0) throw new Error('skipParked needs the keys of the parked records to skip');
    },
  });

  let config = await store.loadSyncConfig({ connectionId });
  state.provider = config.provider;
  publishSearchAttributes(state, config);
  let nextPollAt = Date.now();

  for (;;) {
    await condition(
      () => state.configChanged || (!state.paused && !state.needsReauth && (state.pending.size > 0 || state.approvedDeletions.length > 0)),
      Math.max(1, nextPollAt - Date.now()),
    );
    if (state.configChanged) {
      state.configChanged = false;
      config = await store.loadSyncConfig({ connectionId });
    }
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
    publishSearchAttributes(state, config);

    const info = workflowInfo();
    if (info.continueAsNewSuggested || (continueAsNewAfterEvents !== undefined && info.historyLength >= continueAsNewAfterEvents)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof connectionSync>({ tenantId, connectionId, continueAsNewAfterEvents, carried: state.carry() });
    }
  }
}

const startBackfillRequestSchema = z
  .object({ objectType: objectTypeSchema, since: z.iso.datetime().optional(), targets: z.array(z.string().min(1)).optional() })
  .strict();

/**
 * Backfills run as children, so they show under the connection in the Web UI. ABANDON: a
 * backfill outlives the parent's continue-as-new, and its id is a lock, so a second request while
 * one runs reports the running one instead of starting another.
 */
async function startBackfillChild(tenantId: string, connectionId: string, request: StartBackfillRequest): Promise<{ workflowId: string; alreadyRunning: boolean }> {
  const workflowId = backfillWorkflowId(tenantId, connectionId, request.objectType);
  try {
    await startChild(backfill, {
      workflowId,
      args: [{ tenantId, connectionId, objectType: request.objectType, since: request.since, targets: request.targets }],
      ...backfillChildIdPolicy,
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return { workflowId, alreadyRunning: false };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return { workflowId, alreadyRunning: true };
  }
}

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
import type { LinkedRecord } from '../activities/apply-to-target';
import type { SyncConfig } from '../activities/sync-activities';
import { objectTypeSchema, type ObjectType } from '../model/identifiers';
import { crmRead, storeCall } from './activity-options';
import { backfill, backfillChildIdPolicy, backfillWorkflowId } from './backfill';
import { applyToPeers } from './connection-sync/apply-to-peers';
import { applyDeletions, deletePolicyOf, handleDeletions } from './connection-sync/deletions';
import { failureInfo, readFromSource } from './connection-sync/failures';
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
const read = proxyActivities<Activities>(crmRead);

/** A new connection's first poll looks this far back; a backfill covers what is older. */
const FIRST_POLL_LOOKBACK_MS = 24 * 60 * 60_000;

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

/** The safety net: every change since the watermark, page by page; the watermark moves only after a page is applied. */
async function pollChanges(state: ConnectionSyncState, config: SyncConfig): Promise<void> {
  for (const objectType of config.settings.objects) {
    const since = state.watermarks[objectType] ?? new Date(Date.now() - FIRST_POLL_LOOKBACK_MS).toISOString();
    let cursor: string | undefined;
    do {
      let page;
      try {
        page = await readFromSource(state, () => read.pollChanges({ tenantId: state.tenantId, connectionId: state.connectionId, objectType, since, cursor }));
      } catch (error) {
        // The watermark stays where it is, so the next poll covers this page again; the error
        // is shown in the status until a poll succeeds.
        state.pollError = `${objectType}: ${failureInfo(error, { connectionId: state.connectionId, provider: state.provider }).message}`;
        break;
      }
      if (!page) return; // needs re-authorisation: the next poll starts from the same watermark
      await applyToPeers(state, config, objectType, page.records);
      state.watermarks[objectType] = page.highWatermark;
      state.pollError = null;
      cursor = page.nextCursor;
    } while (cursor);
    if (deletePolicyOf(config, objectType) !== 'ignore' && !(await pollDeletions(state, config, objectType))) return;
  }
}

/**
 * The deletion feed since its watermark (or feed token), all pages, then one decision for the
 * lot: the mass-delete guard must see a mass delete whole. Returns false when the connection
 * needs re-authorisation.
 */
async function pollDeletions(state: ConnectionSyncState, config: SyncConfig, objectType: ObjectType): Promise<boolean> {
  const since = state.deletionWatermarks[objectType] ?? new Date(Date.now() - FIRST_POLL_LOOKBACK_MS).toISOString();
  let cursor = state.deletionCursors[objectType];
  const deleted: string[] = [];
  let last;
  do {
    try {
      last = await readFromSource(state, () => read.pollDeletions({ connectionId: state.connectionId, objectType, since, cursor }));
    } catch (error) {
      state.pollError = `${objectType} deletions: ${failureInfo(error, { connectionId: state.connectionId, provider: state.provider }).message}`;
      return true;
    }
    if (!last) return false;
    deleted.push(...last.externalIds);
    cursor = last.nextCursor;
  } while (cursor);
  await handleDeletions(state, config, objectType, deleted);
  state.deletionWatermarks[objectType] = last.highWatermark;
  if (last.resumeCursor) state.deletionCursors[objectType] = last.resumeCursor;
  else delete state.deletionCursors[objectType];
  return true;
}

/** Records named by webhooks: read once from this CRM, then applied to every peer. */
async function applyNoticedChanges(state: ConnectionSyncState, config: SyncConfig): Promise<void> {
  const refs = state.pending.take(config.settings.batchSize);
  const objectType = refs[0]?.objectType;
  if (!objectType) return;
  const records = await readNoticed(state, objectType, refs.map((ref) => ref.externalId));
  if (!records) {
    for (const ref of refs) state.pending.add(ref); // nothing dropped while we wait for re-authorisation
    return;
  }
  await applyToPeers(state, config, objectType, records);
  // A deletion notice counts only when the read confirms the record is gone: notices arrive out of
  // order, and a record deleted then restored must not be deleted elsewhere.
  const found = new Set(records.map((record) => record.externalId));
  const gone = refs.filter((ref) => ref.deleted && !found.has(ref.externalId) && !state.parked.has(`${objectType}:${ref.externalId}:${state.connectionId}`));
  if (gone.length > 0 && deletePolicyOf(config, objectType) !== 'ignore') {
    await handleDeletions(state, config, objectType, gone.map((ref) => ref.externalId));
  }
}

/**
 * Reads noticed records. One record this CRM cannot give us (a value the mapping does not know)
 * must not stop the others, nor the connection: the batch is split and read record by record, and
 * only the unreadable one is parked, against this connection itself.
 */
async function readNoticed(state: ConnectionSyncState, objectType: ObjectType, externalIds: string[]): Promise<LinkedRecord[] | undefined> {
  const readBatch = (ids: string[]) => read.readAndLinkRecords({ tenantId: state.tenantId, connectionId: state.connectionId, objectType, externalIds: ids });
  try {
    return await readFromSource(state, () => readBatch(externalIds));
  } catch (error) {
    if (externalIds.length === 1) {
      state.park({ objectType, sourceExternalId: externalIds[0] as string, targetConnectionId: state.connectionId, reason: 'failed', error: failureInfo(error, { connectionId: state.connectionId, provider: state.provider }), parkedAt: new Date(Date.now()).toISOString() });
      return [];
    }
    const records: LinkedRecord[] = [];
    for (const externalId of externalIds) {
      const one = await readNoticed(state, objectType, [externalId]);
      if (!one) return undefined;
      records.push(...one);
    }
    return records;
  }
}

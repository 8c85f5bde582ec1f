import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, continueAsNew, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { searchAttributes } from '../temporal/search-attributes';
import { bulkPage, crmRead, storeCall } from './activity-options';
import { backfillReauthorisedSignal, backfillProgressQuery } from './backfill-messages';
import { BackfillState, backfillInputSchema, FAILURE_LIST_LIMIT, type BackfillProgress } from './backfill-state';

export { backfillChildIdPolicy, backfillIdPolicies, backfillWorkflowId, type BackfillInput, type BackfillProgress } from './backfill-state';

const store = proxyActivities<Activities>(storeCall);
const INDEX_TARGETS_PATCH = 'backfill-index-targets';
const read = proxyActivities<Activities>(crmRead);

/**
 * Bulk-loads one object of one source connection into the tenant's other connections (workflow
 * id `backfill:<tenant>:<connection>:<object>`, usually a child of `sync:<tenant>:<connection>`).
 * Each page activity reads a page of the source's bulk export and writes it to every target's
 * bulk path; only cursors and counts come back into history. After `pagesPerRun` pages the
 * workflow continues as new with the cursor and counts. Returns the final progress.
 */
export async function backfill(rawInput: unknown): Promise<BackfillProgress> {
  const parsed = backfillInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid backfill input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`, 'InvalidInput');
  }
  const input = parsed.data;
  const state = new BackfillState(input);
  const page = proxyActivities<Activities>({ ...bulkPage, ...(input.heartbeatTimeout ? { heartbeatTimeout: input.heartbeatTimeout } : {}) });

  setHandler(backfillProgressQuery, () => state.progress());
  setHandler(backfillReauthorisedSignal, () => void (state.reauthorised = true));

  if (!input.carried) {
    const config = await store.loadBackfillConfig({ tenantId: input.tenantId, connectionId: input.connectionId, targets: input.targets });
    const { cursor } = await read.startBackfillExport({ connectionId: input.connectionId, objectType: input.objectType, since: input.since });
    state.started(config.provider, config.targets, cursor);
    // Records the targets already hold are linked by their match keys first, so the pages find
    // them instead of creating them again. Runs started before this step replay without it.
    if (patched(INDEX_TARGETS_PATCH) && state.targets.length > 0) {
      await whenAuthorised(state, () =>
        page.indexBackfillTargets({ tenantId: input.tenantId, objectType: input.objectType, targetConnectionIds: state.targets.map((target) => target.connectionId) }),
      );
      state.targetsIndexed = true;
    }
  }
  publish(state);

  let pagesThisRun = 0;
  while (state.cursor !== null && state.targets.length > 0) {
    // Each run keeps its history short: a fixed number of pages, or earlier if the server suggests it.
    if (pagesThisRun >= input.pagesPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof backfill>(state.continuation());
    }
    const cursor = state.cursor;
    const result = await whenAuthorised(state, () =>
      page.backfillPage({
        tenantId: input.tenantId,
        sourceConnectionId: input.connectionId,
        objectType: input.objectType,
        cursor,
        targetConnectionIds: state.targets.map((target) => target.connectionId),
        chunkSize: input.chunkSize,
        failureListLimit: FAILURE_LIST_LIMIT,
        targetsIndexed: state.targetsIndexed,
      }),
    );
    state.pageDone(result);
    pagesThisRun += 1;
    publish(state);
  }
  state.cursor = null;
  state.phase = 'completed';
  publish(state);
  return state.progress();
}

/**
 * A page whose connection needs re-authorisation (the connector's own refresh already failed)
 * waits for the operator's signal, then runs again from the same cursor: nothing is skipped.
 */
async function whenAuthorised<T>(state: BackfillState, call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : error;
      if (!(cause instanceof ApplicationFailure) || cause.type !== 'auth') throw error;
      state.phase = 'needs-reauth';
      state.reauthorised = false;
      publish(state);
      await condition(() => state.reauthorised);
      state.phase = 'running';
      publish(state);
    }
  }
}

/**
 * Search attributes: the connection's TenantId, ConnectionId and CrmProvider (the source's), so a
 * tenant's backfills show next to its connection workflows; SyncState is the backfill's phase
 * (starting, running, needs-reauth, completed, or degraded while running with failed records);
 * ParkedCount is the number of failed records; LastSyncedAt the last page's completion.
 */
function publish(state: BackfillState): void {
  const syncState = state.phase === 'running' && state.failedTotal > 0 ? 'degraded' : state.phase;
  upsertSearchAttributes([
    { key: searchAttributes.TenantId, value: state.input.tenantId },
    { key: searchAttributes.ConnectionId, value: state.input.connectionId },
    ...(state.provider ? [{ key: searchAttributes.CrmProvider, value: state.provider }] : []),
    { key: searchAttributes.SyncState, value: syncState },
    { key: searchAttributes.ParkedCount, value: state.failedTotal },
    ...(state.pagesDone > 0 ? [{ key: searchAttributes.LastSyncedAt, value: new Date(Date.now()) }] : []),
  ]);
}

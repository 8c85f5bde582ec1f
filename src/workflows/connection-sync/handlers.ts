import { ParentClosePolicy, setHandler, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { z } from 'zod';
import { objectTypeSchema } from '../../model/identifiers';
import { backfill, backfillChildIdPolicy, backfillWorkflowId } from '../backfill';
import type { ConnectionSyncState } from '../connection-sync-state';
import { heldCount } from './held-window';
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
} from '../messages';

/**
 * The connection workflow's signals, queries and updates (src/workflows/messages.ts). Besides
 * starting a backfill, they only change the state: the loop in connectionSync acts on it.
 */
export function setConnectionSyncHandlers(state: ConnectionSyncState): void {
  setHandler(changeNoticesSignal, ({ events }) => void state.notice(events));
  setHandler(pauseSyncSignal, ({ reason }) => void (state.paused = { reason: reason ?? null }));
  // Also ends a quota pause early: the operator raised the quota, or knows it was reset.
  setHandler(resumeSyncSignal, () => {
    state.paused = null;
    state.quotaPausedUntil = null;
  });
  setHandler(reauthorisedSignal, () => void (state.needsReauth = false));
  setHandler(configChangedSignal, () => void (state.configChanged = true));
  setHandler(syncStatusQuery, () => state.status());
  // The records in state; those overflowed to PostgreSQL are read there (crm-sync parked list).
  setHandler(parkedRecordsQuery, () => state.parked.inState());
  setHandler(heldDeletionsQuery, () => state.heldDeletionsSummary());
  const decide = (decision: 'approved' | 'rejected') => ({ id }: { id: string }) => {
    const decided = state.decideDeletions(id, decision);
    return decided ? heldCount(decided) : 0;
  };
  const heldValidator = ({ id }: { id: string }) => {
    if (typeof id !== 'string' || !state.heldDeletions.has(id)) {
      throw new Error(`no held deletions "${String(id)}"; held now: ${[...state.heldDeletions.keys()].join(', ') || 'none'}`);
    }
  };
  setHandler(approveDeletionsUpdate, decide('approved'), { validator: heldValidator });
  setHandler(rejectDeletionsUpdate, decide('rejected'), { validator: heldValidator });
  setHandler(retryParkedUpdate, ({ keys }) => state.retryParked(keys));
  setHandler(startBackfillUpdate, (request) => startBackfillChild(state.tenantId, state.connectionId, request), {
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

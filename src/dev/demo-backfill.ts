import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { backfillWorkflowId, startBackfill, type BackfillProgress } from '../client/backfill';
import type { ObjectType } from '../model/identifiers';
import type { backfill } from '../workflows/backfill';

/** One line per finished backfill, e.g. "300 read, 300 written to demo-hubspot, 0 failed". */
export function describeBackfill(progress: BackfillProgress): string {
  const written = progress.targets.map((target) => `${progress.written[target] ?? 0} written to ${target}`).join(', ');
  const failed = Object.values(progress.failed).reduce((sum, count) => sum + count, 0);
  return `${progress.recordsRead} read, ${written || 'no target'}, ${failed} failed`;
}

/**
 * Backfills one object type from a connection into the tenant's other connections through
 * src/client/backfill.ts (what `crm-sync backfill start` does) and waits for the result. One
 * already running under the same id (a restarted demo reusing the dev server) is waited for.
 */
export async function runBackfill(client: Client, taskQueue: string, request: { tenantId: string; connectionId: string; objectType: ObjectType }): Promise<BackfillProgress> {
  try {
    const handle = await startBackfill(client, taskQueue, request);
    return await handle.result();
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return client.workflow.getHandle<typeof backfill>(backfillWorkflowId(request.tenantId, request.connectionId, request.objectType)).result();
  }
}

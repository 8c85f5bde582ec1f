import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { backfill } from '../workflows/backfill';
import { backfillIdPolicies, backfillWorkflowId, type BackfillInput } from '../workflows/backfill-state';

export { backfillIdPolicies, backfillWorkflowId } from '../workflows/backfill-state';
export { backfillProgressQuery } from '../workflows/backfill-messages';
export type { BackfillInput, BackfillProgress } from '../workflows/backfill-state';

/**
 * Starts `backfill:<tenant>:<connection>:<object>` from outside a workflow (operator CLI, tests).
 * A second start while one runs rejects with WorkflowExecutionAlreadyStartedError. The same
 * request from the `temporal` CLI:
 *
 *   temporal workflow start --type backfill --task-queue crm-sync \
 *     --workflow-id backfill:acme:acme-sf:contact \
 *     --input '{"tenantId":"acme","connectionId":"acme-sf","objectType":"contact"}'
 */
export async function startBackfill(client: Client, taskQueue: string, input: BackfillInput): Promise<WorkflowHandleWithFirstExecutionRunId<typeof backfill>> {
  return client.workflow.start<typeof backfill>('backfill', {
    taskQueue,
    workflowId: backfillWorkflowId(input.tenantId, input.connectionId, input.objectType),
    ...backfillIdPolicies,
    args: [input],
  });
}

import { WorkflowNotFoundError } from '@temporalio/client';
import { syncWorkflowId } from '../webhooks/signal';
import { configChangedSignal } from '../workflows/messages';
import type { CliContext } from './context';

/**
 * Tells every connection workflow of the tenant that a connection's config changed: each reloads
 * its config and retries the records it parked on validation failures (docs/operations.md,
 * "Self-healing"), since a record refused by one target's mapping is parked by its source's
 * workflow. Returns how many were told; a connection whose workflow is not running is skipped.
 */
export async function signalConfigChanged(ctx: CliContext, tenantId: string): Promise<number> {
  const client = await ctx.client();
  const connections = await (await ctx.connections()).listConnections(tenantId);
  let told = 0;
  for (const connection of connections) {
    try {
      await client.workflow.getHandle(syncWorkflowId({ tenantId, connectionId: connection.id })).signal(configChangedSignal);
      told += 1;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  return told;
}

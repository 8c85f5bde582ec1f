import { Client, Connection, type DataConverter } from '@temporalio/client';
import { createSupervisorActivities, syncWorkflowId, type ReconcileResult } from '../activities/supervisor-activities';
import type { ConnectionsRepository } from '../store/connections-repository';
import type { ObjectType } from '../model/identifiers';
import { resumeSyncSignal, syncStatusQuery } from '../workflows/messages';

/** A Temporal client for the demo's own calls (backfills, queries, starting workflows). */
export async function connectDemoClient(address: string, namespace: string, dataConverter?: DataConverter): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace, ...(dataConverter ? { dataConverter } : {}) }), connection };
}

/** The Web UI's workflow list filtered to one tenant by its search attribute. */
export function tenantWorkflowsUrl(uiUrl: string, namespace: string, tenantId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(`TenantId="${tenantId}"`)}`;
}

/**
 * Terminates the tenant's workflows still running from a previous `npm start` (the dev server
 * keeps them across restarts). They hold watermarks, pending notices and parked records of
 * sandboxes that are gone; their histories stay in the Web UI. Returns how many were stopped.
 */
export async function finishPreviousDemoRuns(client: Client, tenantId: string): Promise<number> {
  let finished = 0;
  for await (const execution of client.workflow.list({ query: `TenantId = "${tenantId}" AND ExecutionStatus = "Running"` })) {
    await client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .terminate('npm start again: the demo sandboxes are new, so this run is replaced')
      .then(() => (finished += 1))
      // Closed meanwhile (a backfill finishing): nothing to do.
      .catch(() => undefined);
  }
  return finished;
}

/**
 * Takes the tenant's paused connections live: marks them active, starts their
 * `sync:<tenant>:<connection>` workflows now with the supervisor's own code (instead of within the
 * schedule's minute; ones it already started, paused, are left running), and resumes them, as
 * `crm-sync connection resume` does.
 */
export async function goLive(client: Client, taskQueue: string, connections: ConnectionsRepository, tenantId: string, connectionIds: readonly string[]): Promise<ReconcileResult> {
  for (const connectionId of connectionIds) await connections.setStatus(connectionId, 'active');
  const reconciled = await createSupervisorActivities({ connections, temporal: { client, taskQueue } }).reconcileConnectionWorkflows();
  for (const connectionId of connectionIds) await client.workflow.getHandle(syncWorkflowId(tenantId, connectionId)).signal(resumeSyncSignal);
  return reconciled;
}

/**
 * Resolves once each connection's workflow finished its first poll (a watermark for every object,
 * nothing pending): from then on, a change reaches the other CRM only through its webhook, since
 * the next poll is a minute away.
 */
export async function waitForFirstPolls(client: Client, tenantId: string, connectionIds: readonly string[], objects: readonly ObjectType[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const polled = async (connectionId: string): Promise<boolean> => {
    const status = await client.workflow.getHandle(syncWorkflowId(tenantId, connectionId)).query(syncStatusQuery);
    return status.pending === 0 && objects.every((objectType) => status.watermarks[objectType] !== undefined);
  };
  for (;;) {
    signal.throwIfAborted();
    if ((await Promise.all(connectionIds.map(polled))).every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the first polls of ${connectionIds.join(', ')} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

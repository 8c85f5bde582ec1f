import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ConnectionStatus, ConnectionSummary, ConnectionsRepository } from '../store/connections-repository';
import { recordConnectionStates, type ObservedConnection } from '../observability/metrics';
import { searchAttributes } from '../temporal/search-attributes';
import type { connectionSync } from '../workflows/connection-sync';
import { pauseSyncSignal } from '../workflows/messages';

/** Where the supervisor starts connection workflows: the worker's own client and task queue. */
export interface TemporalDependency {
  client: Client;
  taskQueue: string;
}

export interface SupervisorActivityDependencies {
  connections: ConnectionsRepository;
  /** Absent in workers built without it; the supervisor's activity then fails, naming it. */
  temporal?: TemporalDependency | undefined;
}

/**
 * Which connections must have a running `connectionSync`. A paused connection keeps its workflow,
 * held in the paused state (so pausing loses no pending notices and resuming is one signal), and
 * one needing re-authorisation keeps its workflow waiting for the `reauthorised` signal. Only a
 * disabled connection has none; the supervisor never stops one (whoever disables it does).
 */
export const SUPERVISED_STATUSES: readonly ConnectionStatus[] = ['active', 'paused', 'needs-reauth'];

/** The reason a (re)started workflow of a paused connection is paused with. */
export const PAUSED_BY_STATUS_REASON = 'connection is paused (workflow restarted by the supervisor)';

export interface StartedConnectionSync {
  tenantId: string;
  connectionId: string;
  /** `sync:<tenant>:<connection>` */
  workflowId: string;
  runId: string;
  connectionStatus: ConnectionStatus;
  /** What was there before: no execution at all, or the status the last run closed with. */
  previous: 'missing' | Exclude<WorkflowExecutionStatusName, 'RUNNING'>;
}

export interface ReconcileResult {
  /** Supervised connections (every status but disabled), across tenants. */
  supervised: number;
  /** Of those, how many already had a running workflow. */
  alreadyRunning: number;
  /** Workflows this pass started, one per connection that had none running. */
  started: StartedConnectionSync[];
}

export function syncWorkflowId(tenantId: string, connectionId: string): string {
  return `sync:${tenantId}:${connectionId}`;
}

export function createSupervisorActivities(deps: SupervisorActivityDependencies) {
  return {
    /**
     * Makes sure every supervised connection has a running `sync:<tenant>:<connection>`: starts it
     * when no execution exists or the last one closed (terminated, failed, timed out...). Safe to
     * run repeatedly or concurrently: a start that loses a race to another start counts as running.
     */
    async reconcileConnectionWorkflows(_input: Record<string, never> = {}): Promise<ReconcileResult> {
      if (!deps.temporal) {
        throw ApplicationFailure.nonRetryable('the supervisor needs a Temporal client: build the activities with `temporal: { client, taskQueue }`', 'MissingDependency');
      }
      const temporal = deps.temporal;
      const connections = await deps.connections.listConnectionsWithStatus(SUPERVISED_STATUSES);
      const result: ReconcileResult = { supervised: connections.length, alreadyRunning: 0, started: [] };
      // Sequential on purpose: a handful of cheap RPCs per connection, no burst on the frontend.
      for (const connection of connections) {
        const started = await ensureRunning(temporal, connection);
        if (started) result.started.push(started);
        else result.alreadyRunning += 1;
      }
      await observeConnectionWorkflows(temporal);
      return result;
    },
  };
}

async function ensureRunning(temporal: TemporalDependency, connection: ConnectionSummary): Promise<StartedConnectionSync | undefined> {
  const { client, taskQueue } = temporal;
  const workflowId = syncWorkflowId(connection.tenantId, connection.id);
  const previous = await latestStatus(client, workflowId);
  if (previous === 'RUNNING') return undefined;

  const options = {
    workflowId,
    taskQueue,
    args: [{ tenantId: connection.tenantId, connectionId: connection.id }] as Parameters<typeof connectionSync>,
    // A closed run may be replaced; a running one never is (FAIL: the race loser learns it is running).
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [
      { key: searchAttributes.TenantId, value: connection.tenantId },
      { key: searchAttributes.ConnectionId, value: connection.id },
      { key: searchAttributes.CrmProvider, value: connection.provider },
    ],
  };
  try {
    const runId =
      connection.status === 'paused'
        ? // The pause signal lands in the first workflow task, before the first poll could run.
          // (signalWithStart has no FAIL policy: losing a race pauses the running workflow, which
          // is what the stored status says anyway.)
          (await client.workflow.signalWithStart('connectionSync', { ...options, signal: pauseSyncSignal, signalArgs: [{ reason: PAUSED_BY_STATUS_REASON }] })).signaledRunId
        : (await client.workflow.start('connectionSync', { ...options, workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL })).firstExecutionRunId;
    return {
      tenantId: connection.tenantId,
      connectionId: connection.id,
      workflowId,
      runId,
      connectionStatus: connection.status,
      previous,
    };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return undefined;
    throw error;
  }
}

async function latestStatus(client: Client, workflowId: string): Promise<'missing' | WorkflowExecutionStatusName> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'missing';
    throw error;
  }
}

/**
 * The state, parked count and last sync of every running connection workflow, read from the
 * search attributes the workflows publish, into the connection gauges (metrics.ts): the alerts on
 * needs-reauth, paused and parked growth read them. Only metrics depend on it, so a visibility
 * query that fails leaves the previous pass's values and never fails the supervisor.
 */
async function observeConnectionWorkflows({ client, taskQueue }: TemporalDependency): Promise<void> {
  const observed: ObservedConnection[] = [];
  try {
    for await (const execution of client.workflow.list({ query: `WorkflowType = "connectionSync" AND ExecutionStatus = "Running" AND TaskQueue = "${taskQueue}"` })) {
      const attributes = execution.typedSearchAttributes;
      const tenantId = attributes.get(searchAttributes.TenantId);
      const connectionId = attributes.get(searchAttributes.ConnectionId);
      if (!tenantId || !connectionId) continue;
      observed.push({
        tenantId,
        connectionId,
        state: attributes.get(searchAttributes.SyncState) ?? 'starting',
        parked: attributes.get(searchAttributes.ParkedCount) ?? 0,
        lastSyncedAt: attributes.get(searchAttributes.LastSyncedAt),
      });
    }
  } catch {
    return;
  }
  recordConnectionStates(observed);
}

import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { changeNoticesSignal, type ChangeNotices } from '../workflows/messages';

export interface SignalTarget {
  tenantId: string;
  connectionId: string;
}

/** Delivers change notices to the connection's workflow, starting it if needed. Rejects when Temporal cannot be reached. */
export type SignalConnection = (target: SignalTarget, notices: ChangeNotices) => Promise<void>;

export interface TemporalSignalOptions {
  client: Client;
  taskQueue: string;
  /** Deadline for one signalWithStart (the sender's own timeout is seconds: HubSpot's is 5 s). Default 3,000 ms. */
  timeoutMs?: number;
}

/** `sync:<tenant>:<connection>` */
export function syncWorkflowId(target: SignalTarget): string {
  return `sync:${target.tenantId}:${target.connectionId}`;
}

/** signalWithStart of `connectionSync` with USE_EXISTING, as test/support/sync-harness.ts `notify()` does. */
export function temporalSignalConnection({ client, taskQueue, timeoutMs = 3000 }: TemporalSignalOptions): SignalConnection {
  return async (target, notices) => {
    await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.signalWithStart('connectionSync', {
        workflowId: syncWorkflowId(target),
        taskQueue,
        args: [{ tenantId: target.tenantId, connectionId: target.connectionId }],
        signal: changeNoticesSignal,
        signalArgs: [notices],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      }),
    );
  };
}

import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleOptionsStartWorkflowAction, type ScheduleUpdateOptions } from '@temporalio/client';
import { msToNumber, type Duration } from '@temporalio/common';
import type { supervisor } from '../workflows/supervisor';

export const SUPERVISOR_SCHEDULE_ID = 'crm-sync-supervisor';

export interface SupervisorScheduleOptions {
  /** The worker's task queue, where the supervisor workflow runs. */
  taskQueue: string;
  /**
   * How often every connection's workflow is checked (and restarted if it is not running).
   * @default '1 minute'
   */
  interval?: Duration;
  /**
   * One schedule per namespace in production; tests give their own.
   * @default 'crm-sync-supervisor'
   */
  scheduleId?: string;
}

/** What `ensureSupervisorSchedule` did: nothing is `unchanged`, so every worker may call it at start-up. */
export type EnsureScheduleOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Creates the Temporal Schedule that runs the `supervisor` workflow every `interval`, or brings an
 * existing one in line with these options. Idempotent and safe to call from every worker at
 * start-up. A run still going when the next is due is skipped (overlap SKIP), a run is capped at
 * a few intervals so a stuck one cannot block the schedule, and missed runs are not caught up
 * after an outage beyond one interval: the next run reconciles everything anyway.
 */
export async function ensureSupervisorSchedule(client: Client, options: SupervisorScheduleOptions): Promise<EnsureScheduleOutcome> {
  const scheduleId = options.scheduleId ?? SUPERVISOR_SCHEDULE_ID;
  const everyMs = msToNumber(options.interval ?? '1 minute');
  const desired = desiredSchedule(scheduleId, options.taskQueue, everyMs);
  try {
    await client.schedule.create({ scheduleId, ...desired });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  if (matches(await handle.describe(), desired)) return 'unchanged';
  // Keeps the schedule's state (paused by an operator, a note) and replaces what we own.
  await handle.update((previous) => ({ ...previous, ...desired }));
  return 'updated';
}

type SupervisorAction = ScheduleOptionsStartWorkflowAction<typeof supervisor>;

function desiredSchedule(scheduleId: string, taskQueue: string, everyMs: number): Pick<ScheduleUpdateOptions<SupervisorAction>, 'spec' | 'action' | 'policies'> {
  return {
    spec: { intervals: [{ every: everyMs }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'supervisor',
      // The schedule appends each run's scheduled time to this id.
      workflowId: scheduleId,
      taskQueue,
      args: [{}],
      workflowRunTimeout: Math.max(5 * everyMs, 60_000),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(everyMs, 10_000), pauseOnFailure: false },
  };
}

function matches(current: ScheduleDescription, desired: ReturnType<typeof desiredSchedule>): boolean {
  const intervals = current.spec.intervals ?? [];
  const { action, policies } = desired;
  return (
    intervals.length === 1 &&
    msToNumber(intervals[0]!.every) === desired.spec.intervals![0]!.every &&
    (current.spec.calendars ?? []).length === 0 &&
    current.action.workflowType === action.workflowType &&
    current.action.workflowId === action.workflowId &&
    current.action.taskQueue === action.taskQueue &&
    current.action.workflowRunTimeout !== undefined &&
    msToNumber(current.action.workflowRunTimeout) === action.workflowRunTimeout &&
    current.policies.overlap === policies!.overlap &&
    current.policies.catchupWindow === policies!.catchupWindow &&
    current.policies.pauseOnFailure === policies!.pauseOnFailure
  );
}

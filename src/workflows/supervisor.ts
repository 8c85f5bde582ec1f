import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import { z } from 'zod';
import type { Activities } from '../activities';
import type { ReconcileResult } from '../activities/supervisor-activities';
import { temporalCall } from './activity-options';

/** Nothing to say yet; an object so fields can be added without breaking the schedule's action. */
export const supervisorInputSchema = z.object({}).strict();
export type SupervisorInput = z.input<typeof supervisorInputSchema>;

const temporal = proxyActivities<Activities>(temporalCall);

/**
 * One reconcile pass: every connection that is not disabled gets a running `connectionSync`
 * (started if it was missing, terminated, failed...). Run by the `crm-sync-supervisor` schedule
 * (src/client/supervisor-schedule.ts) every minute, or by hand:
 *   temporal workflow start --type supervisor --task-queue crm-sync --input '{}'
 * Short-lived on purpose: the schedule is the loop, so there is no history to continue-as-new.
 */
export async function supervisor(rawInput: unknown = {}): Promise<ReconcileResult> {
  const parsed = supervisorInputSchema.safeParse(rawInput ?? {});
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid supervisor input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`, 'InvalidInput');
  }
  return temporal.reconcileConnectionWorkflows({});
}

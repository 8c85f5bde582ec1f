import { z } from 'zod';
import type { ErrorClass } from '../../connectors/errors';

/**
 * Parked records of these classes are retried on a timer, without anyone asking: the target was
 * down or out of breath, and will not stay so. Validation failures wait for a mapping or settings
 * change instead (retrying an unchanged record against an unchanged mapping fails again); the
 * other classes (conflict, permission, not-found) need an operator.
 */
export const SELF_HEALING_CLASSES: readonly ErrorClass[] = ['transient', 'rate-limited'];

/** Retried after a config change (configChanged): the mapping or settings that refused them may have changed. */
export const CONFIG_CHANGE_CLASSES: readonly ErrorClass[] = ['validation'];

/** How far apart automatic retries are: the first after `firstRetryMs`, each next twice as far, at most `maxRetryMs`. */
export interface SelfHealingSettings {
  firstRetryMs: number;
  maxRetryMs: number;
}

/** One hour, two, four... a day at most: a vendor outage rarely lasts a day, and a daily retry of a dead target costs nothing. */
export const DEFAULT_SELF_HEALING: SelfHealingSettings = { firstRetryMs: 60 * 60_000, maxRetryMs: 24 * 60 * 60_000 };

/**
 * Where the connection's automatic retries stand: one schedule for all its self-healing records
 * (not one per record: most of them share a cause, the target's outage, and records beyond the
 * in-state window live in PostgreSQL where the workflow cannot keep timers for them). Carried
 * across continue-as-new, so a run does not start the schedule over.
 */
export const selfHealingScheduleSchema = z
  .object({
    /** Automatic retries made since self-healing records were last absent. */
    round: z.number().int().min(0),
    /** When the next automatic retry is due (workflow time); null while no such record is parked. */
    nextAt: z.string().nullable(),
  })
  .default({ round: 0, nextAt: null });

export type SelfHealingSchedule = z.output<typeof selfHealingScheduleSchema>;

export const IDLE_SCHEDULE: SelfHealingSchedule = { round: 0, nextAt: null };

/** The wait before automatic retry number `round + 1`: firstRetryMs doubled `round` times, capped. */
export function selfHealingDelayMs(round: number, settings: SelfHealingSettings): number {
  return Math.min(settings.maxRetryMs, settings.firstRetryMs * 2 ** Math.min(round, 40));
}

/**
 * The schedule's next step at `now`, given how many self-healing records are parked: none resets
 * it; the first starts the clock; a due retry is made (`retryNow`) and the next one set twice as
 * far. Pure, so the workflow's timer decisions are unit-tested without Temporal.
 */
export function selfHealingStep(schedule: SelfHealingSchedule, { healable, now, settings }: { healable: number; now: number; settings: SelfHealingSettings }): { schedule: SelfHealingSchedule; retryNow: boolean } {
  if (healable === 0) return { schedule: IDLE_SCHEDULE, retryNow: false };
  if (schedule.nextAt === null) return { schedule: { round: 0, nextAt: new Date(now + selfHealingDelayMs(0, settings)).toISOString() }, retryNow: false };
  if (now < Date.parse(schedule.nextAt)) return { schedule, retryNow: false };
  const round = schedule.round + 1;
  return { schedule: { round, nextAt: new Date(now + selfHealingDelayMs(round, settings)).toISOString() }, retryNow: true };
}

import type { SyncConfig } from '../../activities/sync-activities';
import type { ConnectionSyncState } from '../connection-sync-state';
import { CONFIG_CHANGE_CLASSES, DEFAULT_SELF_HEALING, SELF_HEALING_CLASSES, selfHealingStep } from './self-healing-schedule';

/**
 * Parked records that heal themselves (docs/operations.md, "Self-healing"): transient and
 * rate-limited failures are retried on the workflow's own timer, 1 h after the first parks, then
 * 2 h, 4 h... 24 h at most, until none is left; validation failures are retried when the config
 * changes. A retry queues the records as an operator's `parked retry` does (those in the store page
 * by page), so a record lands, or parks again with one more attempt.
 */
export function healParked(state: ConnectionSyncState, config: SyncConfig): void {
  const healable = state.parked.countFailedWith(SELF_HEALING_CLASSES) + state.parked.selfHealingInStore;
  // A config loaded by an activity from before the setting existed lacks it.
  const settings = config.settings.selfHealing ?? DEFAULT_SELF_HEALING;
  const step = selfHealingStep(state.selfHealing, { healable, now: Date.now(), settings });
  state.selfHealing = step.schedule;
  if (step.retryNow) for (const ref of state.parked.retryFailedWith(SELF_HEALING_CLASSES)) state.pending.add(ref);
}

/** When the next automatic retry is due (the loop's wait ends then), or undefined. */
export function selfHealingDueAt(state: ConnectionSyncState): number | undefined {
  return state.selfHealing.nextAt === null ? undefined : Date.parse(state.selfHealing.nextAt);
}

/** After a mapping or settings change: what the old config refused is tried against the new one. */
export function retryAfterConfigChange(state: ConnectionSyncState): void {
  for (const ref of state.parked.retryFailedWith(CONFIG_CHANGE_CLASSES)) state.pending.add(ref);
}

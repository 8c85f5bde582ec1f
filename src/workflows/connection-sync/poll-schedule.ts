import type { SyncConfig } from '../../activities/sync-activities';
import type { ConnectionSyncState } from '../connection-sync-state';

/**
 * When a run's first poll is due. A run continued as new polls an interval after the last
 * complete poll, not at once: without this, a connection that continues as new often (a busy one)
 * polled at every hand-over, whatever its interval. At once still when no poll completed yet, or a
 * pass stopped for the hand-over (it resumes from its page), or notices were left behind (bounded
 * carry: the poll reads what they named).
 */
export function firstPollAt(state: ConnectionSyncState, config: SyncConfig): number {
  const now = Date.now();
  if (state.lastPolledAt === null || Object.keys(state.pollResume).length > 0 || state.pollAtOnce) return now;
  return Math.max(now, Date.parse(state.lastPolledAt) + config.settings.pollIntervalMs);
}

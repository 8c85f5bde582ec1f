import { recordOutcomes, type RecordOutcome as MetricOutcome } from '../observability/metrics';
import type { RecordOutcome } from './apply-to-target';

/** How one apply's outcomes count in `crm_sync_records_total`: created and updated records are synced, an echo is echoed. */
export function tallyOutcomes(outcomes: readonly RecordOutcome[], conflicts: number): Partial<Record<MetricOutcome, number>> {
  const tally: Partial<Record<MetricOutcome, number>> = {};
  const add = (outcome: MetricOutcome, count = 1): void => {
    tally[outcome] = (tally[outcome] ?? 0) + count;
  };
  for (const outcome of outcomes) {
    if (outcome.status === 'echo') add('echoed');
    else if (outcome.status === 'parked') add('parked');
    else if (outcome.status === 'refused-by-policy' || outcome.status === 'stale') add(outcome.status);
    else add('synced');
  }
  if (conflicts > 0) add('conflicted', conflicts);
  return tally;
}

/** Counts an apply to `targetConnectionId` (live or backfill) in the records metric. */
export function recordApplyOutcomes(
  scope: { tenantId: string; targetConnectionId: string; objectType: string; path: 'live' | 'backfill' },
  result: { outcomes: readonly RecordOutcome[]; conflicts: number },
): void {
  recordOutcomes({ tenantId: scope.tenantId, connectionId: scope.targetConnectionId, objectType: scope.objectType, path: scope.path }, tallyOutcomes(result.outcomes, result.conflicts));
}

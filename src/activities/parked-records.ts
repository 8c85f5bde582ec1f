import type { ParkedOverflowFlush, ParkedRecordsRepository } from '../store/parked-records-repository';
import type { ParkedRecord } from '../workflows/connection-sync-state';

/** The connection workflow's overflow of parked records (docs/architecture.md, "Bounded workflow state"). */
export function createParkedRecordsActivities(deps: { parked: ParkedRecordsRepository }) {
  return {
    /** Idempotent by the flush's sequence number: retried after it committed, it changes nothing. */
    flushParkedRecords(flush: ParkedOverflowFlush): Promise<{ count: number; oldestParkedAt: string | null }> {
      return deps.parked.flush(flush);
    },

    parkedRecordsPage(input: { connectionId: string; afterKey: string; keys: string[] | null; limit: number }): Promise<ParkedRecord[]> {
      return deps.parked.page(input.connectionId, input);
    },
  };
}

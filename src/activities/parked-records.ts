import type { ParkedOverflowFlush, ParkedRecordsRepository } from '../store/parked-records-repository';
import type { ParkedRecord } from '../workflows/connection-sync-state';

/** The connection workflow's overflow of parked records (docs/architecture.md, "Bounded workflow state"). */
export function createParkedRecordsActivities(deps: { parked: ParkedRecordsRepository }) {
  return {
    /** Idempotent by the flush's sequence number: retried after it committed, it changes nothing. */
    flushParkedRecords(flush: ParkedOverflowFlush): Promise<{ count: number; oldestParkedAt: string | null; selfHealing: number }> {
      return deps.parked.flush(flush);
    },

    /** `errorClasses`: only records that failed with one of them (an automatic retry). */
    parkedRecordsPage(input: { connectionId: string; afterKey: string; keys: string[] | null; limit: number; errorClasses?: string[] | undefined }): Promise<ParkedRecord[]> {
      return deps.parked.page(input.connectionId, input);
    },
  };
}

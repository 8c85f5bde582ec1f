import type { ChangeRef } from '../model/sync';
import type { CarriedNoticeKey, CarriedNoticesRepository } from '../store/carried-notices-repository';

/** Change notices beyond what continue-as-new carries (docs/architecture.md, "Bounded workflow state"). */
export function createCarriedNoticesActivities(deps: { carriedNotices: CarriedNoticesRepository }) {
  return {
    /** Idempotent: a notice stored twice is one row, merged as the workflow's queue merges it. */
    storeCarriedNotices(input: { connectionId: string; notices: ChangeRef[] }): Promise<void> {
      return deps.carriedNotices.add(input.connectionId, input.notices);
    },

    /** Reads only: the rows stay until the workflow, holding them in its state, forgets them. */
    carriedNoticesPage(input: { connectionId: string; limit: number }): Promise<ChangeRef[]> {
      return deps.carriedNotices.oldest(input.connectionId, input.limit);
    },

    forgetCarriedNotices(input: { connectionId: string; keys: CarriedNoticeKey[] }): Promise<void> {
      return deps.carriedNotices.remove(input.connectionId, input.keys);
    },
  };
}

import type { HeldDeletionsRepository } from '../store/held-deletions-repository';
import type { ObjectType } from '../model/identifiers';

/** The connection workflow's overflow of held deletions (docs/architecture.md, "Bounded workflow state"). */
export function createHeldDeletionsActivities(deps: { held: HeldDeletionsRepository }) {
  return {
    /** Idempotent: ids already held are not held twice. Answers how many ids the hold has in the store. */
    storeHeldDeletions(input: { connectionId: string; holdId: string; objectType: ObjectType; externalIds: string[] }): Promise<number> {
      return deps.held.add(input);
    },

    heldDeletionsPage(input: { connectionId: string; holdId: string; afterId: string; limit: number }): Promise<string[]> {
      return deps.held.page(input);
    },

    forgetHeldDeletions(input: { connectionId: string; holdId: string }): Promise<void> {
      return deps.held.forget(input);
    },
  };
}

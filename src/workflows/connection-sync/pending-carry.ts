import type { ChangeRef } from '../../model/sync';

/**
 * Change notices continue-as-new carries at most. Notices pile up while a connection is paused,
 * re-authorising or quota-paused (webhooks keep coming) or under a flood faster than it applies
 * them: carried whole, tens of thousands of them would outgrow Temporal's payload limit (about
 * 100 bytes each: 1,000 stay under 100 KiB).
 */
export const PENDING_CARRY_LIMIT = 1000;

/**
 * The notices a run hands over: those a poll could not find again first (retries of parked
 * records and deletions confirmed by a read carry no vendor event id), then the oldest others, up
 * to `limit`. What is left behind is a change notice the vendor also reports through the poll
 * (changes since the watermark, deletions through the deletion feed), so the next run polls at
 * once (`leftBehind` > 0) instead of carrying them: nothing is lost, only re-read.
 */
export function boundPending(refs: readonly ChangeRef[], limit: number = PENDING_CARRY_LIMIT): { pending: ChangeRef[]; leftBehind: number } {
  const unpolled = refs.filter((ref) => ref.eventId === undefined);
  const noticed = refs.filter((ref) => ref.eventId !== undefined);
  const pending = [...unpolled, ...noticed].slice(0, limit);
  return { pending, leftBehind: refs.length - pending.length };
}

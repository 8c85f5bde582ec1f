import type { HeldDeletions } from '../connection-sync-state';

/**
 * How many ids of one hold a connection workflow keeps in its own state; the rest live in
 * PostgreSQL (`held_deletions`). Holds are carried across continue-as-new: 100 ids of about 20
 * bytes per object type keep that input small whatever the mass delete.
 */
export const HELD_WINDOW = 100;

/**
 * Adds ids to a hold: into the hold's own list while it has room (the sample operators see, and
 * all of it for a hold that never overflowed), the rest into `toStore` for the next flush. Ids
 * already in the list are not added again; the store drops its own duplicates.
 */
export function addToHold(held: HeldDeletions, externalIds: readonly string[], window: number): void {
  const inState = new Set(held.externalIds);
  const fresh = [...new Set(externalIds)].filter((id) => !inState.has(id));
  const room = Math.max(0, window - held.externalIds.length);
  held.externalIds.push(...fresh.slice(0, room));
  const rest = fresh.slice(room);
  if (rest.length > 0) held.toStore = [...new Set([...(held.toStore ?? []), ...rest])];
}

/** Every id of a hold: in state, waiting for a flush, and in the store (as of the last flush). */
export function heldCount(held: HeldDeletions): number {
  return held.externalIds.length + (held.toStore?.length ?? 0) + (held.inStore ?? 0);
}

/** The guard's settings (sync settings `massDeleteGuard`). */
export interface MassDeleteGuard {
  /** Largest share of a connection's synced records of one object that may go within the window. */
  maxShare: number;
  /** Fewer deletions than this always pass: small connections delete a few records legitimately. */
  minDeletions: number;
  windowMs: number;
}

export interface MassDeleteInput {
  /** Deletions about to be applied. */
  deletions: number;
  /** Deletions of the same object already applied within the window. */
  recentlyApplied: number;
  /** Records of this object the connection syncs now (before these deletions). */
  syncedRecords: number;
}

export type MassDeleteVerdict = { hold: false } | { hold: true; share: number; reason: string };

/**
 * Whether deletions must wait for an operator. Counted over a window, not per batch: a mass
 * delete arriving as many small webhook batches is still a mass delete.
 */
export function massDeleteVerdict(input: MassDeleteInput, guard: MassDeleteGuard): MassDeleteVerdict {
  const total = input.deletions + input.recentlyApplied;
  // Those already applied were part of the base they were measured against.
  const base = Math.max(1, input.syncedRecords + input.recentlyApplied);
  const share = total / base;
  if (total < guard.minDeletions || share <= guard.maxShare) return { hold: false };
  return {
    hold: true,
    share,
    reason: `${total} of ${base} synced records deleted within ${Math.round(guard.windowMs / 60_000)} min (${(share * 100).toFixed(1)}% > ${(guard.maxShare * 100).toFixed(1)}%)`,
  };
}

/** Deletions applied per object, kept for the guard's window (plain data: workflow state). */
export interface AppliedDeletions {
  at: number;
  count: number;
}

export function countWithin(log: readonly AppliedDeletions[], now: number, windowMs: number): number {
  return log.filter((entry) => now - entry.at < windowMs).reduce((sum, entry) => sum + entry.count, 0);
}

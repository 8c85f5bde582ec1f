import { z } from 'zod';

/** Why the change log could not be followed, when, and what took over (shown by the status query). */
export interface ChangeEventFallback {
  reason: string;
  at: string;
  /** What covers the changes the log did not list: a poll from the watermark. */
  recovery: 'poll';
}

export const changeEventsCarriedSchema = z.object({
  /** Where the next read of the change log starts (opaque, the vendor's); null = at its newest event. */
  replayId: z.string().nullable(),
  received: z.number().int().default(0),
  lastFallback: z.object({ reason: z.string(), at: z.string(), recovery: z.literal('poll') }).nullable().default(null),
  /** Why the last read failed (past its retries), until a read succeeds; the poll covers the time meanwhile. */
  lastError: z.string().nullable().default(null),
});

export type ChangeEventsCarried = z.output<typeof changeEventsCarriedSchema>;

/** The status query's view of the change log: where it stands and the last time it fell back to polling. */
export type ChangeEventsStatus = ChangeEventsCarried;

/**
 * The connection's place in its change log (Salesforce CDC, HubSpot's journal): kept in workflow state, so nothing
 * is lost while the worker, the network or the vendor is down, within the vendor's retention.
 */
export class ChangeEventsState {
  replayId: string | null;
  received: number;
  lastFallback: ChangeEventFallback | null;
  lastError: string | null;
  /** Set when the log could not list some changes: the next pass polls before anything else. */
  pollNow = false;
  /** After a failed read, when to read again (workflow time; not carried: a new run tries at once). */
  retryAt: number | null = null;

  constructor(carried: ChangeEventsCarried | undefined) {
    this.replayId = carried?.replayId ?? null;
    this.received = carried?.received ?? 0;
    this.lastFallback = carried?.lastFallback ?? null;
    this.lastError = carried?.lastError ?? null;
  }

  fallBack(reason: string, at: string): void {
    this.lastFallback = { reason, at, recovery: 'poll' };
    this.pollNow = true;
  }

  carry(): ChangeEventsCarried {
    return { replayId: this.replayId, received: this.received, lastFallback: this.lastFallback, lastError: this.lastError };
  }
}

import { z } from 'zod';
import type { ConnectorErrorInfo } from '../connectors/errors';
import { objectTypeSchema, slugSchema, type CrmProvider, type ObjectType } from '../model/identifiers';
import { ChangeBuffer, countWithin, SeenEventIds, type AppliedDeletions, type ChangeRef } from '../model/sync';
import { ParkedRecords, parkedKey, parkedOverflowSchema, PARKED_WINDOW } from './connection-sync/parked-records';
import { ChangeEventsState, changeEventsCarriedSchema, type ChangeEventsStatus } from './connection-sync/change-events-state';
import { addToHold, HELD_WINDOW, heldCount } from './connection-sync/held-window';
import { boundPending } from './connection-sync/pending-carry';
import { selfHealingScheduleSchema, type SelfHealingSchedule } from './connection-sync/self-healing-schedule';
import { webhookRenewalCarriedSchema } from './connection-sync/webhook-renewal-state';

/**
 * The connection's state as operators filter on it (search attribute `SyncState`); every value
 * but `running` and `paused` is a stuck sync (docs/operations.md, "Finding stuck syncs").
 */
export type SyncState = 'running' | 'paused' | 'needs-reauth' | 'quota-paused' | 'awaiting-approval' | 'degraded';

/** A record that could not be synced to one target, kept visible until retried or skipped. */
export interface ParkedRecord {
  /** `<objectType>:<sourceExternalId>:<targetConnectionId>` */
  key: string;
  objectType: ObjectType;
  sourceExternalId: string;
  targetConnectionId: string;
  reason: 'dependency' | 'failed';
  /**
   * What could not be done: write the record (default), or delete it in the target; parked against
   * this connection itself, `delete` is a deletion notice whose confirming read failed.
   */
  operation?: 'delete' | undefined;
  error: ConnectorErrorInfo;
  parkedAt: string;
  attempts: number;
}

/** Deletions the mass-delete guard holds until an operator approves or rejects them. */
export interface HeldDeletions {
  /** `<objectType>:<n>`: what the approve and reject updates name. */
  id: string;
  objectType: ObjectType;
  /** Source record ids (this connection's). */
  externalIds: string[];
  reason: string;
  heldAt: string;
  /** Set once an operator decided; a rejected hold is applied as `ignore`. */
  decision?: 'approved' | 'rejected' | undefined;
  /** Ids beyond the in-state window, in PostgreSQL (`held_deletions`) as of the last flush. */
  inStore?: number | undefined;
  /** Ids beyond the window not yet written there (never carried: continue-as-new waits for the flush). */
  toStore?: string[] | undefined;
  /** A decided hold being applied: the store's ids up to this one are done. */
  storeCursor?: string | undefined;
}

/** What the `heldDeletions` query shows: the numbers and a sample, not thousands of ids. */
export interface HeldDeletionsSummary {
  id: string;
  objectType: ObjectType;
  count: number;
  reason: string;
  heldAt: string;
  sample: string[];
  /** How many of `count` are in PostgreSQL, beyond the workflow's window (the CLI lists them there). */
  inStore: number;
}

export interface SyncStats {
  synced: number;
  echoes: number;
  conflicts: number;
  refusedByPolicy: number;
  /** Change notices dropped as redeliveries of an event already accepted. */
  duplicatesDropped: number;
  /** Source reads older than what the source already held from the other direction: not applied. */
  staleReads: number;
  /** Records deleted in a target (or found gone there) because they were deleted here. */
  deletesApplied: number;
  /** Records kept in a target but no longer synced because they were deleted here (`archive`). */
  deletesArchived: number;
}

export interface SyncStatus {
  tenantId: string;
  connectionId: string;
  state: SyncState;
  pausedReason: string | null;
  watermarks: Partial<Record<ObjectType, string>>;
  pending: number;
  /** Parked records in all: in workflow state and in PostgreSQL (`parkedInStore` of them). */
  parked: number;
  parkedInStore: number;
  /** When the longest-parked record was parked. */
  oldestParkedAt: string | null;
  /** This CRM's quota is spent: no calls to it before then (or until resumeSync). */
  quotaPausedUntil: string | null;
  /** Deletions held by the mass-delete guard, waiting for an operator. */
  heldDeletions: number;
  stats: SyncStats;
  lastSyncedAt: string | null;
  /** When the last poll (changes and deletions of every object) finished. */
  lastPolledAt: string | null;
  pollError: string | null;
  /**
   * Why crm-sync's own database failed the last config load or deletion plan, while what failed
   * is still to be done (the run goes on with the config it has; deletion notices wait in `pending`).
   */
  storeError: string | null;
  /** Where the change log (Salesforce CDC) stands, for a connection that reads one; else absent. */
  changeEvents?: ChangeEventsStatus | undefined;
}

const changeRefSchema = z.object({
  objectType: objectTypeSchema,
  externalId: z.string().min(1),
  modifiedAt: z.string().optional(),
  eventId: z.string().optional(),
  deleted: z.boolean().optional(),
});

/** What continue-as-new carries: everything the next run needs, nothing it can re-derive. */
export const carriedStateSchema = z.object({
  watermarks: z.partialRecord(objectTypeSchema, z.string()).default({}),
  seenEventIds: z.array(z.string()).default([]),
  pending: z.array(changeRefSchema).default([]),
  parked: z.array(z.custom<ParkedRecord>((value) => typeof value === 'object' && value !== null && 'key' in value)).default([]),
  stats: z
    .object({
      synced: z.number(),
      echoes: z.number(),
      conflicts: z.number(),
      refusedByPolicy: z.number(),
      duplicatesDropped: z.number().default(0),
      staleReads: z.number().default(0),
      deletesApplied: z.number().default(0),
      deletesArchived: z.number().default(0),
    })
    .default({ synced: 0, echoes: 0, conflicts: 0, refusedByPolicy: 0, duplicatesDropped: 0, staleReads: 0, deletesApplied: 0, deletesArchived: 0 }),
  deletionWatermarks: z.partialRecord(objectTypeSchema, z.string()).default({}),
  /** Token-based deletion feeds (Dataverse delta links): where each object's next scan starts. */
  deletionCursors: z.partialRecord(objectTypeSchema, z.string()).default({}),
  heldDeletions: z
    .array(z.object({ id: z.string(), objectType: objectTypeSchema, externalIds: z.array(z.string()), reason: z.string(), heldAt: z.string(), inStore: z.number().int().optional() }))
    .default([]),
  /** Approved by an operator, not yet applied. */
  approvedDeletions: z
    .array(
      z.object({
        id: z.string(),
        objectType: objectTypeSchema,
        externalIds: z.array(z.string()),
        reason: z.string(),
        heldAt: z.string(),
        decision: z.enum(['approved', 'rejected']).optional(),
        inStore: z.number().int().optional(),
        storeCursor: z.string().optional(),
      }),
    )
    .default([]),
  appliedDeletions: z.partialRecord(objectTypeSchema, z.array(z.object({ at: z.number(), count: z.number() }))).default({}),
  heldSequence: z.number().int().default(0),
  paused: z.object({ reason: z.string().nullable() }).nullable().default(null),
  lastSyncedAt: z.string().nullable().default(null),
  /** Parked records beyond the in-state window live in PostgreSQL: only their counters ride here. */
  parkedOverflow: parkedOverflowSchema,
  needsReauth: z.boolean().default(false),
  quotaPausedUntil: z.string().nullable().default(null),
  /** A poll pass that stopped for continue-as-new: where each object's next pass resumes (the page cursor and the watermark it was issued for). */
  pollResume: z.partialRecord(objectTypeSchema, z.object({ since: z.string(), cursor: z.string() })).default({}),
  /** Absent until the connection reads a change log. */
  changeEvents: changeEventsCarriedSchema.optional(),
  /** Automatic retries of parked records (connection-sync/self-healing.ts). */
  selfHealing: selfHealingScheduleSchema,
  /** When the last complete poll finished: the next run polls an interval after it, not at once (`carry-last-polled-at`). */
  lastPolledAt: z.string().nullable().default(null),
  /** Notices were left behind at the hand-over (pending-carry.ts): the run polls at once. */
  pollAtOnce: z.boolean().default(false),
  /** When the connection's webhook subscriptions lapse and are renewed (runs after the `webhook-renewal` patch). */
  webhookRenewal: webhookRenewalCarriedSchema.optional(),
});

export const connectionSyncInputSchema = z.object({
  tenantId: slugSchema,
  connectionId: slugSchema,
  /**
   * Continue as new once history holds this many events, besides when the server suggests it.
   * Tests set it low to exercise the hand-over; production leaves it to the server.
   */
  continueAsNewAfterEvents: z.number().int().min(20).optional(),
  /** Parked records kept in workflow state before the rest go to PostgreSQL (default PARKED_WINDOW); tests lower it. */
  parkedWindow: z.number().int().min(1).optional(),
  /** Ids of one held deletion kept in workflow state before the rest go to PostgreSQL (default HELD_WINDOW); tests lower it. */
  heldWindow: z.number().int().min(1).optional(),
  carried: carriedStateSchema.optional(),
});

export type CarriedState = z.output<typeof carriedStateSchema>;
export type ConnectionSyncInput = z.input<typeof connectionSyncInputSchema>;

/** How many event ids to remember for dropping redeliveries. */
const SEEN_EVENT_CAPACITY = 5000;

/** The connection workflow's state and its transitions; no Temporal calls here. */
export class ConnectionSyncState {
  readonly pending: ChangeBuffer;
  readonly seen: SeenEventIds;
  readonly parked: ParkedRecords;
  watermarks: Partial<Record<ObjectType, string>>;
  deletionWatermarks: Partial<Record<ObjectType, string>>;
  deletionCursors: Partial<Record<ObjectType, string>>;
  /** See CarriedState.pollResume. */
  pollResume: Partial<Record<ObjectType, { since: string; cursor: string }>>;
  readonly heldDeletions = new Map<string, HeldDeletions>();
  /** Decided by an operator, waiting to be applied (rejected ones as `ignore`). */
  approvedDeletions: HeldDeletions[];
  appliedDeletions: Partial<Record<ObjectType, AppliedDeletions[]>>;
  private heldSequence: number;
  stats: SyncStats;
  paused: { reason: string | null } | null;
  needsReauth: boolean;
  /** See SyncStatus.quotaPausedUntil. */
  quotaPausedUntil: string | null;
  configChanged = false;
  /** This connection's CRM, once the config is loaded (for failure attribution). */
  provider: CrmProvider = 'salesforce';
  /** Why the last poll stopped early, until a poll succeeds. */
  pollError: string | null = null;
  lastPolledAt: string | null;
  lastSyncedAt: string | null;
  /** See CarriedState.selfHealing. */
  selfHealing: SelfHealingSchedule;
  /** See CarriedState.pollAtOnce; cleared by a poll that got through. */
  pollAtOnce: boolean;
  /** The config could not be reloaded: the run keeps the one it has and reloads at every pass until it can. */
  configStale = false;
  /** See SyncStatus.storeError. */
  storeError: string | null = null;
  /**
   * Deletion notices a read confirmed whose deletions could not be planned (the store failed):
   * back in the queue at the next pass, read and planned again. Carried as pending.
   */
  private deferredDeletions: ChangeRef[] = [];
  /** The change log's position (Salesforce CDC); carried and shown only for a connection that reads one. */
  readonly changeEvents: ChangeEventsState;
  private readonly changeEventsCarried: boolean;

  constructor(
    readonly tenantId: string,
    readonly connectionId: string,
    carried: CarriedState = carriedStateSchema.parse({}),
    /** Parked records kept in state; Infinity for runs from before the overflow (they replay as they ran). */
    parkedWindow: number = PARKED_WINDOW,
    /** Ids of one hold kept in state; Infinity for runs from before the `bounded-carry` patch. */
    private readonly heldWindow: number = HELD_WINDOW,
  ) {
    this.pending = new ChangeBuffer(carried.pending);
    this.seen = new SeenEventIds(SEEN_EVENT_CAPACITY, carried.seenEventIds);
    this.parked = new ParkedRecords(carried.parked, carried.parkedOverflow, parkedWindow);
    this.needsReauth = carried.needsReauth;
    this.quotaPausedUntil = carried.quotaPausedUntil;
    this.watermarks = { ...carried.watermarks };
    this.deletionWatermarks = { ...carried.deletionWatermarks };
    this.deletionCursors = { ...carried.deletionCursors };
    this.pollResume = { ...carried.pollResume };
    for (const held of carried.heldDeletions) this.heldDeletions.set(held.id, held);
    this.approvedDeletions = [...carried.approvedDeletions];
    this.appliedDeletions = { ...carried.appliedDeletions };
    this.heldSequence = carried.heldSequence;
    this.stats = { ...carried.stats };
    this.paused = carried.paused;
    this.lastSyncedAt = carried.lastSyncedAt;
    this.lastPolledAt = carried.lastPolledAt;
    this.selfHealing = { ...carried.selfHealing };
    this.pollAtOnce = carried.pollAtOnce;
    this.changeEvents = new ChangeEventsState(carried.changeEvents);
    this.changeEventsCarried = carried.changeEvents !== undefined;
  }

  /** Whether the change log is part of this connection's state (read in this run or an earlier one). */
  get readsChangeEvents(): boolean {
    const log = this.changeEvents;
    return this.changeEventsCarried || log.received > 0 || log.replayId !== null || log.lastFallback !== null || log.lastError !== null;
  }

  /** Accepts change notices, dropping redeliveries of events already seen. Returns how many were new. */
  notice(events: readonly ChangeRef[]): number {
    let accepted = 0;
    for (const event of events) {
      if (event.eventId !== undefined && !this.seen.accept(event.eventId)) {
        this.stats.duplicatesDropped += 1;
        continue;
      }
      this.pending.add(event);
      accepted += 1;
    }
    return accepted;
  }

  park(record: Omit<ParkedRecord, 'key' | 'attempts'>): void {
    this.parked.park(record);
  }

  unpark(objectType: ObjectType, sourceExternalId: string, targetConnectionId: string): void {
    this.parked.unpark(parkedKey(objectType, sourceExternalId, targetConnectionId));
  }

  /**
   * Puts parked records back in the queue: the record is re-read from the source, and a parked
   * delete that the source confirms gone is applied again.
   */
  retryParked(keys?: readonly string[]): number {
    const { refs, count } = this.parked.retry(keys);
    for (const ref of refs) this.pending.add(ref);
    return count;
  }

  /** Deletion notices whose deletions the store could not plan: nothing dropped, nothing deleted until a later pass plans them. */
  deferDeletions(refs: readonly ChangeRef[], storeError: string): void {
    this.deferredDeletions.push(...refs);
    this.storeError = storeError;
  }

  /**
   * At the start of a pass: deferred deletion notices go back in the queue, so the pass reads them
   * again (a record restored meanwhile stays) and plans what is still gone.
   */
  requeueDeferredDeletions(): void {
    for (const ref of this.deferredDeletions) this.pending.add(ref);
    this.deferredDeletions = [];
  }

  /** At the end of a pass: the store's error is over once nothing it failed is left to do. */
  settleStoreError(): void {
    if (!this.configStale && this.deferredDeletions.length === 0) this.storeError = null;
  }

  /** The pending hold of an object, if any: later deletions of it join the hold instead of slipping past. */
  heldFor(objectType: ObjectType): HeldDeletions | undefined {
    return [...this.heldDeletions.values()].find((held) => held.objectType === objectType);
  }

  holdDeletions(objectType: ObjectType, externalIds: readonly string[], reason: string, heldAt: string): HeldDeletions {
    const existing = this.heldFor(objectType);
    if (existing) {
      addToHold(existing, externalIds, this.heldWindow);
      return existing;
    }
    this.heldSequence += 1;
    const held: HeldDeletions = { id: `${objectType}:${this.heldSequence}`, objectType, externalIds: [], reason, heldAt };
    addToHold(held, externalIds, this.heldWindow);
    this.heldDeletions.set(held.id, held);
    return held;
  }

  /** Moves a hold to the apply queue with the operator's decision; undefined when no such hold is pending. */
  decideDeletions(id: string, decision: 'approved' | 'rejected'): HeldDeletions | undefined {
    const held = this.heldDeletions.get(id);
    if (!held) return undefined;
    this.heldDeletions.delete(id);
    const decided = { ...held, decision };
    this.approvedDeletions.push(decided);
    return decided;
  }

  recordAppliedDeletions(objectType: ObjectType, at: number, count: number, windowMs: number): void {
    const log = (this.appliedDeletions[objectType] ?? []).filter((entry) => at - entry.at < windowMs);
    log.push({ at, count });
    this.appliedDeletions[objectType] = log;
  }

  recentlyAppliedDeletions(objectType: ObjectType, now: number, windowMs: number): number {
    return countWithin(this.appliedDeletions[objectType] ?? [], now, windowMs);
  }

  heldDeletionsSummary(): HeldDeletionsSummary[] {
    return [...this.heldDeletions.values()].map((held) => ({
      id: held.id,
      objectType: held.objectType,
      count: heldCount(held),
      reason: held.reason,
      heldAt: held.heldAt,
      sample: held.externalIds.slice(0, 20),
      inStore: held.inStore ?? 0,
    }));
  }

  skipParked(keys: readonly string[]): number {
    return this.parked.skip(keys);
  }

  /** Whether this CRM's quota pause is still on at `now` (workflow time). */
  quotaPaused(now: number): boolean {
    return this.quotaPausedUntil !== null && Date.parse(this.quotaPausedUntil) > now;
  }

  get syncState(): SyncState {
    if (this.needsReauth) return 'needs-reauth';
    if (this.paused) return 'paused';
    if (this.quotaPaused(Date.now())) return 'quota-paused';
    if (this.heldDeletions.size > 0) return 'awaiting-approval';
    return this.parked.size > 0 || this.pollError || this.storeError || this.changeEvents.lastError ? 'degraded' : 'running';
  }

  status(): SyncStatus {
    return {
      tenantId: this.tenantId,
      connectionId: this.connectionId,
      state: this.syncState,
      pausedReason: this.paused?.reason ?? null,
      watermarks: { ...this.watermarks },
      pending: this.pending.size + this.deferredDeletions.length,
      parked: this.parked.size,
      parkedInStore: this.parked.inStore,
      oldestParkedAt: this.parked.oldestParkedAt,
      quotaPausedUntil: this.quotaPaused(Date.now()) ? this.quotaPausedUntil : null,
      heldDeletions: this.heldDeletions.size,
      stats: { ...this.stats },
      lastSyncedAt: this.lastSyncedAt,
      lastPolledAt: this.lastPolledAt,
      pollError: this.pollError,
      storeError: this.storeError,
      ...(this.readsChangeEvents ? { changeEvents: this.changeEvents.carry() } : {}),
    };
  }

  /**
   * `withReauth`: whether the next run learns the connection needs re-authorisation (runs that
   * continued as new before the `carry-needs-reauth` patch forgot it); `withLastPolledAt`: whether
   * it learns when the last poll was (before `carry-last-polled-at`, each run polled at once);
   * `bounded`: at most PENDING_CARRY_LIMIT notices ride along (before `bounded-carry`, all).
   */
  carry({ withReauth, withLastPolledAt = false, bounded = false }: { withReauth: boolean; withLastPolledAt?: boolean; bounded?: boolean } = { withReauth: true }): CarriedState {
    const allPending = [...this.pending.toJSON(), ...this.deferredDeletions];
    const { pending, leftBehind } = bounded ? boundPending(allPending) : { pending: allPending, leftBehind: 0 };
    return {
      watermarks: { ...this.watermarks },
      seenEventIds: this.seen.toJSON(),
      pending,
      pollAtOnce: this.pollAtOnce || leftBehind > 0,
      ...this.parked.carry(),
      needsReauth: withReauth && this.needsReauth,
      quotaPausedUntil: this.quotaPausedUntil,
      stats: { ...this.stats },
      paused: this.paused,
      lastSyncedAt: this.lastSyncedAt,
      deletionWatermarks: { ...this.deletionWatermarks },
      deletionCursors: { ...this.deletionCursors },
      pollResume: { ...this.pollResume },
      heldDeletions: [...this.heldDeletions.values()],
      approvedDeletions: [...this.approvedDeletions],
      appliedDeletions: { ...this.appliedDeletions },
      heldSequence: this.heldSequence,
      selfHealing: { ...this.selfHealing },
      lastPolledAt: withLastPolledAt ? this.lastPolledAt : null,
      ...(this.readsChangeEvents ? { changeEvents: this.changeEvents.carry() } : {}),
    };
  }
}

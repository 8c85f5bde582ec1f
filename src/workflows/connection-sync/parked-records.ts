import { z } from 'zod';
import type { ErrorClass } from '../../connectors/errors';
import type { ObjectType } from '../../model/identifiers';
import type { ChangeRef } from '../../model/sync';
import type { ParkedRecord } from '../connection-sync-state';

/**
 * How many parked records a connection workflow keeps in its own state; the rest live in
 * PostgreSQL (`parked_records`). Workflow state is carried whole across continue-as-new and
 * Temporal refuses payloads over its blob size limit: 200 records of about 1 KiB each stay far
 * below it whatever the backlog.
 */
export const PARKED_WINDOW = 200;

/** What continue-as-new carries of the overflow: counters and a retry's position, never the records. */
export const parkedOverflowSchema = z
  .object({
    /** Rows in `parked_records` as of the last flush. */
    count: z.number().int().min(0),
    /** Flushes so far: each flush's number makes it idempotent. */
    sequence: z.number().int().min(0),
    /**
     * A retry of overflowed records in progress: the next page starts after `afterKey`; `keys` null
     * = all, `classes` (an automatic retry) = only records that failed with those error classes.
     */
    retry: z.object({ afterKey: z.string(), keys: z.array(z.string()).nullable(), classes: z.array(z.string()).nullable().default(null) }).nullable(),
    /** When the oldest record in the store was parked, as of the last flush. */
    oldestParkedAt: z.string().nullable(),
    /** Rows in the store that retry themselves (SELF_HEALING_CLASSES), as of the last flush. */
    selfHealing: z.number().int().min(0).default(0),
  })
  .default({ count: 0, sequence: 0, retry: null, oldestParkedAt: null, selfHealing: 0 });

export type ParkedOverflowState = z.output<typeof parkedOverflowSchema>;

/** One flush for the store: see ParkedRecordsRepository.flush. */
export interface ParkedFlush {
  sequence: number;
  park: ParkedRecord[];
  unpark: string[];
}

export function parkedKey(objectType: ObjectType, sourceExternalId: string, targetConnectionId: string): string {
  return `${objectType}:${sourceExternalId}:${targetConnectionId}`;
}

/** The change notice that makes a parked record's next attempt: re-read from the source (a delete: confirmed gone, then applied). */
export function retryRef(record: ParkedRecord): ChangeRef {
  return { objectType: record.objectType, externalId: record.sourceExternalId, ...(record.operation === 'delete' ? { deleted: true } : {}) };
}

/**
 * A connection's parked records: the first `windowSize` in workflow state, the rest in
 * PostgreSQL through flushes the workflow makes between steps (activities, so the state itself
 * does no I/O). Until a flush, changes to overflowed records wait in `unflushed` (null: unparked).
 * Plain data and deterministic, like the rest of ConnectionSyncState.
 */
export class ParkedRecords {
  private readonly window = new Map<string, ParkedRecord>();
  private readonly unflushed = new Map<string, ParkedRecord | null>();
  private overflow: ParkedOverflowState;
  /** A flush is on its way to the store: updates and signals handled meanwhile must treat its records as stored. */
  private flushing = false;

  constructor(
    initial: readonly ParkedRecord[],
    overflow: ParkedOverflowState,
    /** Infinity for runs started before the overflow existed (they replay as they ran). */
    readonly windowSize: number,
  ) {
    for (const record of initial) this.window.set(record.key, record);
    this.overflow = { ...overflow };
  }

  /** Every parked record: in state, and in the store as of the last flush. */
  get size(): number {
    return this.window.size + this.overflow.count + [...this.unflushed.values()].filter((op) => op !== null).length;
  }

  get inStore(): number {
    return this.overflow.count;
  }

  get overflowing(): boolean {
    return this.overflow.count > 0 || this.unflushed.size > 0 || this.flushing;
  }

  get oldestParkedAt(): string | null {
    const times = [...this.window.values()].map((record) => record.parkedAt);
    if (this.overflow.oldestParkedAt) times.push(this.overflow.oldestParkedAt);
    return times.length > 0 ? times.reduce((a, b) => (a < b ? a : b)) : null;
  }

  park(record: Omit<ParkedRecord, 'key' | 'attempts'>): void {
    const key = parkedKey(record.objectType, record.sourceExternalId, record.targetConnectionId);
    const held = this.window.get(key);
    if (held) {
      this.window.set(key, { ...record, key, attempts: held.attempts + 1 });
      return;
    }
    if (!this.overflowing && this.window.size < this.windowSize) {
      this.window.set(key, { ...record, key, attempts: 1 });
      return;
    }
    // In the store: attempts since the last flush, added to the row's.
    const waiting = this.unflushed.get(key);
    this.unflushed.set(key, { ...record, key, attempts: (waiting?.attempts ?? 0) + 1 });
    if (this.overflow.oldestParkedAt === null || record.parkedAt < this.overflow.oldestParkedAt) this.overflow.oldestParkedAt = record.parkedAt;
  }

  unpark(key: string): void {
    if (this.window.delete(key)) return;
    if (this.overflow.count > 0 || this.flushing) this.unflushed.set(key, null);
    else this.unflushed.delete(key);
  }

  /** Parked now (in state, or parked again since the last flush). */
  has(key: string): boolean {
    return this.window.has(key) || (this.unflushed.get(key) ?? null) !== null;
  }

  /** What the `parkedRecords` query shows: the records in state and those not yet flushed (the CLI adds the store's). */
  inState(): ParkedRecord[] {
    return [...this.window.values(), ...[...this.unflushed.values()].filter((op): op is ParkedRecord => op !== null)];
  }

  /**
   * Queues parked records for another attempt: those in state now (returned), those in the store
   * page by page (nextRetryPage). Returns the refs to queue and how many records the retry covers.
   */
  retry(keys?: readonly string[]): { refs: ChangeRef[]; count: number } {
    const chosen = [...this.window.values()].filter((record) => !keys || keys.includes(record.key));
    const elsewhere = keys ? keys.filter((key) => !this.window.has(key)) : undefined;
    let count = chosen.length;
    if (this.overflowing && (elsewhere === undefined || elsewhere.length > 0)) {
      const earlier = this.overflow.retry;
      // A retry under way of all records, or of a class of them (automatic), widens to all.
      const all = elsewhere === undefined || earlier?.keys === null;
      this.overflow.retry = { afterKey: '', keys: all ? null : [...new Set([...(earlier?.keys ?? []), ...elsewhere])], classes: null };
      count += elsewhere === undefined ? this.size - this.window.size : elsewhere.length;
    }
    return { refs: chosen.map(retryRef), count };
  }

  /**
   * Queues the records that failed with one of `classes` for another attempt (an automatic retry):
   * those in state now (returned), those in the store page by page. A retry already under way for
   * other records widens to all of them rather than lose either (another attempt harms nothing).
   */
  retryFailedWith(classes: readonly ErrorClass[]): ChangeRef[] {
    const chosen = [...this.window.values()].filter((record) => failedWith(record, classes));
    if (this.overflowing) {
      const earlier = this.overflow.retry;
      const same = earlier === null || (earlier.keys === null && earlier.classes !== null && sameSet(earlier.classes, classes));
      this.overflow.retry = { afterKey: '', keys: null, classes: same ? [...classes] : null };
    }
    return chosen.map(retryRef);
  }

  /** Records in state (or waiting for a flush) that failed with one of `classes`. */
  countFailedWith(classes: readonly ErrorClass[]): number {
    return this.inState().filter((record) => failedWith(record, classes)).length;
  }

  /** See ParkedOverflowState.selfHealing. */
  get selfHealingInStore(): number {
    return this.overflow.selfHealing;
  }

  /** A store retry in progress: where its next page starts. */
  get pendingRetry(): ParkedOverflowState['retry'] {
    return this.overflow.retry;
  }

  /** After a page of the store's records was queued: the next starts after its last key; an empty page ends the retry. */
  retryPageQueued(lastKey: string | undefined): void {
    const retry = this.overflow.retry;
    if (!retry) return;
    this.overflow.retry = lastKey === undefined ? null : { ...retry, afterKey: lastKey };
  }

  /** Drops parked records; returns how many (records in the store count as named). */
  skip(keys: readonly string[]): number {
    let skipped = 0;
    for (const key of keys) {
      if (this.window.delete(key)) skipped += 1;
      else if (this.overflowing) {
        this.unpark(key);
        skipped += 1;
      }
    }
    return skipped;
  }

  /** The changes the next flush writes, or undefined when there are none. Taken: a failed flush hands them back (flushFailed). */
  takeFlush(max: number): ParkedFlush | undefined {
    if (this.unflushed.size === 0) return undefined;
    const ops = [...this.unflushed.entries()].slice(0, max);
    for (const [key] of ops) this.unflushed.delete(key);
    this.overflow.sequence += 1;
    this.flushing = true;
    return {
      sequence: this.overflow.sequence,
      park: ops.flatMap(([, op]) => (op ? [op] : [])),
      unpark: ops.flatMap(([key, op]) => (op ? [] : [key])),
    };
  }

  flushed(inStore: { count: number; oldestParkedAt: string | null; selfHealing?: number | undefined }): void {
    this.flushing = false;
    this.overflow.count = inStore.count;
    this.overflow.oldestParkedAt = inStore.oldestParkedAt;
    this.overflow.selfHealing = inStore.selfHealing ?? 0;
  }

  /** The flush did not reach the store: its changes wait for the next one (later changes of a key win). */
  flushFailed(flush: ParkedFlush): void {
    this.flushing = false;
    const later = new Map(this.unflushed);
    this.unflushed.clear();
    for (const record of flush.park) this.unflushed.set(record.key, record);
    for (const key of flush.unpark) this.unflushed.set(key, null);
    for (const [key, op] of later) {
      const earlier = this.unflushed.get(key);
      this.unflushed.set(key, op && earlier ? { ...op, attempts: op.attempts + earlier.attempts } : op);
    }
  }

  /** Whether changes wait for a flush: continue-as-new waits for none (they would ride in its input). */
  get unflushedChanges(): number {
    return this.unflushed.size;
  }

  /** What continue-as-new carries: the records in state and the overflow's counters, never the store's records. */
  carry(): { parked: ParkedRecord[]; parkedOverflow: ParkedOverflowState } {
    return { parked: this.inState(), parkedOverflow: { ...this.overflow, retry: this.overflow.retry && { ...this.overflow.retry } } };
  }
}

function failedWith(record: ParkedRecord, classes: readonly ErrorClass[]): boolean {
  return record.reason === 'failed' && classes.includes(record.error.errorClass);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

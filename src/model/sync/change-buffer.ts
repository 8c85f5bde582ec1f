import type { ObjectType } from '../identifiers';

/** A change notice: "this record changed", from a webhook or a poll; the record itself is read later. */
export interface ChangeRef {
  objectType: ObjectType;
  externalId: string;
  /** Vendor modstamp if the notice carries one. */
  modifiedAt?: string | undefined;
  /** Vendor event id, for dropping redeliveries. */
  eventId?: string | undefined;
  deleted?: boolean | undefined;
}

/**
 * Pending changes of one connection, coalesced per record: ten updates to one record become one
 * read. Deterministic and plain data (workflow state, carried across continue-as-new).
 */
export class ChangeBuffer {
  private readonly pending = new Map<string, ChangeRef>();

  constructor(initial: readonly ChangeRef[] = []) {
    for (const ref of initial) this.add(ref);
  }

  add(ref: ChangeRef): void {
    const key = `${ref.objectType}:${ref.externalId}`;
    const earlier = this.pending.get(key);
    if (!earlier) {
      this.pending.set(key, { ...ref });
      return;
    }
    // Keep the newest modstamp (it bounds what the read must see) and the latest verdict on deletion.
    const newer = !earlier.modifiedAt || (ref.modifiedAt !== undefined && ref.modifiedAt > earlier.modifiedAt);
    this.pending.set(key, {
      objectType: ref.objectType,
      externalId: ref.externalId,
      modifiedAt: newer ? ref.modifiedAt : earlier.modifiedAt,
      eventId: ref.eventId ?? earlier.eventId,
      deleted: newer ? ref.deleted ?? earlier.deleted : earlier.deleted,
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /** Removes and returns up to `max` refs of one object type, oldest added first. */
  take(max: number): ChangeRef[] {
    const first = this.pending.values().next();
    if (first.done) return [];
    const objectType = first.value.objectType;
    const taken: ChangeRef[] = [];
    for (const [key, ref] of this.pending) {
      if (taken.length >= max) break;
      if (ref.objectType !== objectType) continue;
      taken.push(ref);
      this.pending.delete(key);
    }
    return taken;
  }

  toJSON(): ChangeRef[] {
    return [...this.pending.values()];
  }
}

/**
 * Event ids already accepted, bounded (oldest forgotten first) so workflow state stays small;
 * carried across continue-as-new. A redelivery older than the bound is harmless anyway: the
 * record is re-read and an unchanged record is an echo.
 */
export class SeenEventIds {
  private readonly ids: Set<string>;

  constructor(
    private readonly capacity: number,
    initial: readonly string[] = [],
  ) {
    this.ids = new Set(initial.slice(-capacity));
  }

  /** True if the id is new (and remembers it); false for a redelivery. */
  accept(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }

  toJSON(): string[] {
    return [...this.ids];
  }
}

import { randomUUID } from 'node:crypto';
import type { AssociationChange } from './associations';
import { SCHEMAS } from './schema';
import type { RecordChange } from './store';

/**
 * HubSpot's webhooks journal (v4) [H94]-[H100]: what the app's journal subscriptions select of the
 * portal's changes, written to entries (files) the app reads by offset, kept for three days on the
 * sandbox's clock. One portal, so the global and the local journal hold the same entries.
 */

/** One event in a journal file [H97]; association events take the chosen shape (vendor-facts §2b). */
export type JournalEvent =
  | { type: 'crmObject'; portalId: number; occurredAt: string; action: 'CREATE' | 'UPDATE' | 'DELETE' | 'RESTORE'; objectTypeId: string; objectId: number; propertyChanges?: Record<string, string | null> }
  | {
      type: 'association';
      portalId: number;
      occurredAt: string;
      action: 'ASSOCIATION_ADDED' | 'ASSOCIATION_REMOVED';
      fromObjectTypeId: string;
      fromObjectId: number;
      toObjectTypeId: string;
      toObjectId: number;
    };

export interface JournalEntry {
  offset: string;
  events: JournalEvent[];
  /** Sandbox clock, ms. */
  publishedAt: number;
}

export interface JournalSubscription {
  id: number;
  appId: number;
  subscriptionType: 'OBJECT' | 'ASSOCIATION';
  portalId: number;
  objectTypeId: string;
  actions: string[];
  properties: string[];
  objectIds: number[];
  associatedObjectTypeIds: string[];
  createdAt: string;
  updatedAt: string;
}

export type SubscriptionUpsert = Omit<JournalSubscription, 'id' | 'appId' | 'createdAt' | 'updatedAt'>;

export interface JournalOptions {
  portalId: number;
  now: () => number;
  /** Three days [H99]. */
  retentionMs: number;
  /** Events per file: 10,000 since July 2026, 100 before [H98]. */
  maxEventsPerEntry: number;
  /** How long events gather before their file is published (HubSpot's cadence is not published). */
  publishDelayMs: number;
  /** True while seeding: seeded records stand for data that was there before any subscription. */
  muted: () => boolean;
}

/** What a read of "the entry after X" finds: an entry, nothing newer yet, or an offset the journal no longer (or never) had. */
export type NextEntry = { kind: 'entry'; entry: JournalEntry } | { kind: 'none' } | { kind: 'unknown-offset' };

export class WebhooksJournal {
  private entries: JournalEntry[] = [];
  private readonly subscriptions = new Map<number, JournalSubscription>();
  private nextSubscriptionId = 5001;
  private open: { events: JournalEvent[]; openedAt: number } | undefined;

  constructor(private readonly options: JournalOptions) {}

  // --- subscriptions (v4 management API) ---

  /** "Create or update": one subscription per (type, portal, object type), actions and filters replaced. */
  upsertSubscription(appId: number, request: SubscriptionUpsert): JournalSubscription {
    const at = new Date(this.options.now()).toISOString();
    const existing = [...this.subscriptions.values()].find(
      (s) => s.appId === appId && s.subscriptionType === request.subscriptionType && s.portalId === request.portalId && s.objectTypeId === request.objectTypeId,
    );
    const subscription: JournalSubscription = existing
      ? { ...existing, ...request, updatedAt: at }
      : { ...request, id: this.nextSubscriptionId++, appId, createdAt: at, updatedAt: at };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  listSubscriptions(appId: number): JournalSubscription[] {
    return [...this.subscriptions.values()].filter((s) => s.appId === appId);
  }

  getSubscription(appId: number, id: number): JournalSubscription | undefined {
    const subscription = this.subscriptions.get(id);
    return subscription?.appId === appId ? subscription : undefined;
  }

  deleteSubscription(appId: number, id: number): boolean {
    return this.getSubscription(appId, id) !== undefined && this.subscriptions.delete(id);
  }

  deletePortalSubscriptions(appId: number, portalId: number): void {
    for (const s of this.listSubscriptions(appId)) if (s.portalId === portalId) this.subscriptions.delete(s.id);
  }

  // --- recording (user edits and API writes alike) ---

  recordChange(change: RecordChange): void {
    if (this.options.muted()) return;
    const typeId = SCHEMAS[change.record.type].typeId;
    const objectId = Number(change.record.id);
    const action = change.kind === 'creation' ? 'CREATE' : change.kind === 'deletion' ? 'DELETE' : change.kind === 'restore' ? 'RESTORE' : 'UPDATE';
    for (const s of this.matching('OBJECT', typeId, action, objectId)) {
      const changed = change.changed.filter(([name]) => s.properties.length === 0 || s.properties.includes(name));
      // An update is journaled for the subscription's properties only (vendor-facts §2b).
      if (action === 'UPDATE' && changed.length === 0) continue;
      this.append({
        type: 'crmObject',
        portalId: this.options.portalId,
        occurredAt: new Date(change.occurredAt).toISOString(),
        action,
        objectTypeId: typeId,
        objectId,
        ...(changed.length > 0 ? { propertyChanges: Object.fromEntries(changed) } : {}),
      });
    }
  }

  /** One event per side a subscription covers: the side's type is `objectTypeId`, the other in `associatedObjectTypeIds`. */
  recordAssociation(change: AssociationChange): void {
    if (this.options.muted()) return;
    const action = change.removed ? 'ASSOCIATION_REMOVED' : 'ASSOCIATION_ADDED';
    const sides: [string, string, string, string][] = [
      [SCHEMAS[change.fromType].typeId, change.fromId, SCHEMAS[change.toType].typeId, change.toId],
      [SCHEMAS[change.toType].typeId, change.toId, SCHEMAS[change.fromType].typeId, change.fromId],
    ];
    for (const [fromTypeId, fromId, toTypeId, toId] of sides) {
      const covered = this.matching('ASSOCIATION', fromTypeId, action, Number(fromId)).some((s) => s.associatedObjectTypeIds.length === 0 || s.associatedObjectTypeIds.includes(toTypeId));
      if (!covered) continue;
      this.append({
        type: 'association',
        portalId: this.options.portalId,
        occurredAt: new Date(change.occurredAt).toISOString(),
        action,
        fromObjectTypeId: fromTypeId,
        fromObjectId: Number(fromId),
        toObjectTypeId: toTypeId,
        toObjectId: Number(toId),
      });
    }
  }

  // --- reading ---

  earliest(): JournalEntry | undefined {
    return this.published()[0];
  }

  latest(): JournalEntry | undefined {
    return this.published().at(-1);
  }

  /** Up to `count` entries after `offset`. */
  after(offset: string, count: number): { kind: 'entries'; entries: JournalEntry[] } | { kind: 'unknown-offset' } {
    const entries = this.published();
    const index = entries.findIndex((entry) => entry.offset === offset);
    if (index < 0) return { kind: 'unknown-offset' };
    return { kind: 'entries', entries: entries.slice(index + 1, index + 1 + count) };
  }

  next(offset: string): NextEntry {
    const found = this.after(offset, 1);
    if (found.kind === 'unknown-offset') return found;
    const [entry] = found.entries;
    return entry ? { kind: 'entry', entry } : { kind: 'none' };
  }

  first(count: number): JournalEntry[] {
    return this.published().slice(0, count);
  }

  last(count: number): JournalEntry[] {
    return this.published().slice(-count);
  }

  /** An entry still in the journal, for its file. */
  entry(offset: string): JournalEntry | undefined {
    return this.published().find((entry) => entry.offset === offset);
  }

  /** Events recorded so far, published or not (tests). */
  size(): number {
    return this.entries.reduce((sum, entry) => sum + entry.events.length, 0) + (this.open?.events.length ?? 0);
  }

  /** Publishes what is gathered, then drops what is past retention: the journal as a reader sees it now. */
  private published(): JournalEntry[] {
    if (this.open && this.open.events.length > 0) this.seal(Math.min(this.options.now(), this.open.openedAt + this.options.publishDelayMs));
    const oldest = this.options.now() - this.options.retentionMs;
    this.entries = this.entries.filter((entry) => entry.publishedAt > oldest);
    return this.entries;
  }

  private matching(type: JournalSubscription['subscriptionType'], objectTypeId: string, action: string, objectId: number): JournalSubscription[] {
    return [...this.subscriptions.values()].filter(
      (s) =>
        s.subscriptionType === type &&
        s.portalId === this.options.portalId &&
        s.objectTypeId === objectTypeId &&
        s.actions.includes(action) &&
        (s.objectIds.length === 0 || s.objectIds.includes(objectId)),
    );
  }

  private append(event: JournalEvent): void {
    const now = this.options.now();
    // A file gathers for publishDelayMs, then is published: a later event starts the next one.
    if (this.open && now - this.open.openedAt > this.options.publishDelayMs) this.seal(this.open.openedAt + this.options.publishDelayMs);
    this.open ??= { events: [], openedAt: now };
    this.open.events.push(event);
    if (this.open.events.length >= this.options.maxEventsPerEntry) this.seal(now);
  }

  private seal(publishedAt: number): void {
    if (!this.open) return;
    this.entries.push({ offset: randomUUID(), events: this.open.events, publishedAt });
    this.open = undefined;
  }
}

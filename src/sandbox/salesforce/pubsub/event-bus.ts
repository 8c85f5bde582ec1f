import { randomUUID } from 'node:crypto';
import type { FieldValue } from '../records';
import type { FieldType, SObjectDef, SObjectType } from '../schema';
import type { ChangeBatch, ChangeOrigin } from '../store';
import { changeEventSchema, encodeFieldBitmap, type CdcChangeType, type ChangeEventSchema } from './change-event-schema';

/** Change events are kept 72 hours (vendor-facts S39, S87), measured on the org's clock. */
export const RETENTION_MS = 72 * 60 * 60_000;

/** The standard channel carrying every selected object's change events; per-object channels are `/data/<Entity>ChangeEvent`. */
export const ALL_CHANGE_EVENTS = '/data/ChangeEvents';

export interface StoredEvent {
  /** Position in the org's stream: replay ids are its 8-byte big-endian form. */
  position: bigint;
  publishedMs: number;
  entityName: SObjectType;
  id: string;
  schemaId: string;
  payload: Buffer;
}

export interface EventBusDeps {
  now: () => number;
  def: (type: SObjectType) => SObjectDef;
  /** Whether the org selected this object for Change Data Capture (PlatformEventChannelMember, S98). */
  selected: (type: SObjectType) => boolean;
}

interface PendingEvent {
  changeType: CdcChangeType;
  entityName: SObjectType;
  recordIds: string[];
  changedFields: string[];
  values: Record<string, FieldValue>;
  commitTimestamp: number;
}

/**
 * The org's change event stream: every committed transaction becomes change events on the bus,
 * retained 72 h, read by position. Subscribers wait on `onPublish`. Purely in memory.
 */
export class ChangeEventBus {
  private readonly events: StoredEvent[] = [];
  private next = 1n;
  /** Highest position purged by retention: a replay id before it can no longer be resumed from. */
  private purgedThrough = 0n;
  private commitNumber = 0;
  private readonly schemas = new Map<string, ChangeEventSchema>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly deps: EventBusDeps) {}

  /** The schema an object's events use now (registered so GetSchema can answer it later). */
  schemaOf(type: SObjectType): ChangeEventSchema {
    const schema = changeEventSchema(this.deps.def(type));
    if (!this.schemas.has(schema.schemaId)) this.schemas.set(schema.schemaId, schema);
    return this.schemas.get(schema.schemaId) as ChangeEventSchema;
  }

  schemaById(schemaId: string): ChangeEventSchema | undefined {
    return this.schemas.get(schemaId);
  }

  /**
   * One transaction's change events. Changes of one object with the same change type and the same
   * new values are one event naming several records (vendor-facts S91: recordIds), as a mass
   * update of one field becomes one event.
   */
  publishBatch(batch: ChangeBatch): void {
    const merged: PendingEvent[] = [];
    // Keyed, not searched: a Bulk API chunk commits thousands of changes in one transaction.
    const alike = new Map<string, PendingEvent>();
    for (const event of batch.events) {
      if (!this.isCaptured(event.entityName)) continue;
      const key = event.changeType === 'CREATE' ? undefined : JSON.stringify([event.entityName, event.changeType, event.changedFields, event.values]);
      const same = key === undefined ? undefined : alike.get(key);
      if (same) {
        same.recordIds.push(event.recordId);
        continue;
      }
      const pending: PendingEvent = { changeType: event.changeType, entityName: event.entityName, recordIds: [event.recordId], changedFields: event.changedFields, values: event.values, commitTimestamp: event.commitTimestamp };
      merged.push(pending);
      if (key !== undefined) alike.set(key, pending);
    }
    if (merged.length > 0) this.publish(this.asReported(merged), batch.origin);
  }

  /**
   * How the next transactions are reported (admin). Salesforce sends gap events when it cannot
   * build a full change event (a change made outside the application server, an internal error):
   * they name the records and carry no values, and the subscriber reads the records itself. An
   * overflow event replaces the events of a transaction that changed more records than CDC
   * reports one by one; it names no record (vendor-facts S93).
   */
  mode: 'normal' | 'gap' | 'overflow' = 'normal';

  private asReported(events: PendingEvent[]): PendingEvent[] {
    if (this.mode === 'normal') return events;
    if (this.mode === 'gap') return events.map((event) => ({ ...event, changeType: `GAP_${event.changeType}` as CdcChangeType, changedFields: [], values: {} }));
    const entities = [...new Set(events.map((event) => event.entityName))];
    return entities.map((entityName) => ({ changeType: 'GAP_OVERFLOW', entityName, recordIds: [], changedFields: [], values: {}, commitTimestamp: (events[0] as PendingEvent).commitTimestamp }));
  }

  private publish(events: readonly PendingEvent[], origin: ChangeOrigin): void {
    this.purge();
    this.commitNumber += 1;
    const transactionKey = randomUUID();
    const now = this.deps.now();
    events.forEach((event, index) => {
      const schema = this.schemaOf(event.entityName);
      const record: Record<string, unknown> = {
        ChangeEventHeader: {
          entityName: event.entityName,
          recordIds: event.recordIds,
          changeType: event.changeType,
          changeOrigin: changeOrigin(origin),
          transactionKey,
          sequenceNumber: index + 1,
          commitTimestamp: event.commitTimestamp,
          commitNumber: this.commitNumber,
          commitUser: origin.userId,
          nulledFields: encodeFieldBitmap(schema.layout, Object.entries(event.values).filter(([, value]) => value === null).map(([field]) => field)),
          diffFields: [],
          changedFields: event.changeType === 'UPDATE' ? encodeFieldBitmap(schema.layout, event.changedFields) : [],
        },
      };
      const values: Record<string, FieldValue> = { ...event.values };
      if (event.changeType === 'UPDATE' || event.changeType === 'CREATE') {
        values.LastModifiedDate = event.commitTimestamp;
        values.LastModifiedById = origin.userId;
      }
      if (event.changeType === 'CREATE') {
        values.CreatedDate = event.commitTimestamp;
        values.CreatedById = origin.userId;
      }
      for (const field of schema.layout) {
        if ('compound' in field) {
          const parts = field.compound.filter((part) => values[part.source] !== undefined);
          if (parts.length > 0) record[field.name] = Object.fromEntries(field.compound.map((part) => [part.name, avroValue(values[part.source], part.fieldType)]));
        } else if (values[field.source] !== undefined) {
          record[field.name] = avroValue(values[field.source], field.fieldType);
        }
      }
      this.events.push({ position: this.next, publishedMs: now, entityName: event.entityName, id: randomUUID(), schemaId: schema.schemaId, payload: schema.type.toBuffer(record) });
      this.next += 1n;
    });
    for (const listener of this.listeners) listener();
  }

  /** Only objects selected on the ChangeEvents channel publish change events (S98). */
  private isCaptured(type: SObjectType): boolean {
    return this.deps.selected(type);
  }

  topicCarries(topic: string, type: SObjectType): boolean {
    return topic === ALL_CHANGE_EVENTS || topic === `/data/${type}ChangeEvent`;
  }

  /** Events after `position` on a topic, oldest first, at most `limit`. */
  after(topic: string, position: bigint, limit: number): StoredEvent[] {
    this.purge();
    const out: StoredEvent[] = [];
    // Positions only grow along the array: start at the first one after `position`.
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.events[middle] as StoredEvent).position <= position) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < this.events.length && out.length < limit; index += 1) {
      const event = this.events[index] as StoredEvent;
      if (this.topicCarries(topic, event.entityName)) out.push(event);
    }
    return out;
  }

  /** The newest position published (0 before any event). */
  latest(): bigint {
    return this.next - 1n;
  }

  /** Where EARLIEST starts: just before the oldest retained event. */
  earliest(): bigint {
    this.purge();
    return this.purgedThrough;
  }

  /** Whether every event after `position` is still retained (and `position` was ever handed out). */
  canResumeAfter(position: bigint): boolean {
    this.purge();
    return position >= this.purgedThrough && position <= this.latest();
  }

  /** Open Subscribe streams (each listens for new events). */
  subscriptions(): number {
    return this.listeners.size;
  }

  /** Events sent to subscribers over every Subscribe stream so far (a delivery the tests can wait for). */
  delivered = 0;

  onPublish(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private purge(): void {
    const horizon = this.deps.now() - RETENTION_MS;
    let expired = 0;
    while (expired < this.events.length && (this.events[expired] as StoredEvent).publishedMs < horizon) expired += 1;
    if (expired === 0) return;
    this.purgedThrough = (this.events[expired - 1] as StoredEvent).position;
    this.events.splice(0, expired);
  }
}

/** Record values as the Avro types hold them: dates and datetimes as epoch milliseconds (vendor-facts S91). */
function avroValue(value: FieldValue | undefined, type: FieldType): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'datetime':
      return typeof value === 'number' ? value : Date.parse(String(value));
    case 'date':
      return Date.parse(`${String(value).slice(0, 10)}T00:00:00Z`);
    case 'number':
      return Number(value);
    case 'boolean':
      return Boolean(value);
    default:
      return String(value);
  }
}

/** CDC's `changeOrigin`: empty for a user's edit, the API and client for an integration's write [S41]. */
function changeOrigin(origin: ChangeOrigin): string {
  if (origin.kind === 'ui') return '';
  const api = origin.kind === 'bulk' ? 'bulkapi' : 'rest';
  return `com/salesforce/api/${api}/${origin.apiVersion ?? ''}${origin.client ? `;client=${origin.client}` : ''}`;
}

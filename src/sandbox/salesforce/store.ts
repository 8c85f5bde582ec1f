import type { SandboxCounters } from '../core/counters';
import type { ModstampClock } from '../core/modstamp-clock';
import { recordError } from './errors';
import { deriveEventTimes, touchesEventTime } from './event-times';
import type { IdGenerator } from './ids';
import { readField, type FieldValue, type StoredRecord } from './records';
import { resolveFieldName, type SObjectDef, type SObjectType } from './schema';
import { checkCreateOnly, checkRequired, normaliseInput } from './write-input';

export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';

/** Who made a change; becomes the CDC-style `changeOrigin` and `commitUser` of the webhook. */
export interface ChangeOrigin {
  kind: 'api' | 'bulk' | 'ui';
  userId: string;
  apiVersion?: string;
  /** From `Sforce-Call-Options: client=...`. */
  client?: string;
}

export interface ChangeEvent {
  changeType: ChangeType;
  entityName: SObjectType;
  recordId: string;
  changedFields: string[];
  /** New values of the changed fields. */
  values: Record<string, FieldValue>;
  commitTimestamp: number;
}

/** The changes of one transaction (one API call, one bulk chunk, one UI save). */
export class ChangeBatch {
  readonly events: ChangeEvent[] = [];
  constructor(readonly origin: ChangeOrigin) {}
}

export interface DeletionEntry {
  type: SObjectType;
  id: string;
  deletedMs: number;
}

export type UpsertMatch = { kind: 'none' } | { kind: 'one'; record: StoredRecord } | { kind: 'many'; ids: string[] };

export interface StoreDeps {
  schema: Map<SObjectType, SObjectDef>;
  clock: ModstampClock;
  ids: IdGenerator;
  counters: SandboxCounters;
  onCommit: (batch: ChangeBatch) => void;
}

/**
 * All records of the org, the external-id indexes and the deletion log. Writes go through a
 * ChangeBatch so one API call produces one notification, as one Apex transaction would.
 */
export class RecordStore {
  private readonly records = new Map<SObjectType, Map<string, StoredRecord>>();
  /** `${type}.${field}` -> lower-cased value -> ids of live records (external ids are case-insensitive). */
  private readonly extIndex = new Map<string, Map<string, Set<string>>>();
  private readonly deletions: DeletionEntry[] = [];
  /** Types whose rows another transaction holds locked (admin `holdRowLocks`): every write to them fails. */
  private readonly lockedTypes = new Set<SObjectType>();

  constructor(private readonly deps: StoreDeps) {
    for (const type of deps.schema.keys()) this.records.set(type, new Map());
  }

  /** See SalesforceAdmin.holdRowLocks. */
  setRowLocksHeld(type: SObjectType, held: boolean): void {
    if (held) this.lockedTypes.add(type);
    else this.lockedTypes.delete(type);
  }

  types(): IterableIterator<SObjectType> {
    return this.records.keys();
  }

  def(type: SObjectType): SObjectDef {
    return this.deps.schema.get(type) as SObjectDef;
  }

  get(type: SObjectType, id: string): StoredRecord | undefined {
    return this.table(type).get(id);
  }

  /** Live and recycled records of a type (queries filter IsDeleted themselves). */
  all(type: SObjectType): IterableIterator<StoredRecord> {
    return this.table(type).values();
  }

  deletionLog(type: SObjectType): DeletionEntry[] {
    return this.deletions.filter((entry) => entry.type === type);
  }

  create(type: SObjectType, input: Record<string, unknown>, batch: ChangeBatch): StoredRecord {
    const def = this.def(type);
    const values = normaliseInput(def, input);
    this.applyDefaults(def, values);
    this.checkWrite(def, values, true);
    return this.insertValidated(type, values, batch);
  }

  /** Inserts values that already passed normaliseInput and checkRequired (collections validate first). */
  insertValidated(type: SObjectType, values: Record<string, FieldValue>, batch: ChangeBatch): StoredRecord {
    const now = this.deps.clock.next().getTime();
    const record: StoredRecord = {
      type,
      id: this.deps.ids.generate(this.def(type).keyPrefix),
      values: {},
      createdMs: now,
      modstampMs: now,
      createdById: batch.origin.userId,
      lastModifiedById: batch.origin.userId,
      ownerId: typeof values.OwnerId === 'string' ? values.OwnerId : batch.origin.userId,
    };
    for (const [field, value] of Object.entries(values)) if (value !== null && field !== 'OwnerId') record.values[field] = value;
    this.table(type).set(record.id, record);
    this.index(record, true);
    this.deps.counters.countRecordWrites(type);
    batch.events.push({
      changeType: 'CREATE',
      entityName: type,
      recordId: record.id,
      changedFields: [...Object.keys(record.values), 'OwnerId', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById'],
      values: { ...record.values },
      commitTimestamp: now,
    });
    this.keepOnePrimary(record, batch);
    return record;
  }

  update(type: SObjectType, id: string, input: Record<string, unknown>, batch: ChangeBatch): StoredRecord {
    const record = this.live(type, id);
    const def = this.def(type);
    const values = normaliseInput(def, input);
    this.checkWrite(def, values, false, record);
    return this.updateValidated(record, values, batch);
  }

  updateValidated(record: StoredRecord, values: Record<string, FieldValue>, batch: ChangeBatch): StoredRecord {
    this.index(record, false);
    const changed: string[] = [];
    const changedValues: Record<string, FieldValue> = {};
    for (const [field, value] of Object.entries(values)) {
      if (field === 'OwnerId') {
        if (typeof value === 'string' && value !== record.ownerId) {
          record.ownerId = value;
          changed.push(field);
          changedValues[field] = value;
        }
        continue;
      }
      const before = record.values[field] ?? null;
      if (before === value) continue;
      if (value === null) delete record.values[field];
      else record.values[field] = value;
      changed.push(field);
      changedValues[field] = value;
    }
    // Salesforce stamps every save, even one that changes nothing.
    record.modstampMs = this.deps.clock.next().getTime();
    record.lastModifiedById = batch.origin.userId;
    this.index(record, true);
    this.deps.counters.countRecordWrites(record.type);
    batch.events.push({
      changeType: 'UPDATE',
      entityName: record.type,
      recordId: record.id,
      changedFields: [...changed, 'LastModifiedDate', 'LastModifiedById'],
      values: changedValues,
      commitTimestamp: record.modstampMs,
    });
    this.keepOnePrimary(record, batch);
    return record;
  }

  /**
   * Soft delete to the Recycle Bin [S21]. An opportunity takes its contact roles with it (and
   * brings them back on undelete); a contact role deleted on its own skips the Recycle Bin: its
   * IsDeleted is usable only when the parent was deleted, and it stays in the delete log [S66].
   */
  delete(type: SObjectType, id: string, batch: ChangeBatch, parent?: string): StoredRecord {
    const record = this.live(type, id);
    this.index(record, false);
    record.modstampMs = this.deps.clock.next().getTime();
    record.deletedMs = record.modstampMs;
    record.lastModifiedById = batch.origin.userId;
    if (parent) record.deletedWith = parent;
    this.deletions.push({ type, id, deletedMs: record.deletedMs });
    this.deps.counters.countRecordWrites(type);
    batch.events.push({ changeType: 'DELETE', entityName: type, recordId: id, changedFields: [], values: {}, commitTimestamp: record.modstampMs });
    if (type === 'OpportunityContactRole' && !parent) this.table(type).delete(id);
    if (type === 'Opportunity') for (const role of this.rolesOf(id)) this.delete('OpportunityContactRole', role.id, batch, id);
    return record;
  }

  /** Live contact roles of an opportunity. */
  rolesOf(opportunityId: string): StoredRecord[] {
    return [...this.table('OpportunityContactRole').values()].filter((role) => role.deletedMs === undefined && role.values.OpportunityId === opportunityId);
  }

  /**
   * "Each Opportunity has only one primary contact" [S63]: marking a role primary clears the flag on
   * the opportunity's other roles, each a save of its own (UNCONFIRMED that their SystemModstamp moves).
   */
  private keepOnePrimary(record: StoredRecord, batch: ChangeBatch): void {
    if (record.type !== 'OpportunityContactRole' || record.values.IsPrimary !== true) return;
    for (const other of this.rolesOf(String(record.values.OpportunityId))) {
      if (other.id !== record.id && other.values.IsPrimary === true) this.updateValidated(other, { IsPrimary: false }, batch);
    }
  }

  /**
   * What every write path checks before writing: required fields, create-only fields on update
   * (INVALID_FIELD_FOR_INSERT_UPDATE), and references that must name a live record of their type:
   * another type's id -> FIELD_INTEGRITY_EXCEPTION, a missing or deleted one ->
   * INVALID_CROSS_REFERENCE_KEY (wording UNCONFIRMED). An Event's time fields are made to agree
   * here (added to `values`, which the caller then saves), so every write path saves them alike.
   */
  checkWrite(def: SObjectDef, values: Record<string, FieldValue>, creating: boolean, current?: StoredRecord): void {
    // A record (or, on a create, its parent) locked by another transaction for longer than the
    // write waits: the record fails, the rest of a collection goes on [S84].
    if (this.lockedTypes.has(def.name)) throw recordError('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record or 1 records', []);
    checkRequired(def, values, creating);
    if (!creating) checkCreateOnly(def, values);
    if (def.name === 'Event' && (creating || touchesEventTime(values))) Object.assign(values, deriveEventTimes(current?.values, values));
    for (const [name, value] of Object.entries(values)) {
      const field = def.fields.get(name);
      if (!field?.refersTo || typeof value !== 'string') continue;
      const target = this.def(field.refersTo);
      if (!value.startsWith(target.keyPrefix)) throw recordError('FIELD_INTEGRITY_EXCEPTION', `${field.label ?? name}: id value of incorrect type: ${value}`, [name]);
      const referenced = this.get(field.refersTo, value);
      if (!referenced || referenced.deletedMs !== undefined) throw recordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [name]);
      if (field.refersTo === 'User' && referenced.values.IsActive === false) {
        throw recordError('INACTIVE_OWNER_OR_USER', `operation performed with inactive user [${value}] as owner of ${def.name.toLowerCase()}`, [name]);
      }
    }
  }

  /** Adds one of the org's users (seeding only: no change event, nothing counted). */
  seedUser(id: string, values: Record<string, FieldValue>, createdById: string): StoredRecord {
    const now = this.deps.clock.next().getTime();
    const record: StoredRecord = { type: 'User', id, values: { ...values }, createdMs: now, modstampMs: now, createdById, lastModifiedById: createdById, ownerId: id };
    this.table('User').set(id, record);
    return record;
  }

  /** Removes a record for good (Bulk hardDelete, emptying the Recycle Bin); the deletion stays in the log. */
  purge(type: SObjectType, id: string, batch: ChangeBatch): void {
    const record = this.get(type, id);
    if (!record) throw recordError('ENTITY_IS_DELETED', 'entity is deleted');
    if (record.deletedMs === undefined) this.delete(type, id, batch);
    this.table(type).delete(id);
    for (const role of this.table('OpportunityContactRole').values()) if (role.deletedWith === id) this.table('OpportunityContactRole').delete(role.id);
  }

  undelete(type: SObjectType, id: string, batch: ChangeBatch): StoredRecord {
    const record = this.get(type, id);
    if (!record) throw recordError('ENTITY_IS_DELETED', 'entity is deleted');
    if (record.deletedMs === undefined) throw recordError('UNDELETE_FAILED', 'Entity is not in the recycle bin');
    delete record.deletedMs;
    record.modstampMs = this.deps.clock.next().getTime();
    record.lastModifiedById = batch.origin.userId;
    const at = this.deletions.findIndex((entry) => entry.id === id);
    if (at >= 0) this.deletions.splice(at, 1);
    this.index(record, true);
    this.deps.counters.countRecordWrites(type);
    batch.events.push({ changeType: 'UNDELETE', entityName: type, recordId: id, changedFields: [], values: {}, commitTimestamp: record.modstampMs });
    for (const role of [...this.table('OpportunityContactRole').values()]) {
      if (role.deletedWith === id) {
        delete role.deletedWith;
        this.undelete('OpportunityContactRole', role.id, batch);
      }
    }
    return record;
  }

  /** Live records whose external-id field equals `value` (Id works as an external id too). */
  matchExternalId(type: SObjectType, field: string, value: string): UpsertMatch {
    if (field === 'Id') {
      const record = this.get(type, value);
      return record && record.deletedMs === undefined ? { kind: 'one', record } : { kind: 'none' };
    }
    const ids = this.extIndex.get(`${type}.${field}`)?.get(value.toLowerCase());
    if (!ids || ids.size === 0) return { kind: 'none' };
    if (ids.size > 1) return { kind: 'many', ids: [...ids] };
    return { kind: 'one', record: this.get(type, [...ids][0] as string) as StoredRecord };
  }

  /** The canonical external-id field name, or undefined when the field is not an external id [S12]. */
  externalIdField(type: SObjectType, field: string): string | undefined {
    const def = this.def(type);
    const name = resolveFieldName(def, field);
    if (name === 'Id') return name;
    return name && def.fields.get(name)?.externalId ? name : undefined;
  }

  /** Live record or RecordFailure, as the API answers for a missing or recycled id. */
  live(type: SObjectType, id: string): StoredRecord {
    const record = this.get(type, id);
    if (!record) throw recordError('NOT_FOUND', 'The requested resource does not exist');
    if (record.deletedMs !== undefined) throw recordError('ENTITY_IS_DELETED', 'entity is deleted');
    return record;
  }

  commit(batch: ChangeBatch): void {
    if (batch.events.length > 0) this.deps.onCommit(batch);
  }

  applyDefaults(def: SObjectDef, values: Record<string, FieldValue>): void {
    for (const field of def.fields.values()) {
      if (field.defaultValue !== undefined && !(field.name in values)) values[field.name] = field.defaultValue;
    }
  }

  private table(type: SObjectType): Map<string, StoredRecord> {
    return this.records.get(type) as Map<string, StoredRecord>;
  }

  private index(record: StoredRecord, add: boolean): void {
    for (const field of this.def(record.type).fields.values()) {
      if (!field.externalId) continue;
      const value = readField(record, field.name);
      if (value === null || value === '') continue;
      const key = `${record.type}.${field.name}`;
      let byValue = this.extIndex.get(key);
      if (!byValue) this.extIndex.set(key, (byValue = new Map<string, Set<string>>()));
      const lower = String(value).toLowerCase();
      let ids = byValue.get(lower);
      if (add) {
        if (!ids) byValue.set(lower, (ids = new Set<string>()));
        ids.add(record.id);
      } else if (ids) {
        ids.delete(record.id);
        if (ids.size === 0) byValue.delete(lower);
      }
    }
  }
}

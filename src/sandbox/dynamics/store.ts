import { randomUUID } from 'node:crypto';
import type { ModstampClock } from '../core/modstamp-clock';
import { deriveColumns, entitySet, type EntitySetDefinition } from './entity-sets';
import { duplicateKey, recordNotFound } from './errors';
import { AUDIT_OPERATION, AUDITED_TABLES, auditRow, changedColumns, type AuditChange } from './auditing';

/** A stored row: every column of its entity set, `null` when unset (as the Web API returns it). */
export type Row = Record<string, unknown>;

export type WriteMessage = 'Create' | 'Update' | 'Delete';

export interface StoreTriggers {
  beforeCreate?: (definition: EntitySetDefinition, values: Row) => Row;
  afterCreate?: (definition: EntitySetDefinition, row: Row, actor: Actor) => void;
  /** May refuse the delete (throws), e.g. a row others still depend on. */
  beforeDelete?: (definition: EntitySetDefinition, row: Row) => void;
  afterDelete?: (definition: EntitySetDefinition, row: Row, actor: Actor) => void;
}

/** Who made a write: the API caller's application user, or a person in the UI. */
export interface Actor {
  userId: string;
}

export interface WriteEvent {
  message: WriteMessage;
  definition: EntitySetDefinition;
  id: string;
  /** The attributes the write set (Create: all given, Update: the changed ones). */
  attributes: Row;
  row: Row;
  actor: Actor;
}

interface UndoEntry {
  table: Map<string, Row>;
  tombstones: Map<string, number>;
  definition: EntitySetDefinition;
  id: string;
  row: Row | undefined;
  tombstone: number | undefined;
}

/**
 * The in-memory tables. Every write takes a new row version (Dataverse's rowversion, used for
 * ETags and change tracking) and a modifiedon from the ModstampClock. Deletes leave tombstones so
 * change tracking can report them. Writes inside `transaction` are undone if it throws, and their
 * events are only published once it commits, so a rolled-back change set notifies nobody.
 */
export class DataverseStore {
  private readonly tables = new Map<string, Map<string, Row>>();
  private readonly tombstones = new Map<string, Map<string, number>>();
  /** Alternate key index: set -> key column -> lower-cased value -> id. */
  private readonly keys = new Map<string, Map<string, Map<string, string>>>();
  private version = 1_000_000;
  private journal: UndoEntry[] | undefined;
  private pendingEvents: WriteEvent[] | undefined;
  private readonly queries = new Map<string, number>();
  /** Platform behaviour around writes (e.g. a connection's reciprocal row), set by the sandbox. */
  triggers: StoreTriggers = {};
  /** The organisation's auditing switch [D81]: while off, writes leave no audit rows. */
  auditing = true;
  /** Audit id -> the values its write changed (served by RetrieveAuditDetails). */
  private readonly auditChanges = new Map<string, AuditChange>();

  constructor(
    private readonly clock: ModstampClock,
    private readonly onWrite: (event: WriteEvent) => void,
  ) {}

  /** Collection queries served per entity set: lets tests bound how many a connector makes. */
  countQuery(setName: string): void {
    this.queries.set(setName, (this.queries.get(setName) ?? 0) + 1);
  }

  queryCount(setName: string): number {
    return this.queries.get(setName) ?? 0;
  }

  currentVersion(): number {
    return this.version;
  }

  /**
   * Consumes a version without a write: after change tracking is reset, tokens issued from then on
   * carry a version above every expired one, so they are not mistaken for expired tokens.
   */
  advanceVersion(): number {
    return this.nextVersion();
  }

  get(definition: EntitySetDefinition, id: string): Row | undefined {
    if (definition.union) {
      for (const member of this.members(definition)) {
        const row = this.table(member).get(id.toLowerCase());
        if (row) return project(definition, member, row);
      }
      return undefined;
    }
    return this.table(definition).get(id.toLowerCase());
  }

  rows(definition: EntitySetDefinition): IterableIterator<Row> {
    if (definition.union) return this.members(definition).flatMap((member) => [...this.table(member).values()].map((row) => project(definition, member, row))).values();
    return this.table(definition).values();
  }

  private members(definition: EntitySetDefinition): EntitySetDefinition[] {
    return (definition.union ?? []).map((name) => entitySet(name)).filter((member): member is EntitySetDefinition => member !== undefined);
  }

  count(definition: EntitySetDefinition): number {
    return this.table(definition).size;
  }

  /** Tombstones (id -> version of the delete) for change tracking. */
  deletions(definition: EntitySetDefinition): ReadonlyMap<string, number> {
    return this.tombstoneTable(definition);
  }

  findByKey(definition: EntitySetDefinition, column: string, value: unknown): Row | undefined {
    if (value === null || value === undefined) return undefined;
    const id = this.keyIndex(definition, column).get(keyText(value));
    return id === undefined ? undefined : this.get(definition, id);
  }

  create(definition: EntitySetDefinition, values: Row, actor: Actor): Row {
    values = this.triggers.beforeCreate?.(definition, values) ?? values;
    const id = typeof values[definition.primaryId] === 'string' ? (values[definition.primaryId] as string).toLowerCase() : randomUUID();
    if (this.table(definition).has(id)) throw duplicateKey();
    this.assertKeysFree(definition, values, undefined);
    const stamp = this.clock.next().toISOString();
    const row: Row = {};
    for (const column of Object.keys(definition.columns)) row[column] = null;
    Object.assign(row, values, {
      [definition.primaryId]: id,
      createdon: stamp,
      modifiedon: stamp,
      versionnumber: this.nextVersion(),
      _createdby_value: actor.userId,
      _modifiedby_value: actor.userId,
      // The caller owns what it creates unless the create names an owner [D71].
      _ownerid_value: values._ownerid_value ?? actor.userId,
      statecode: values.statecode ?? 0,
    });
    deriveColumns(definition, row);
    this.remember(definition, id);
    this.table(definition).set(id, row);
    this.tombstoneTable(definition).delete(id);
    this.indexKeys(definition, undefined, row);
    this.audit(definition, id, AUDIT_OPERATION.Create, undefined, row, actor);
    this.publish({ message: 'Create', definition, id, attributes: { ...values, [definition.primaryId]: id }, row, actor });
    this.triggers.afterCreate?.(definition, row, actor);
    return row;
  }

  update(definition: EntitySetDefinition, id: string, values: Row, actor: Actor): Row {
    const existing = this.get(definition, id);
    if (!existing) throw recordNotFound(definition.logicalName, id);
    this.assertKeysFree(definition, values, existing[definition.primaryId] as string);
    this.remember(definition, existing[definition.primaryId] as string);
    const row: Row = { ...existing, ...values };
    row[definition.primaryId] = existing[definition.primaryId];
    row.modifiedon = this.clock.next().toISOString();
    row.versionnumber = this.nextVersion();
    row._modifiedby_value = actor.userId;
    deriveColumns(definition, row);
    this.table(definition).set(row[definition.primaryId] as string, row);
    this.indexKeys(definition, existing, row);
    this.audit(definition, row[definition.primaryId] as string, AUDIT_OPERATION.Update, existing, row, actor);
    this.publish({ message: 'Update', definition, id: row[definition.primaryId] as string, attributes: values, row, actor });
    return row;
  }

  delete(definition: EntitySetDefinition, id: string, actor: Actor): Row {
    const existing = this.get(definition, id);
    if (!existing) throw recordNotFound(definition.logicalName, id);
    this.triggers.beforeDelete?.(definition, existing);
    const key = existing[definition.primaryId] as string;
    this.remember(definition, key);
    this.table(definition).delete(key);
    this.tombstoneTable(definition).set(key, this.nextVersion());
    this.indexKeys(definition, existing, undefined);
    this.audit(definition, key, AUDIT_OPERATION.Delete, existing, undefined, actor);
    this.publish({ message: 'Delete', definition, id: key, attributes: {}, row: existing, actor });
    this.triggers.afterDelete?.(definition, existing, actor);
    return existing;
  }

  /** The values an audit row's write changed; undefined for an unknown (or rolled-back) row. */
  auditChange(auditId: string): AuditChange | undefined {
    const audits = entitySet('audits');
    return audits && this.table(audits).has(auditId.toLowerCase()) ? this.auditChanges.get(auditId.toLowerCase()) : undefined;
  }

  /**
   * One audit row per audited write, stamped with the write's own modifiedon (the same clock) [D83];
   * an update that changed nothing leaves none. Journalled like any row, so a rolled-back change set
   * leaves no audit either.
   */
  private audit(definition: EntitySetDefinition, id: string, operation: number, before: Row | undefined, after: Row | undefined, actor: Actor): void {
    const audits = entitySet('audits');
    if (!this.auditing || !audits || !AUDITED_TABLES.has(definition.logicalName)) return;
    const change = after ? changedColumns(definition, before, after) : { oldValue: {}, newValue: {} };
    if (operation === AUDIT_OPERATION.Update && Object.keys(change.newValue).length === 0) return;
    const stamp = typeof after?.modifiedon === 'string' ? after.modifiedon : this.clock.next().toISOString();
    const row = auditRow(definition, id, operation, stamp, actor.userId, this.version);
    const auditId = row.auditid as string;
    this.remember(audits, auditId);
    this.table(audits).set(auditId, row);
    this.auditChanges.set(auditId, { definition, ...change });
  }

  /** Runs `work` atomically: every write it made is undone if it throws. Not re-entrant. */
  transaction<T>(work: () => T): T {
    this.journal = [];
    this.pendingEvents = [];
    try {
      const result = work();
      const events = this.pendingEvents;
      this.journal = undefined;
      this.pendingEvents = undefined;
      for (const event of events) this.onWrite(event);
      return result;
    } catch (error) {
      const journal = this.journal;
      this.journal = undefined;
      this.pendingEvents = undefined;
      for (const entry of (journal ?? []).reverse()) this.undo(entry);
      throw error;
    }
  }

  private undo(entry: UndoEntry): void {
    const current = entry.table.get(entry.id);
    this.indexKeys(entry.definition, current, entry.row);
    if (entry.row) entry.table.set(entry.id, entry.row);
    else entry.table.delete(entry.id);
    if (entry.tombstone === undefined) entry.tombstones.delete(entry.id);
    else entry.tombstones.set(entry.id, entry.tombstone);
  }

  private remember(definition: EntitySetDefinition, id: string): void {
    if (!this.journal) return;
    const table = this.table(definition);
    const tombstones = this.tombstoneTable(definition);
    this.journal.push({ table, tombstones, definition, id, row: table.get(id), tombstone: tombstones.get(id) });
  }

  private publish(event: WriteEvent): void {
    if (this.pendingEvents) this.pendingEvents.push(event);
    else this.onWrite(event);
  }

  private nextVersion(): number {
    this.version += 1;
    return this.version;
  }

  private assertKeysFree(definition: EntitySetDefinition, values: Row, ownId: string | undefined): void {
    for (const [column] of definition.alternateKeys) {
      if (column === undefined || !(column in values)) continue;
      const holder = this.findByKey(definition, column, values[column]);
      if (holder && holder[definition.primaryId] !== ownId) throw duplicateKey();
    }
  }

  private indexKeys(definition: EntitySetDefinition, before: Row | undefined, after: Row | undefined): void {
    for (const [column] of definition.alternateKeys) {
      if (column === undefined) continue;
      const index = this.keyIndex(definition, column);
      const old = before?.[column];
      if (old !== null && old !== undefined) index.delete(keyText(old));
      const next = after?.[column];
      if (next !== null && next !== undefined) index.set(keyText(next), after?.[definition.primaryId] as string);
    }
  }

  private table(definition: EntitySetDefinition): Map<string, Row> {
    let table = this.tables.get(definition.setName);
    if (!table) this.tables.set(definition.setName, (table = new Map<string, Row>()));
    return table;
  }

  private tombstoneTable(definition: EntitySetDefinition): Map<string, number> {
    let table = this.tombstones.get(definition.setName);
    if (!table) this.tombstones.set(definition.setName, (table = new Map<string, number>()));
    return table;
  }

  private keyIndex(definition: EntitySetDefinition, column: string): Map<string, string> {
    let sets = this.keys.get(definition.setName);
    if (!sets) this.keys.set(definition.setName, (sets = new Map<string, Map<string, string>>()));
    let index = sets.get(column);
    if (!index) sets.set(column, (index = new Map<string, string>()));
    return index;
  }
}

/** A member table's row as the view shows it: the view's columns only, and the table's logical name as `activitytypecode`. */
function project(view: EntitySetDefinition, member: EntitySetDefinition, row: Row): Row {
  const out: Row = {};
  for (const column of Object.keys(view.columns)) out[column] = row[column] ?? null;
  out.activitytypecode = member.logicalName;
  return out;
}

/** Alternate key values match case-insensitively, as under Dataverse's SQL collation. */
function keyText(value: unknown): string {
  return (typeof value === 'string' ? value : JSON.stringify(value)).toLowerCase();
}

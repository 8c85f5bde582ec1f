import { ModstampClock } from '../core/modstamp-clock';
import { conflict, notFound, propertyIssue, propertyValidationError, requiredPropertiesMissing, type PropertyIssue } from './errors';
import { OBJECT_TYPES, SCHEMAS, STRING_MAX_LENGTH, type HubSpotObjectType, type PropertyDefinition, type PropertyKind } from './schema';

/** Who made a write: webhooks carry it as `changeSource` / `sourceId` so a sync can spot its own echoes. */
export interface WriteSource {
  changeSource: 'INTEGRATION' | 'CRM_UI';
  sourceId: string;
}

/** One version of a property's value: what `propertiesWithHistory` lists, newest first [H34]. */
export interface PropertyVersion {
  /** "" for a cleared value. */
  value: string;
  timestamp: number;
  source: WriteSource;
}

export interface StoredRecord {
  id: string;
  type: HubSpotObjectType;
  /** Only properties with a value; HubSpot stores every value as a string. */
  properties: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt?: number;
  createdBy: WriteSource;
  /**
   * Versions of the properties changed since creation, newest first. Kept only from a property's
   * first change on (it then starts with the value it was created with): most records are never
   * updated, and a million-record export should not carry a copy of every value.
   */
  history?: Record<string, PropertyVersion[]>;
}

export type ChangeKind = 'creation' | 'propertyChange' | 'deletion' | 'restore';

export interface RecordChange {
  kind: ChangeKind;
  record: StoredRecord;
  /** Properties whose value actually changed, with the new value (null = cleared). */
  changed: [string, string | null][];
  source: WriteSource;
  occurredAt: number;
}

export type PropertyInput = Record<string, unknown>;

/**
 * The portal's records. Every write stamps the type's last-modified property from one strictly
 * advancing clock, so "modified since T" searches are exact, and reports the change to listeners
 * (webhooks).
 */
export class RecordStore {
  private readonly records = new Map<HubSpotObjectType, Map<string, StoredRecord>>();
  private readonly unique = new Map<HubSpotObjectType, Map<string, Map<string, string>>>();
  private readonly definitions = new Map<HubSpotObjectType, Map<string, PropertyDefinition>>();
  private readonly listeners: ((change: RecordChange) => void)[] = [];
  private nextId = 10_000_001;

  constructor(readonly clock: ModstampClock = new ModstampClock()) {
    for (const type of OBJECT_TYPES) {
      this.records.set(type, new Map());
      this.definitions.set(type, new Map(Object.entries(SCHEMAS[type].properties)));
      const indexes = new Map<string, Map<string, string>>();
      for (const [name, definition] of Object.entries(SCHEMAS[type].properties)) if (definition.unique) indexes.set(name, new Map());
      this.unique.set(type, indexes);
    }
  }

  onChange(listener: (change: RecordChange) => void): void {
    this.listeners.push(listener);
  }

  /** Adds a custom property (per sandbox, so parallel sandboxes do not share schema). */
  defineProperty(type: HubSpotObjectType, name: string, kind: PropertyKind, unique = false, options?: readonly string[]): void {
    this.defs(type).set(name, { kind, unique, ...(options ? { options } : {}) });
    if (unique && !this.indexes(type).has(name)) this.indexes(type).set(name, new Map());
  }

  /** Every property of the type, built-in and defined, by name. */
  propertyDefinitions(type: HubSpotObjectType): [string, PropertyDefinition][] {
    return [...this.defs(type)];
  }

  property(type: HubSpotObjectType, name: string): PropertyDefinition | undefined {
    return this.defs(type).get(name);
  }

  isUnique(type: HubSpotObjectType, name: string): boolean {
    return this.defs(type).get(name)?.unique === true;
  }

  get(type: HubSpotObjectType, id: string): StoredRecord | undefined {
    return this.table(type).get(id);
  }

  /** Live record holding `value` in a unique property (email compared case-insensitively). */
  findByUnique(type: HubSpotObjectType, name: string, value: string): StoredRecord | undefined {
    const id = this.indexes(type).get(name)?.get(normalizeUnique(name, value));
    return id === undefined ? undefined : this.table(type).get(id);
  }

  /** Records in id order (ids only grow, so insertion order is id order). */
  all(type: HubSpotObjectType): IterableIterator<StoredRecord> {
    return this.table(type).values();
  }

  count(type: HubSpotObjectType): number {
    return this.table(type).size;
  }

  /** Normalises input values; returns the issues HubSpot would reject them with. */
  prepare(type: HubSpotObjectType, input: PropertyInput): { values: Record<string, string | null>; issues: PropertyIssue[] } {
    const values: Record<string, string | null> = {};
    const issues: PropertyIssue[] = [];
    for (const [name, raw] of Object.entries(input)) {
      const definition = this.defs(type).get(name);
      if (!definition) issues.push(propertyIssue(name, 'PROPERTY_DOESNT_EXIST'));
      else if (definition.readOnly) issues.push(propertyIssue(name, 'READ_ONLY_VALUE'));
      else {
        const value = normalizeValue(name, definition.kind, raw);
        if (value === undefined) issues.push(propertyIssue(name, definition.kind === 'number' ? 'INVALID_FLOAT' : 'INVALID_DATE'));
        else if (value !== null && definition.options && !definition.options.includes(value)) issues.push(propertyIssue(name, 'INVALID_OPTION', { value, options: definition.options }));
        else if (value !== null && definition.kind === 'string' && value.length > STRING_MAX_LENGTH) issues.push(propertyIssue(name, 'INVALID_STRING_LENGTH', { value, maxLength: STRING_MAX_LENGTH }));
        else values[name] = value;
      }
    }
    return { values, issues };
  }

  /** Throws the 409 a create of `input` would meet (a unique value another record holds), creating nothing. */
  assertCreatable(type: HubSpotObjectType, input: PropertyInput): void {
    const { values } = this.prepare(type, input);
    this.assertRequired(type, values);
    this.assertUniqueFree(type, values, undefined);
  }

  create(type: HubSpotObjectType, input: PropertyInput, source: WriteSource): StoredRecord {
    const { values, issues } = this.prepare(type, input);
    if (issues.length > 0) throw propertyValidationError(issues);
    this.assertRequired(type, values);
    this.assertUniqueFree(type, values, undefined);
    const id = String(this.nextId++);
    const stamp = this.clock.next();
    const iso = stamp.toISOString();
    const properties: Record<string, string> = {};
    const changed: [string, string | null][] = [];
    for (const [name, value] of Object.entries(values)) {
      if (value === null) continue;
      properties[name] = value;
      changed.push([name, value]);
    }
    Object.assign(properties, { hs_object_id: id, createdate: iso, [SCHEMAS[type].modifiedProperty]: iso });
    const record: StoredRecord = { id, type, properties, createdAt: stamp.getTime(), updatedAt: stamp.getTime(), archived: false, createdBy: source };
    this.table(type).set(id, record);
    this.index(record);
    this.emit({ kind: 'creation', record, changed, source, occurredAt: record.updatedAt });
    return record;
  }

  update(type: HubSpotObjectType, id: string, input: PropertyInput, source: WriteSource): StoredRecord {
    const record = this.table(type).get(id);
    if (!record || record.archived) throw notFound(id);
    const { values, issues } = this.prepare(type, input);
    if (issues.length > 0) throw propertyValidationError(issues);
    this.assertUniqueFree(type, values, id);
    this.unindex(record);
    const changed: [string, string | null][] = [];
    const stamp = this.touch(record);
    for (const [name, value] of Object.entries(values)) {
      if ((record.properties[name] ?? null) === value) continue;
      this.keepVersion(record, name, { value: value ?? '', timestamp: stamp, source });
      if (value === null) delete record.properties[name];
      else record.properties[name] = value;
      changed.push([name, value]);
    }
    this.index(record);
    this.emit({ kind: 'propertyChange', record, changed, source, occurredAt: record.updatedAt });
    return record;
  }

  archive(type: HubSpotObjectType, id: string, source: WriteSource): boolean {
    const record = this.table(type).get(id);
    if (!record || record.archived) return false;
    this.unindex(record);
    this.touch(record);
    record.archived = true;
    record.archivedAt = record.updatedAt;
    this.emit({ kind: 'deletion', record, changed: [], source, occurredAt: record.updatedAt });
    return true;
  }

  restore(type: HubSpotObjectType, id: string, source: WriteSource): StoredRecord {
    const record = this.table(type).get(id);
    if (!record) throw notFound(id);
    if (!record.archived) return record;
    this.assertUniqueFree(type, record.properties, id);
    record.archived = false;
    delete record.archivedAt;
    this.index(record);
    this.touch(record);
    this.emit({ kind: 'restore', record, changed: [], source, occurredAt: record.updatedAt });
    return record;
  }

  /** A property's versions, newest first: [] for one never set. */
  versions(record: StoredRecord, name: string): PropertyVersion[] {
    const kept = record.history?.[name];
    if (kept) return kept;
    const value = record.properties[name];
    return value === undefined ? [] : [{ value, timestamp: record.createdAt, source: record.createdBy }];
  }

  private keepVersion(record: StoredRecord, name: string, version: PropertyVersion): void {
    const history = (record.history ??= {});
    history[name] = [version, ...this.versions(record, name)].slice(0, MAX_VERSIONS);
  }

  private touch(record: StoredRecord): number {
    const stamp = this.clock.next();
    record.updatedAt = stamp.getTime();
    record.properties[SCHEMAS[record.type].modifiedProperty] = stamp.toISOString();
    return record.updatedAt;
  }

  /** Fills what HubSpot derives (a meeting's hs_timestamp from its start), then refuses a create still missing a required property. */
  private assertRequired(type: HubSpotObjectType, values: Record<string, string | null>): void {
    const schema = SCHEMAS[type];
    for (const [name, from] of Object.entries(schema.fallbacks ?? {})) {
      const fallback = values[from];
      if ((values[name] ?? null) === null && fallback !== undefined && fallback !== null) values[name] = fallback;
    }
    const missing = (schema.required ?? []).filter((name) => (values[name] ?? null) === null);
    if (missing.length > 0) throw requiredPropertiesMissing(schema.singular, missing);
  }

  private assertUniqueFree(type: HubSpotObjectType, values: Record<string, string | null>, selfId: string | undefined): void {
    for (const [name, index] of this.indexes(type)) {
      const value = values[name];
      if (value === undefined || value === null) continue;
      const holder = index.get(normalizeUnique(name, value));
      if (holder !== undefined && holder !== selfId) throw conflict(holder, SCHEMAS[type].singular);
    }
  }

  private index(record: StoredRecord): void {
    for (const [name, index] of this.indexes(record.type)) {
      const value = record.properties[name];
      if (value !== undefined) index.set(normalizeUnique(name, value), record.id);
    }
  }

  private unindex(record: StoredRecord): void {
    for (const [name, index] of this.indexes(record.type)) {
      const value = record.properties[name];
      if (value !== undefined && index.get(normalizeUnique(name, value)) === record.id) index.delete(normalizeUnique(name, value));
    }
  }

  private emit(change: RecordChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private table(type: HubSpotObjectType): Map<string, StoredRecord> {
    return this.records.get(type) as Map<string, StoredRecord>;
  }

  private defs(type: HubSpotObjectType): Map<string, PropertyDefinition> {
    return this.definitions.get(type) as Map<string, PropertyDefinition>;
  }

  private indexes(type: HubSpotObjectType): Map<string, Map<string, string>> {
    return this.unique.get(type) as Map<string, Map<string, string>>;
  }
}

/** Versions kept per property (HubSpot documents no number; older ones are dropped here). */
const MAX_VERSIONS = 20;

function normalizeUnique(name: string, value: string): string {
  return name === 'email' ? value.toLowerCase() : value;
}

/** HubSpot keeps values as strings; "" or null clears; dates accept epoch ms or ISO and come back ISO. */
function normalizeValue(name: string, kind: PropertyKind, raw: unknown): string | null | undefined {
  if (raw === null || raw === undefined || raw === '') return null;
  const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : JSON.stringify(raw);
  if (kind === 'number') return Number.isFinite(Number(text)) ? text : undefined;
  if (kind === 'datetime') {
    const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
  }
  return name === 'email' ? text.trim().toLowerCase() : text;
}

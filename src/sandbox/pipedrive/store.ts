import { createHash } from 'node:crypto';
import { ActivityTypes } from './activity-types';
import type { ModstampClock } from '../core/modstamp-clock';
import { errorBody, notFound, PipedriveError, validation } from './errors';
import { SANDBOX_USER_ID } from './changelog';
import { ownerProblem } from './users';
import { DEFAULT_STAGES, ENTITIES, MAX_LENGTH, READ_ONLY, REQUIRED_ON_CREATE, SINGULAR, STANDARD_FIELDS, type FieldKind, type PipedriveEntity } from './schema';

/** A custom field as Pipedrive keys it: a 40-character hash, per company and entity. */
export interface CustomField {
  key: string;
  name: string;
  fieldType: FieldKind;
  /** An `enum` field's options: the value written is an option's id [P7]. */
  options?: { id: number; label: string }[];
}

export interface StoredRecord {
  id: number;
  entity: PipedriveEntity;
  /** Standard fields in their v2 shape (`emails`/`phones` arrays, ids as numbers). */
  fields: Record<string, unknown>;
  /** Custom field values by key. */
  custom: Record<string, unknown>;
  addTime: number;
  /** Epoch ms from a strictly advancing clock; rendered to the second, as Pipedrive does. */
  updateTime: number;
  deletedAt?: number;
}

/** Who wrote: `api` for API calls, `app` for people in the web app (`meta.change_source`, UNCONFIRMED values). */
export type ChangeSource = 'api' | 'app';

export interface RecordChange {
  action: 'create' | 'change' | 'delete';
  record: StoredRecord;
  /** The record's rendering before the write (null on create). */
  before: Record<string, unknown> | null;
  source: ChangeSource;
}

/** Deleted records stay listable, then are purged [P1]. */
export const DELETED_RETENTION_MS = 30 * 86_400_000;

export const SYNC_ID_FIELD_NAME = 'crm_sync_id';

/** A deterministic 40-hex key, so tests and the demo can name a custom field's key up front. */
export function customFieldKey(entity: PipedriveEntity, name: string): string {
  return createHash('sha1').update(`${entity}:${name}`).digest('hex');
}

/**
 * The company's records. Every write stamps `update_time` from one strictly advancing clock and
 * reports the change to listeners (webhooks). Deletes mark, never remove, until the retention ends.
 */
export class RecordStore {
  private readonly records = new Map<PipedriveEntity, Map<number, StoredRecord>>();
  private readonly customFields = new Map<PipedriveEntity, Map<string, CustomField>>();
  private readonly listeners: ((change: RecordChange) => void)[] = [];
  /** Ids count per entity, as at Pipedrive. */
  private readonly nextIds = new Map<PipedriveEntity, number>();
  private nextOptionId = 1;
  /** The company's activity types: an activity's `type` must be an active one's key [P19]. */
  readonly activityTypes: ActivityTypes;

  constructor(
    readonly clock: ModstampClock,
    private readonly now: () => number,
  ) {
    this.activityTypes = new ActivityTypes(now);
    for (const entity of ENTITIES) {
      this.records.set(entity, new Map());
      this.customFields.set(entity, new Map());
      // Every company connected to crm-sync gets a text field for the canonical sync id.
      this.defineField(entity, SYNC_ID_FIELD_NAME, 'varchar');
    }
  }

  onChange(listener: (change: RecordChange) => void): void {
    this.listeners.push(listener);
  }

  /** A custom field; an `enum` given option labels gets option ids (unique in the company, as Pipedrive numbers them). */
  defineField(entity: PipedriveEntity, name: string, fieldType: FieldKind, options?: readonly string[]): CustomField {
    const field: CustomField = { key: customFieldKey(entity, name), name, fieldType, ...(options ? { options: options.map((label) => ({ id: this.nextOptionId++, label })) } : {}) };
    this.fieldsOf(entity).set(field.key, field);
    return field;
  }

  fields(entity: PipedriveEntity): CustomField[] {
    return [...this.fieldsOf(entity).values()];
  }

  customField(entity: PipedriveEntity, key: string): CustomField | undefined {
    return this.fieldsOf(entity).get(key);
  }

  /** A live record (deleted ones answer 404 on GET/PATCH/DELETE, UNCONFIRMED). */
  live(entity: PipedriveEntity, id: number): StoredRecord {
    const record = this.table(entity).get(id);
    if (!record || record.deletedAt !== undefined) throw notFound(SINGULAR[entity]);
    return record;
  }

  get(entity: PipedriveEntity, id: number): StoredRecord | undefined {
    this.purge(entity);
    return this.table(entity).get(id);
  }

  all(entity: PipedriveEntity): StoredRecord[] {
    this.purge(entity);
    return [...this.table(entity).values()];
  }

  create(entity: PipedriveEntity, body: Record<string, unknown>, source: ChangeSource): StoredRecord {
    const { fields, custom } = this.prepare(entity, body, true);
    const stamp = this.clock.next().getTime();
    const id = this.nextIds.get(entity) ?? 1;
    this.nextIds.set(entity, id + 1);
    const record: StoredRecord = { id, entity, fields: withDefaults(entity, fields), custom, addTime: stamp, updateTime: stamp };
    this.table(entity).set(record.id, record);
    this.emit({ action: 'create', record, before: null, source });
    return record;
  }

  update(entity: PipedriveEntity, id: number, body: Record<string, unknown>, source: ChangeSource): StoredRecord {
    const record = this.live(entity, id);
    const { fields, custom } = this.prepare(entity, body, false);
    const before = renderRecord(record);
    Object.assign(record.fields, fields);
    for (const [key, value] of Object.entries(custom)) {
      if (value === null) delete record.custom[key];
      else record.custom[key] = value;
    }
    if (entity === 'persons' && ('first_name' in fields || 'last_name' in fields) && !('name' in fields)) {
      record.fields.name = [record.fields.first_name, record.fields.last_name].filter((part) => typeof part === 'string' && part !== '').join(' ');
    }
    record.updateTime = this.clock.next().getTime();
    this.emit({ action: 'change', record, before, source });
    return record;
  }

  delete(entity: PipedriveEntity, id: number, source: ChangeSource): StoredRecord {
    const record = this.live(entity, id);
    const before = renderRecord(record);
    record.updateTime = this.clock.next().getTime();
    record.deletedAt = record.updateTime;
    this.emit({ action: 'delete', record, before, source });
    return record;
  }

  /** Validates a write body: known standard fields, `custom_fields` by existing key, value types. */
  private prepare(entity: PipedriveEntity, body: Record<string, unknown>, creating: boolean): { fields: Record<string, unknown>; custom: Record<string, unknown> } {
    const fields: Record<string, unknown> = {};
    const custom: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body)) {
      if (name === 'custom_fields') {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw validation('Validation failed: custom_fields: must be an object');
        for (const [key, customValue] of Object.entries(value as Record<string, unknown>)) {
          const field = this.customField(entity, key);
          if (!field) throw validation(`Validation failed: custom_fields: Unknown custom field key "${key}"`);
          custom[key] = checkValue(`custom_fields.${key}`, field.fieldType, customValue, field.options);
        }
        continue;
      }
      const readOnly = READ_ONLY[entity]?.[name];
      if (readOnly !== undefined) throw new PipedriveError(400, errorBody(readOnly, { code: 'ERR_BAD_REQUEST' }));
      const kind = STANDARD_FIELDS[entity][name];
      if (!kind) throw validation(`Validation failed: ${name}: Parameter '${name}' is not allowed for this request`);
      fields[name] = checkValue(name, kind, value);
    }
    // The owner must be an active user of the company [P37].
    if (typeof fields.owner_id === 'number') {
      const problem = ownerProblem(fields.owner_id);
      if (problem) throw validation(`Validation failed: owner_id: ${problem}`);
    }
    const required = REQUIRED_ON_CREATE[entity];
    if (creating && required !== undefined && (typeof fields[required] !== 'string' || fields[required] === '')) {
      throw validation(`Validation failed: ${required}: Parameter '${required}' is required`);
    }
    // A person's name is made of first and last name when left out; with neither, it stays empty
    // (what Pipedrive shows for a nameless person is UNCONFIRMED).
    if (entity === 'persons' && creating && !fields.name) fields.name = [fields.first_name, fields.last_name].filter(Boolean).join(' ');
    if (entity === 'deals' && fields.stage_id !== undefined && fields.stage_id !== null && !DEFAULT_STAGES.some((stage) => stage.id === fields.stage_id)) {
      throw validation(`Validation failed: stage_id: Stage with id ${JSON.stringify(fields.stage_id)} does not exist`);
    }
    // An activity's type is an active activity type's key_string [P19] (message UNCONFIRMED [P20]).
    if (entity === 'activities' && fields.type !== undefined && (typeof fields.type !== 'string' || !this.activityTypes.isActive(fields.type))) {
      throw validation(`Validation failed: type: ${JSON.stringify(fields.type)} is not an active activity type`);
    }
    // The primary participant is the activity's person [P17].
    if (entity === 'activities' && Array.isArray(fields.participants)) {
      const primary = (fields.participants as { person_id: number; primary_flag: boolean }[]).filter((participant) => participant.primary_flag);
      if (primary.length > 1) throw validation('Validation failed: participants: only one participant can be primary');
      fields.person_id = primary[0]?.person_id ?? null;
    }
    return { fields, custom };
  }

  /** Deleted records older than the retention disappear for good. */
  private purge(entity: PipedriveEntity): void {
    const cutoff = this.now() - DELETED_RETENTION_MS;
    for (const [id, record] of this.table(entity)) if (record.deletedAt !== undefined && record.deletedAt < cutoff) this.table(entity).delete(id);
  }

  private emit(change: RecordChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private table(entity: PipedriveEntity): Map<number, StoredRecord> {
    return this.records.get(entity) as Map<number, StoredRecord>;
  }

  private fieldsOf(entity: PipedriveEntity): Map<string, CustomField> {
    return this.customFields.get(entity) as Map<string, CustomField>;
  }
}

function withDefaults(entity: PipedriveEntity, fields: Record<string, unknown>): Record<string, unknown> {
  // The API token's user owns what it creates unless an owner is given [P37].
  const owned = { owner_id: SANDBOX_USER_ID, ...fields };
  if (entity === 'deals') return { currency: 'USD', value: 0, status: 'open', stage_id: 1, pipeline_id: 1, ...owned };
  if (entity === 'activities') return { type: 'task', done: false, participants: [], person_id: null, ...owned };
  return owned;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}(:\d{2})?$/;

function checkValue(name: string, kind: FieldKind, value: unknown, options?: readonly { id: number; label: string }[]): unknown {
  if (value === null) return null;
  const fail = (why: string): never => {
    throw validation(`Validation failed: ${name}: ${why}`);
  };
  const checked = checkType(name, kind, value, fail);
  // Longer than the field type holds [P7]; the wording is UNCONFIRMED, the 400 envelope is Pipedrive's.
  const max = MAX_LENGTH[kind];
  if (typeof checked === 'string' && max !== undefined && checked.length > max) fail(`must be at most ${max} characters (got ${checked.length})`);
  // An enum takes one of its option ids [P7]; wording UNCONFIRMED.
  if (kind === 'enum' && options && !options.some((option) => String(option.id) === String(checked))) fail(`${JSON.stringify(checked)} is not a valid option id (${options.map((option) => option.id).join(', ')})`);
  return checked;
}

function checkType(name: string, kind: FieldKind, value: unknown, fail: (why: string) => never): unknown {
  switch (kind) {
    case 'varchar':
    case 'text':
      return typeof value === 'string' ? value : fail('must be a string');
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? value : fail('must be a number');
    case 'int':
    case 'org':
    case 'person':
    case 'deal':
    case 'user':
    case 'visible_to':
      return typeof value === 'number' && Number.isInteger(value) ? value : fail('must be an integer');
    case 'boolean':
      return typeof value === 'boolean' ? value : fail('must be a boolean');
    case 'date':
      return typeof value === 'string' && DATE.test(value) ? value : fail('must be a date as YYYY-MM-DD');
    case 'time':
      return typeof value === 'string' && TIME.test(value) ? value : fail('must be a time as HH:MM');
    case 'status':
      return value === 'open' || value === 'won' || value === 'lost' ? value : fail('must be one of open, won, lost');
    case 'enum':
      return typeof value === 'string' || typeof value === 'number' ? value : fail('must be an option id');
    case 'address':
      return checkAddress(name, value);
    case 'participants':
      return checkParticipants(name, value);
    case 'emails':
    case 'phones': {
      if (!Array.isArray(value)) return fail('must be an array of { value, primary, label }');
      return value.map((entry: unknown) => {
        if (typeof entry !== 'object' || entry === null || typeof (entry as { value?: unknown }).value !== 'string') return fail('each entry needs a string value');
        const item = entry as { value: string; primary?: unknown; label?: unknown };
        return { value: kind === 'emails' ? item.value.trim() : item.value, primary: item.primary === true, label: typeof item.label === 'string' ? item.label : 'work' };
      });
    }
  }
}

/**
 * An activity's `participants`: written as `[{person_id, primary}]`, answered as
 * `[{person_id, primary_flag}]` (the read key is reported by users of v2 [P17]; the client's
 * model names both `primary`: UNCONFIRMED). A list with none primary leaves no person (UNCONFIRMED).
 */
function checkParticipants(name: string, value: unknown): { person_id: number; primary_flag: boolean }[] {
  if (!Array.isArray(value)) throw validation(`Validation failed: ${name}: must be an array of { person_id, primary }`);
  const seen = new Set<number>();
  return value.map((entry: unknown) => {
    const item = entry as { person_id?: unknown; primary?: unknown } | null;
    if (typeof item !== 'object' || item === null || typeof item.person_id !== 'number' || !Number.isInteger(item.person_id)) throw validation(`Validation failed: ${name}: each entry needs an integer person_id`);
    if (seen.has(item.person_id)) throw validation(`Validation failed: ${name}: person ${item.person_id} is listed twice`);
    seen.add(item.person_id);
    return { person_id: item.person_id, primary_flag: item.primary === true };
  });
}

/** The parts of an organization's `address` object in v2 [P6]; `value` is the one-line form. */
export const ADDRESS_PARTS = ['value', 'country', 'admin_area_level_1', 'admin_area_level_2', 'locality', 'sublocality', 'route', 'street_number', 'subpremise', 'postal_code'] as const;

function checkAddress(name: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw validation(`Validation failed: ${name}: must be an object`);
  const address: Record<string, string> = {};
  for (const [part, text] of Object.entries(value as Record<string, unknown>)) {
    if (!(ADDRESS_PARTS as readonly string[]).includes(part)) throw validation(`Validation failed: ${name}.${part}: Parameter '${part}' is not allowed for this request`);
    if (text === null) continue;
    if (typeof text !== 'string') throw validation(`Validation failed: ${name}.${part}: must be a string`);
    address[part] = text;
  }
  return address;
}

/** Pipedrive renders times in RFC 3339 to the second, UTC (`2026-11-23T05:12:45Z`) [P1]. */
export function rfc3339(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** A record as v2 GET/list answers it. */
export function renderRecord(record: StoredRecord): Record<string, unknown> {
  const base: Record<string, unknown> = { id: record.id, ...record.fields, add_time: rfc3339(record.addTime), update_time: rfc3339(record.updateTime) };
  if (record.entity === 'deals') {
    if (record.deletedAt !== undefined) base.status = 'deleted';
    base.is_deleted = record.deletedAt !== undefined;
  } else {
    base.is_deleted = record.deletedAt !== undefined;
  }
  if (record.entity === 'persons') {
    base.emails ??= [];
    base.phones ??= [];
  }
  base.custom_fields = { ...record.custom };
  return base;
}

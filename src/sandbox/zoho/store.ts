import type { ModstampClock } from '../core/modstamp-clock';
import { errorBody, type ZohoErrorBody } from './errors';
import { RecordTimelines } from './timeline';
import { ownerOf, ZOHO_USERS } from './users';
import { DEFAULT_CONTACT_ROLES, defaultSchemas, MODULES, renderDateTime, TEXT_LENGTH, WHAT_ID_MODULES, type FieldSchema, type ModuleSchema, type ZohoModule } from './modules';

/** Who made a write: API writes carry the token's user, UI writes the sandbox's person. */
export interface ZohoUser {
  name: string;
  id: string;
}

export interface StoredRecord {
  id: string;
  module: ZohoModule;
  values: Record<string, unknown>;
  createdAt: number;
  modifiedAt: number;
  createdBy: ZohoUser;
  modifiedBy: ZohoUser;
}

export interface DeletedRecord {
  id: string;
  module: ZohoModule;
  displayName: string;
  deletedAt: number;
  type: 'recycle' | 'permanent';
  deletedBy: ZohoUser;
  createdBy: ZohoUser;
}

export interface ContactRole {
  id: string;
  name: string;
  sequence_number: number;
}

export type WriteOperation = 'insert' | 'update' | 'delete';

export interface RecordChange {
  module: ZohoModule;
  operation: WriteOperation;
  ids: string[];
  /** Field API names written, per id (notifications' affected fields). */
  fields: Record<string, string[]>;
}

/** One entry of a write answer's `data[]` [Z5]. */
export type WriteEntry =
  | {
      code: 'SUCCESS';
      details: { Modified_Time: string; Modified_By: ZohoUser; Created_Time: string; id: string; Created_By: ZohoUser };
      message: string;
      status: 'success';
      duplicate_field?: string | null;
      action?: 'insert' | 'update';
    }
  | ZohoErrorBody;

export type WriteMode = 'create' | 'update' | 'upsert';

class RecordRefusal extends Error {
  constructor(readonly body: ZohoErrorBody) {
    super(body.message);
  }
}

/** The organisation's records per module, the recycle bin, and the change feed notifications read. */
export class RecordStore {
  readonly schemas: Record<ZohoModule, ModuleSchema>;
  /** Every record's timeline: what each write created or changed, and when [Z64]. */
  readonly timelines = new RecordTimelines();
  private readonly records = new Map<ZohoModule, Map<string, StoredRecord>>();
  private readonly deleted = new Map<ZohoModule, DeletedRecord[]>();
  private readonly listeners: ((change: RecordChange) => void)[] = [];
  private nextId: bigint;
  private readonly roles: ContactRole[];
  private readonly dealRoles = new Map<string, Map<string, string>>();

  constructor(
    private readonly clock: ModstampClock,
    readonly syncIdField: string,
    /** Minutes east of UTC in which datetimes are rendered (the organisation's time zone). */
    readonly offsetMinutes: number,
    idPrefix: bigint,
  ) {
    this.schemas = defaultSchemas(syncIdField);
    for (const module of MODULES) {
      this.records.set(module, new Map());
      this.deleted.set(module, []);
    }
    this.nextId = idPrefix * 1_000_000_000_000n + 1n;
    // One id sequence for every module: ids never repeat across modules here (whether Zoho's do is UNCONFIRMED [Z24]).
    this.roles = DEFAULT_CONTACT_ROLES.map((name, index) => ({ id: String(this.nextId++), name, sequence_number: index + 1 }));
  }

  onChange(listener: (change: RecordChange) => void): void {
    this.listeners.push(listener);
  }

  render(epochMs: number): string {
    return renderDateTime(epochMs, this.offsetMinutes);
  }

  get(module: ZohoModule, id: string): StoredRecord | undefined {
    return this.records.get(module)?.get(id);
  }

  all(module: ZohoModule): StoredRecord[] {
    return [...(this.records.get(module)?.values() ?? [])];
  }

  deletions(module: ZohoModule): DeletedRecord[] {
    return [...(this.deleted.get(module) ?? [])];
  }

  /** Adds a user-defined field (as an admin would in Setup), optionally "Do not allow duplicate values". */
  defineField(module: ZohoModule, apiName: string, kind: FieldSchema['kind'], unique = false, extra: Pick<FieldSchema, 'length' | 'options'> = {}): void {
    // A custom single-line text holds 255 unless the admin chose less [Z15].
    const length = extra.length ?? (kind === 'text' ? TEXT_LENGTH : undefined);
    this.schemas[module].fields[apiName] = { kind, unique, custom: true, ...(length !== undefined ? { length } : {}), ...(extra.options ? { options: extra.options } : {}) };
  }

  /**
   * Applies one write call: each input on its own (one refused record never fails the others),
   * then one change event for the call (notifications are per call, not per record).
   */
  write(module: ZohoModule, inputs: readonly Record<string, unknown>[], mode: WriteMode, actor: ZohoUser, duplicateCheckFields?: readonly string[]): WriteEntry[] {
    const entries: WriteEntry[] = [];
    const changes: Record<'insert' | 'update', RecordChange> = {
      insert: { module, operation: 'insert', ids: [], fields: {} },
      update: { module, operation: 'update', ids: [], fields: {} },
    };
    for (const [index, input] of inputs.entries()) {
      try {
        const { record, action, duplicateField, fields } = this.writeOne(module, input, index, mode, actor, duplicateCheckFields);
        const change = changes[action];
        change.ids.push(record.id);
        change.fields[record.id] = fields;
        entries.push({
          code: 'SUCCESS',
          details: {
            Modified_Time: this.render(record.modifiedAt),
            Modified_By: record.modifiedBy,
            Created_Time: this.render(record.createdAt),
            id: record.id,
            Created_By: record.createdBy,
          },
          message: action === 'insert' ? 'record added' : 'record updated',
          status: 'success',
          ...(mode === 'upsert' ? { duplicate_field: duplicateField, action } : {}),
        });
      } catch (error) {
        if (!(error instanceof RecordRefusal)) throw error;
        entries.push(error.body);
      }
    }
    for (const change of Object.values(changes)) if (change.ids.length > 0) this.emit(change);
    return entries;
  }

  /** Moves records to the recycle bin; unknown or already deleted ids are refused per entry. */
  remove(module: ZohoModule, ids: readonly string[], actor: ZohoUser): WriteEntry[] {
    const live = this.records.get(module) as Map<string, StoredRecord>;
    const removed: string[] = [];
    const entries = ids.map((id): WriteEntry => {
      const record = live.get(id);
      if (!record) return errorBody('INVALID_DATA', 'the related id given seems to be invalid', { id });
      live.delete(id);
      if (module === 'Deals') this.dealRoles.delete(id);
      if (module === 'Contacts') for (const roles of this.dealRoles.values()) roles.delete(id);
      const deletedAt = this.clock.next().getTime();
      (this.deleted.get(module) as DeletedRecord[]).push({
        id,
        module,
        displayName: displayName(this.schemas[module], record),
        deletedAt,
        type: 'recycle',
        deletedBy: actor,
        createdBy: record.createdBy,
      });
      removed.push(id);
      return {
        code: 'SUCCESS',
        details: { id, Modified_Time: this.render(deletedAt), Modified_By: actor, Created_Time: this.render(record.createdAt), Created_By: record.createdBy },
        message: 'record deleted',
        status: 'success',
      };
    });
    if (removed.length > 0) this.emit({ module, operation: 'delete', ids: removed, fields: {} });
    return entries;
  }

  /** Empties the recycle bin entries of a module (they become `permanent` in the deleted listing). */
  purge(module: ZohoModule): number {
    let count = 0;
    for (const entry of this.deleted.get(module) ?? []) {
      if (entry.type === 'recycle') {
        entry.type = 'permanent';
        count += 1;
      }
    }
    return count;
  }

  private writeOne(
    module: ZohoModule,
    input: Record<string, unknown>,
    index: number,
    mode: WriteMode,
    actor: ZohoUser,
    duplicateCheckFields: readonly string[] | undefined,
  ): { record: StoredRecord; action: 'insert' | 'update'; duplicateField: string | null; fields: string[] } {
    const schema = this.schemas[module];
    const live = this.records.get(module) as Map<string, StoredRecord>;
    const values = this.validate(module, input, index);
    let existing: StoredRecord | undefined;
    let duplicateField: string | null = null;
    if (mode === 'update') {
      const id = input.id;
      if (typeof id !== 'string' || id === '') throw new RecordRefusal(errorBody('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'id' }));
      existing = live.get(id);
      if (!existing) throw new RecordRefusal(errorBody('INVALID_DATA', 'the related id given seems to be invalid', { id }));
    } else if (mode === 'upsert') {
      for (const field of duplicateCheckFields ?? [...schema.systemDuplicateCheck, ...uniqueFields(schema)]) {
        const wanted = values[field];
        if (wanted === undefined || wanted === null || wanted === '') continue;
        existing = [...live.values()].find((record) => sameValue(record.values[field], wanted));
        if (existing) {
          duplicateField = field;
          break;
        }
      }
    }
    if (!existing) {
      // The token's user (or the person, in the UI) owns what it creates unless an owner is given [Z51].
      if (values.Owner === undefined && schema.fields.Owner) values.Owner = ownerOf(actor) ?? null;
      for (const field of schema.mandatory) {
        if (values[field] === undefined || values[field] === null || values[field] === '') {
          // [Z15]: `{api_name, json_path}`, "required field not found".
          throw new RecordRefusal(errorBody('MANDATORY_NOT_FOUND', 'required field not found', { api_name: field, json_path: `$.data[${index}].${field}` }));
        }
      }
    }
    this.assertUnique(module, values, existing?.id);
    const now = this.clock.next().getTime();
    if (existing) {
      const changes = Object.entries(values)
        .filter(([name, value]) => !sameStored(existing.values[name], value))
        .map(([apiName, value]) => ({ apiName, old: existing.values[apiName] ?? null, new: value }));
      if (changes.length > 0) this.timelines.record(existing.id, { auditedAt: now, action: 'updated', doneBy: actor, changes });
      Object.assign(existing.values, values);
      this.derive(module, existing.values);
      existing.modifiedAt = now;
      existing.modifiedBy = actor;
      return { record: existing, action: 'update', duplicateField, fields: Object.keys(values) };
    }
    const record: StoredRecord = { id: String(this.nextId++), module, values: { ...values }, createdAt: now, modifiedAt: now, createdBy: actor, modifiedBy: actor };
    this.derive(module, record.values);
    live.set(record.id, record);
    this.timelines.record(record.id, { auditedAt: now, action: 'added', doneBy: actor, changes: null });
    return { record, action: 'insert', duplicateField: null, fields: Object.keys(values) };
  }

  /** Checks types and lookups; returns the values as stored (lookups as `{name, id}`). Unknown keys are ignored. */
  private validate(module: ZohoModule, input: Record<string, unknown>, index: number): Record<string, unknown> {
    const schema = this.schemas[module];
    const values: Record<string, unknown> = {};
    for (const [name, raw] of Object.entries(input)) {
      const field = schema.fields[name];
      if (!field || name === 'Full_Name') continue;
      // A task's What_Id is polymorphic: the module is the one `$se_module` names (UNCONFIRMED: Accounts when left out) [Z20].
      const target = WHAT_ID_MODULES.has(module) && name === 'What_Id' && input.$se_module === 'Deals' ? { ...field, lookup: 'Deals' as const } : field;
      values[name] = this.checkValue(name, target, raw, `$.data[${index}].${name}`);
    }
    return values;
  }

  private checkValue(name: string, field: FieldSchema, raw: unknown, jsonPath: string): unknown {
    if (raw === null || raw === '') return null;
    const value = this.checkType(name, field, raw);
    // Too long: INVALID_DATA naming the field and its `maximum_length` [Z15][Z16].
    if (typeof value === 'string' && field.length !== undefined && value.length > field.length) {
      throw new RecordRefusal(errorBody('INVALID_DATA', 'invalid data', { maximum_length: field.length, api_name: name, json_path: jsonPath }));
    }
    // A value outside the picklist: INVALID_DATA with `expected_data_type: "picklist"` (secondary [Z17]).
    if (typeof value === 'string' && field.options && !field.options.includes(value)) {
      throw new RecordRefusal(errorBody('INVALID_DATA', 'invalid data', { api_name: name, expected_data_type: 'picklist', json_path: jsonPath }));
    }
    return value;
  }

  private checkType(name: string, field: FieldSchema, raw: unknown): unknown {
    const invalid = (expected: string): never => {
      throw new RecordRefusal(errorBody('INVALID_DATA', 'invalid data', { api_name: name, expected_data_type: expected }));
    };
    switch (field.kind) {
      case 'text':
      case 'textarea':
      case 'phone':
      case 'website':
      case 'picklist':
        return typeof raw === 'string' ? raw : invalid(field.kind);
      case 'email':
        return typeof raw === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw) ? raw : invalid('email');
      case 'integer':
        return typeof raw === 'number' && Number.isInteger(raw) ? raw : invalid('integer');
      case 'double':
      case 'currency':
        return typeof raw === 'number' && Number.isFinite(raw) ? raw : invalid(field.kind === 'double' ? 'double' : 'currency');
      case 'date':
        return typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw) ? raw : invalid('date');
      case 'datetime':
        return typeof raw === 'string' && !Number.isNaN(Date.parse(raw)) ? raw : invalid('datetime');
      case 'participants':
        return this.checkParticipants(name, raw);
      case 'owner': {
        // An active user of the organisation, written `{id}` or as the id [Z51]; the refusal's wording is UNCONFIRMED [Z52].
        const id = typeof raw === 'string' ? raw : typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
        const user = id === undefined ? undefined : ZOHO_USERS.find((candidate) => candidate.id === id);
        if (!user) throw new RecordRefusal(errorBody('INVALID_DATA', 'the id given seems to be invalid', { api_name: name, id: id ?? null }));
        if (user.status !== 'active') throw new RecordRefusal(errorBody('INVALID_DATA', 'the user is inactive', { api_name: name, id: user.id }));
        return { name: user.full_name, id: user.id, email: user.email };
      }
      case 'lookup': {
        const id = typeof raw === 'string' ? raw : typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
        const target = id === undefined || !field.lookup ? undefined : this.get(field.lookup, id);
        if (!target || !field.lookup) throw new RecordRefusal(errorBody('INVALID_DATA', 'the related id given seems to be invalid', { api_name: name, id: id ?? null }));
        return { name: displayName(this.schemas[field.lookup], target), id: target.id };
      }
    }
  }

  /**
   * An event's Participants, written `[{type, participant}]` and answered with the documented read
   * shape `{Email, name, invited, id, type, participant, status}` [Z27]. The write shape and whole-list
   * replacement are UNCONFIRMED; only contact participants are checked against the store.
   */
  private checkParticipants(name: string, raw: unknown): Record<string, unknown>[] {
    if (!Array.isArray(raw)) throw new RecordRefusal(errorBody('INVALID_DATA', 'invalid data', { api_name: name, expected_data_type: 'jsonarray' }));
    return raw.map((entry: unknown) => {
      const item = entry as { type?: unknown; participant?: unknown } | null;
      const type = item?.type;
      const id = typeof item?.participant === 'string' ? item.participant : undefined;
      if (typeof type !== 'string' || !['contact', 'lead', 'user', 'email'].includes(type) || id === undefined) throw new RecordRefusal(errorBody('INVALID_DATA', 'invalid data', { api_name: name }));
      const contact = type === 'contact' ? this.get('Contacts', id) : undefined;
      if (type === 'contact' && !contact) throw new RecordRefusal(errorBody('INVALID_DATA', 'the related id given seems to be invalid', { api_name: name, id }));
      const email = contact && typeof contact.values.Email === 'string' ? contact.values.Email : type === 'email' ? id : null;
      return { Email: email, name: contact ? displayName(this.schemas.Contacts, contact) : id, invited: false, id: String(this.nextId++), type, participant: id, status: 'not_known' };
    });
  }

  // ----- Deal Contact Roles [Z19][Z21][Z22][Z23] -----

  /** The organisation's contact roles, by sequence number. */
  contactRoles(): ContactRole[] {
    return this.roles.map((role) => ({ ...role }));
  }

  /** A deal's contact roles: contact id -> role id, in the order they were added. */
  dealContactRoles(dealId: string): [string, string][] {
    return [...(this.dealRoles.get(dealId)?.entries() ?? [])];
  }

  /**
   * Adds or changes one contact's role on a deal. The deal's Modified_Time is not moved (UNCONFIRMED [Z19]:
   * the docs do not say; the sandbox takes the worst case for a poller).
   */
  setContactRole(dealId: string, contactId: string, roleId: string): void {
    let roles = this.dealRoles.get(dealId);
    if (!roles) {
      roles = new Map();
      this.dealRoles.set(dealId, roles);
    }
    roles.set(contactId, roleId);
  }

  removeContactRole(dealId: string, contactId: string): boolean {
    return this.dealRoles.get(dealId)?.delete(contactId) ?? false;
  }

  private assertUnique(module: ZohoModule, values: Record<string, unknown>, selfId: string | undefined): void {
    const schema = this.schemas[module];
    for (const field of uniqueFields(schema)) {
      const wanted = values[field];
      if (wanted === undefined || wanted === null || wanted === '') continue;
      const clash = this.all(module).find((record) => record.id !== selfId && sameValue(record.values[field], wanted));
      if (clash) throw new RecordRefusal(errorBody('DUPLICATE_DATA', 'duplicate data', { api_name: field, id: clash.id, module: { api_name: module } }));
    }
  }

  private derive(module: ZohoModule, values: Record<string, unknown>): void {
    if (module === 'Contacts') values.Full_Name = [values.First_Name, values.Last_Name].filter((part) => typeof part === 'string' && part !== '').join(' ');
  }

  private emit(change: RecordChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

export function uniqueFields(schema: ModuleSchema): string[] {
  return Object.entries(schema.fields)
    .filter(([, field]) => field.unique === true)
    .map(([name]) => name);
}

/** Duplicate checks compare text case-insensitively (emails, names, ids alike). */
function sameValue(stored: unknown, wanted: unknown): boolean {
  if (typeof stored === 'string' && typeof wanted === 'string') return stored.toLowerCase() === wanted.toLowerCase();
  return stored === wanted;
}

/** Whether a write leaves a field as it was (the timeline lists only fields a write changed). */
function sameStored(stored: unknown, written: unknown): boolean {
  const empty = (value: unknown) => value === undefined || value === null || value === '';
  if (empty(stored) || empty(written)) return empty(stored) && empty(written);
  return JSON.stringify(stored) === JSON.stringify(written);
}

function displayName(schema: ModuleSchema, record: StoredRecord): string {
  const value = record.values[schema.nameField];
  return typeof value === 'string' ? value : '';
}

import { isSfDate, parseSfDateTime, toSfDateTime } from './dates';
import { recordError, show } from './errors';
import { isWellFormedId } from './ids';
import type { FieldValue } from './records';
import { addField, isCustomFieldName, resolveFieldName, type FieldDef, type FieldType, type SObjectDef } from './schema';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Checks a record body against the object's fields the way the REST API does and returns the
 * values by canonical name. Unknown `__c` fields are accepted (and learnt) so tests can use any
 * custom field; unknown standard fields are INVALID_FIELD, read-only ones
 * INVALID_FIELD_FOR_INSERT_UPDATE. Throws RecordFailure.
 */
export function normaliseInput(def: SObjectDef, input: Record<string, unknown>): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = {};
  const readOnly: string[] = [];
  for (const [key, raw] of Object.entries(input)) {
    if (key === 'attributes') continue;
    const field = lookupOrLearn(def, key, raw);
    if (!field.writable) {
      readOnly.push(field.name);
      continue;
    }
    values[field.name] = withinLimits(field, coerce(def, field, raw));
  }
  if (readOnly.length > 0) {
    throw recordError(
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      readOnly,
    );
  }
  return values;
}

function lookupOrLearn(def: SObjectDef, key: string, raw: unknown): FieldDef {
  const name = resolveFieldName(def, key);
  if (name) return def.fields.get(name) as FieldDef;
  if (!isCustomFieldName(key)) throw recordError('INVALID_FIELD', `No such column '${key}' on sobject of type ${def.name}`);
  const type: FieldType = typeof raw === 'boolean' ? 'boolean' : typeof raw === 'number' ? 'number' : 'string';
  return addField(def, { name: key, type, writable: true });
}

function coerce(def: SObjectDef, field: FieldDef, raw: unknown): FieldValue {
  if (raw === null || raw === undefined) return null;
  const mismatch = (): never => {
    throw recordError(
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${field.type === 'number' ? 'double' : field.type} from ${typeof raw === 'string' ? 'VALUE_STRING' : 'VALUE'} value ${show(raw)} or request may be missing a required field`,
    );
  };
  if (typeof raw === 'object') return mismatch();
  switch (field.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      return mismatch();
    case 'number': {
      const value = typeof raw === 'number' ? raw : Number(raw);
      return Number.isFinite(value) && show(raw).trim() !== '' ? value : mismatch();
    }
    case 'date':
      return typeof raw === 'string' && isSfDate(raw) ? raw : mismatch();
    case 'datetime': {
      // Kept to the second and answered as `+0000`, as the org renders datetimes (UNCONFIRMED that milliseconds are dropped, [S73]).
      const ms = typeof raw === 'string' ? parseSfDateTime(raw) : undefined;
      return ms === undefined ? mismatch() : toSfDateTime(ms - (((ms % 1000) + 1000) % 1000));
    }
    case 'email':
      if (typeof raw !== 'string' || !EMAIL.test(raw)) {
        throw recordError('INVALID_EMAIL_ADDRESS', `${field.name}: invalid email address: ${show(raw)}`, [field.name]);
      }
      return raw;
    case 'reference':
    case 'id':
      if (typeof raw !== 'string' || !isWellFormedId(raw)) {
        throw recordError('MALFORMED_ID', `${def.name} ID: id value of incorrect type: ${show(raw)}`, [field.name]);
      }
      return raw;
    default:
      return show(raw);
  }
}

/**
 * What describe says a value must fit: text no longer than `length` (STRING_TOO_LONG: since API
 * 15.0 a longer value fails the write instead of being truncated) and a restricted picklist's
 * values only (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST). Both messages start with the field's
 * label, as Salesforce words them, and name the field in `fields` [S17][S55].
 */
function withinLimits(field: FieldDef, value: FieldValue): FieldValue {
  if (typeof value !== 'string') return value;
  const label = field.label ?? field.name;
  if (field.length !== undefined && value.length > field.length) {
    throw recordError('STRING_TOO_LONG', `${label}: data value too large: ${value} (max length=${field.length})`, [field.name]);
  }
  if (field.picklist?.restricted && !field.picklist.values.includes(value)) {
    throw recordError('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${label}: bad value for restricted picklist field: ${value}`, [field.name]);
  }
  return value;
}

/** REQUIRED_FIELD_MISSING for required fields that would end up empty. */
export function checkRequired(def: SObjectDef, values: Record<string, FieldValue>, creating: boolean): void {
  const missing: string[] = [];
  for (const field of def.fields.values()) {
    if (!field.requiredOnCreate) continue;
    const present = field.name in values;
    const value = values[field.name];
    if ((creating && !present) || (present && (value === null || value === ''))) missing.push(field.name);
  }
  if (missing.length > 0) throw recordError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
}

/** A create-only field (describe `updateable: false`) in an update is refused like a read-only one. */
export function checkCreateOnly(def: SObjectDef, values: Record<string, FieldValue>): void {
  const createOnly = Object.keys(values).filter((name) => def.fields.get(name)?.createOnly);
  if (createOnly.length > 0) {
    throw recordError(
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to create/update fields: ${createOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      createOnly,
    );
  }
}

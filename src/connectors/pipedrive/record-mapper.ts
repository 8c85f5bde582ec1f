import type { CanonicalFields, References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import { toCanonical, toNative, type CompiledMapping } from '../../model/mapping';
import type { ExternalRecord } from '../connector';
import { referenceFields, referencesOf } from './references';
import { CUSTOM_FIELD_KEY } from './spec';

/**
 * Pure conversions between Pipedrive v2 records and ExternalRecords, shared by every path. The
 * mapping engine speaks flat native fields, so a v2 record is first flattened: primary email and
 * phone, a synthesized deal `stage` and activity `due_at`, `done` as text, custom fields by key.
 */

/** A v2 record as GET and list return it [P1]. */
export interface PipedriveRecord {
  id: number;
  update_time: string;
  is_deleted?: boolean;
  custom_fields?: Record<string, unknown> | null;
  [field: string]: unknown;
}

interface ListEntry {
  value?: unknown;
  primary?: unknown;
}

/** The primary entry of `emails` / `phones` (else the first), or null. */
function primaryValue(list: unknown): string | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  const entries = list as ListEntry[];
  const chosen = entries.find((entry) => entry.primary === true) ?? entries[0];
  return typeof chosen?.value === 'string' && chosen.value !== '' ? chosen.value : null;
}

/** `update_time` (RFC 3339, to the second) as ISO with milliseconds. */
export function modstampOf(record: PipedriveRecord): string {
  return new Date(Date.parse(record.update_time)).toISOString();
}

/**
 * Activity types the mapping reads as a kind (the `type` picklist's vendor values). Any other type
 * (deadline, lunch, a company's own) has no canonical kind: it reads as null instead of failing the record.
 */
export function knownActivityTypes(mapping: CompiledMapping): ReadonlySet<string> {
  const field = mapping.objects.activity?.reads.find((candidate) => candidate.native === 'type');
  return new Set(Object.keys(field?.values ?? {}));
}

/** The flat native view the mapping reads. */
export function flatten(objectType: ObjectType, record: PipedriveRecord, activityTypes: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const flat: Record<string, unknown> = { ...record, ...(record.custom_fields ?? {}) };
  delete flat.custom_fields;
  if (objectType === 'contact') {
    flat.email = primaryValue(record.emails);
    flat.phone = primaryValue(record.phones);
  }
  if (objectType === 'deal') flat.stage = record.status === 'won' || record.status === 'lost' ? record.status : typeof record.stage_id === 'number' ? String(record.stage_id) : null;
  if (objectType === 'activity') {
    flat.done = typeof record.done === 'boolean' ? String(record.done) : null;
    const date = typeof record.due_date === 'string' ? record.due_date : undefined;
    const time = typeof record.due_time === 'string' && record.due_time !== '' ? record.due_time : '00:00';
    // Pipedrive keeps due date and time apart, in UTC [P1]; the canonical model has one datetime.
    flat.due_at = date ? `${date}T${time.length === 5 ? `${time}:00` : time}.000Z` : null;
    flat.type = typeof record.type === 'string' && activityTypes.has(record.type) ? record.type : null;
  }
  return flat;
}

/**
 * `dealParticipants`: a deal's participant person ids when listed (participants.ts); left out,
 * the deal's `contacts` slot is not reported (not read).
 */
export function toExternalRecord(mapping: CompiledMapping, objectType: ObjectType, record: PipedriveRecord, syncIdKey: string, dealParticipants?: readonly string[]): ExternalRecord {
  const syncId = record.custom_fields?.[syncIdKey];
  return {
    objectType,
    externalId: String(record.id),
    syncId: typeof syncId === 'string' && syncId !== '' ? syncId : null,
    modifiedAt: modstampOf(record),
    fields: toCanonical(mapping, objectType, flatten(objectType, record, objectType === 'activity' ? knownActivityTypes(mapping) : undefined)).fields,
    references: referencesOf(objectType, record, dealParticipants),
  };
}

/**
 * Canonical fields (and references) -> a v2 write body. Synthesized fields are split back; custom
 * keys go under `custom_fields`. Writing `email` or `phone` sets the whole list to that one
 * primary entry (BEHAVIOR.md: secondary entries are not kept).
 */
export function toPipedriveBody(mapping: CompiledMapping, objectType: ObjectType, fields: Readonly<CanonicalFields>, references: References | undefined): Record<string, unknown> {
  const native = toNative(mapping, objectType, fields);
  const body: Record<string, unknown> = {};
  const custom: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(native)) {
    if (CUSTOM_FIELD_KEY.test(name)) custom[name] = value;
    else if (name === 'email' || name === 'phone') body[`${name}s`] = typeof value === 'string' && value !== '' ? [{ value, primary: true, label: 'work' }] : [];
    else if (name === 'stage') {
      if (value === 'won' || value === 'lost') body.status = value;
      else if (typeof value === 'string') Object.assign(body, { status: 'open', stage_id: Number(value) });
    } else if (name === 'done') body.done = value === 'true';
    // No type is no value Pipedrive can hold: left out (the type stays), said in `adjusted` (upsert.ts).
    else if (name === 'type' && objectType === 'activity') {
      if (typeof value === 'string') body.type = value;
    } else if (name === 'due_at') {
      if (typeof value === 'string') Object.assign(body, { due_date: value.slice(0, 10), due_time: value.slice(11, 16) });
      else Object.assign(body, { due_date: null, due_time: null });
    } else body[name] = value;
  }
  if (Object.keys(custom).length > 0) body.custom_fields = custom;
  Object.assign(body, referenceFields(objectType, references ?? {}));
  return body;
}

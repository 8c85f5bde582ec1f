import type { References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsToRead, toCanonical, toNative, type CompiledMapping } from '../../model/mapping';
import type { ExternalRecord, UpsertInput } from '../connector';
import { zohoSpec } from './spec';

/**
 * Pure conversions between Zoho records and ExternalRecords, shared by the incremental, export,
 * read and write paths so they can never disagree.
 */
export type ZohoRecord = Readonly<Record<string, unknown>>;

/** The `fields` parameter: mapped fields, the sync id, lookups and the system stamps (at most 50). */
export function fieldsToRead(mapping: CompiledMapping, objectType: ObjectType, syncIdField: string): string[] {
  const module = zohoSpec.modules[objectType];
  const fields = [
    syncIdField,
    zohoSpec.systemFields.modifiedTime,
    zohoSpec.systemFields.modifiedBy,
    ...Object.values(module.lookups as Record<string, { field: string }>).map((lookup) => lookup.field),
    ...(objectType === 'activity' ? [WHAT_ID, SE_MODULE] : []),
    ...nativeFieldsToRead(mapping, objectType),
  ];
  return [...new Set(fields)].slice(0, zohoSpec.paging.maxFields);
}

/** Zoho renders datetimes in the organisation's zone, to the second (`...+05:30`); canonical wants UTC ms. */
export function normalizeTimestamp(value: unknown): string {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? new Date(0).toISOString() : new Date(time).toISOString();
}

function lookupId(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string') return (value as { id: string }).id;
  return null;
}

/** A task's polymorphic lookup and the module it points into [Z20]. */
const WHAT_ID = 'What_Id';
const SE_MODULE = '$se_module';

/**
 * A task's What_Id holds one record, a deal or an account (`$se_module`) [Z20]: read, it fills the
 * slot of its module and leaves the other unread (a task on a deal may concern a company too,
 * which What_Id cannot say: another CRM's link must not be taken as removed). Empty, both are empty.
 */
export function whatIdSlots(record: ZohoRecord): References {
  if (!(WHAT_ID in record)) return {};
  const id = lookupId(record[WHAT_ID]);
  if (id === null) return { deal: null, company: null };
  return record[SE_MODULE] === 'Deals' ? { deal: id } : { company: id };
}

/**
 * The What_Id a write sets, and the slot it could not keep. Both slots given: the deal wins (it is
 * the more specific link; its account is the deal's own `Account_Name`) and `company` is reported
 * as left out. Only one given: it sets What_Id, replacing whatever was there; null clears What_Id.
 */
export function whatIdWrite(references: References): { fields: Record<string, unknown>; leftOut: string[] } {
  const has = (slot: string): boolean => Object.prototype.hasOwnProperty.call(references, slot);
  const one = (slot: string): string | null => {
    const value = references[slot];
    return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
  };
  const deal = has('deal') ? one('deal') : undefined;
  const company = has('company') ? one('company') : undefined;
  if (deal) return { fields: { [WHAT_ID]: { id: deal }, [SE_MODULE]: 'Deals' }, leftOut: company ? ['references.company'] : [] };
  if (company) return { fields: { [WHAT_ID]: { id: company }, [SE_MODULE]: 'Accounts' }, leftOut: [] };
  if (deal === null || company === null) return { fields: { [WHAT_ID]: null }, leftOut: [] };
  return { fields: {}, leftOut: [] };
}

export function fromRecord(mapping: CompiledMapping, objectType: ObjectType, syncIdField: string, record: ZohoRecord): ExternalRecord {
  const references: References = objectType === 'activity' ? whatIdSlots(record) : {};
  for (const [slot, lookup] of Object.entries(zohoSpec.modules[objectType].lookups as Record<string, { field: string; many: boolean }>)) {
    if (!(lookup.field in record)) continue;
    const id = lookupId(record[lookup.field]);
    references[slot] = lookup.many ? (id === null ? [] : [id]) : id;
  }
  const syncId = record[syncIdField];
  const modifiedBy = lookupId(record[zohoSpec.systemFields.modifiedBy]);
  return {
    objectType,
    externalId: String(record.id),
    syncId: typeof syncId === 'string' && syncId !== '' ? syncId : null,
    modifiedAt: normalizeTimestamp(record[zohoSpec.systemFields.modifiedTime]),
    fields: toCanonical(mapping, objectType, record).fields,
    references,
    ...(modifiedBy !== null ? { lastModifiedBy: modifiedBy } : {}),
  };
}

/** A write's `data[]` entry: mapped fields, the sync id, lookups as `{id}`. Throws MappingValueError. */
export function toPayload(mapping: CompiledMapping, objectType: ObjectType, syncIdField: string, input: UpsertInput): Record<string, unknown> {
  const body: Record<string, unknown> = toNative(mapping, objectType, input.fields);
  body[syncIdField] = input.syncId;
  const lookups = zohoSpec.modules[objectType].lookups as Record<string, { field: string; many: boolean }>;
  for (const [slot, value] of Object.entries(input.references ?? {})) {
    const lookup = lookups[slot];
    if (!lookup) continue;
    // A lookup holds one record: of a many-valued slot, the first id is kept (the others are reported, leftOutReferences).
    const id = Array.isArray(value) ? (value[0] ?? null) : value;
    body[lookup.field] = id === null ? null : { id };
  }
  if (objectType === 'activity') Object.assign(body, whatIdWrite(input.references ?? {}).fields);
  if (input.externalId) body.id = input.externalId;
  return body;
}

/**
 * Slots a write could not hold exactly, said in the outcome's `adjusted`, never silent: a task's
 * second and later contacts (Who_Id holds one) and its company when a deal takes What_Id.
 */
export function leftOutReferences(objectType: ObjectType, references: References | undefined): string[] {
  if (objectType !== 'activity' || !references) return [];
  const contacts = references.contacts;
  const extra = Array.isArray(contacts) && contacts.length > 1 ? ['references.contacts'] : [];
  return [...extra, ...whatIdWrite(references).leftOut];
}

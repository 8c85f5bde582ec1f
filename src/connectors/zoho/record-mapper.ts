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

export function fromRecord(mapping: CompiledMapping, objectType: ObjectType, syncIdField: string, record: ZohoRecord): ExternalRecord {
  const references: References = {};
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
    // A lookup holds one record: of a many-valued slot, the first id is kept.
    const id = Array.isArray(value) ? (value[0] ?? null) : value;
    body[lookup.field] = id === null ? null : { id };
  }
  if (input.externalId) body.id = input.externalId;
  return body;
}

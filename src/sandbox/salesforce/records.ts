import { toSfDateTime } from './dates';
import type { FieldDef, SObjectDef, SObjectType } from './schema';

export type FieldValue = string | number | boolean | null;

/** One stored record. System fields are kept as numbers and rendered on the way out. */
export interface StoredRecord {
  type: SObjectType;
  id: string;
  /** Writable standard and custom fields that have been set, by canonical name. */
  values: Record<string, FieldValue>;
  createdMs: number;
  modstampMs: number;
  createdById: string;
  lastModifiedById: string;
  ownerId: string;
  /** Set while the record sits in the Recycle Bin. */
  deletedMs?: number;
  /** The parent whose deletion took this record to the Recycle Bin with it (contact roles of an opportunity). */
  deletedWith?: string;
}

/** Reads any field, system and formula fields included (Contact.Name, Opportunity.IsWon...). */
export function readField(record: StoredRecord, field: string): FieldValue {
  switch (field) {
    case 'Id':
      return record.id;
    case 'IsDeleted':
      return record.deletedMs !== undefined;
    case 'CreatedDate':
      return toSfDateTime(record.createdMs);
    case 'LastModifiedDate':
    case 'SystemModstamp':
      return toSfDateTime(record.modstampMs);
    case 'CreatedById':
      return record.createdById;
    case 'LastModifiedById':
      return record.lastModifiedById;
    case 'OwnerId':
      return record.ownerId;
    default:
      return readComputed(record, field);
  }
}

/** Datetime fields as epoch ms, for comparisons without re-parsing rendered strings. */
export function readFieldMs(record: StoredRecord, field: string): number | undefined {
  if (field === 'CreatedDate') return record.createdMs;
  if (field === 'LastModifiedDate' || field === 'SystemModstamp') return record.modstampMs;
  return undefined;
}

function readComputed(record: StoredRecord, field: string): FieldValue {
  const values = record.values;
  if (field === 'Name' && record.type === 'Contact') {
    const parts = [values.FirstName, values.LastName].filter((part) => typeof part === 'string' && part !== '');
    return parts.join(' ');
  }
  if (field === 'IsClosed' && record.type === 'Opportunity') return String(values.StageName ?? '').startsWith('Closed');
  if (field === 'IsWon' && record.type === 'Opportunity') return values.StageName === 'Closed Won';
  if (field === 'IsClosed' && record.type === 'Task') return values.Status === 'Completed';
  return values[field] ?? null;
}

export function recordUrl(version: string, type: string, id: string): string {
  return `/services/data/v${version}/sobjects/${type}/${id}`;
}

/** The REST JSON shape of a record: `attributes` first, then the fields asked for. */
export function toApiRecord(record: StoredRecord, fields: Iterable<string>, version: string): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: record.type, url: recordUrl(version, record.type, record.id) } };
  for (const field of fields) out[field] = readField(record, field);
  return out;
}

export function allFieldNames(def: SObjectDef): string[] {
  return [...def.fields.values()].map((field: FieldDef) => field.name);
}

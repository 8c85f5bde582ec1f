import { alwaysReturned, SCHEMAS } from './schema';
import type { RecordStore, StoredRecord } from './store';

/** One entry of `propertiesWithHistory` on the wire (ValueWithTimestamp) [H34]. */
export interface ValueWithTimestamp {
  value: string;
  timestamp: string;
  sourceType: string;
  sourceId: string;
}

/** HubSpot's SimplePublicObject as it travels over the wire. */
export interface PublicObject {
  id: string;
  properties: Record<string, string | null>;
  propertiesWithHistory?: Record<string, ValueWithTimestamp[]>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

/**
 * Requested properties come back (null when empty), plus the ones HubSpot always includes; with
 * none requested, the type's defaults.
 */
export function toPublicObject(record: StoredRecord, requested?: readonly string[]): PublicObject {
  const names = requested && requested.length > 0 ? [...requested, ...alwaysReturned(record.type)] : SCHEMAS[record.type].defaultProperties;
  const properties: Record<string, string | null> = {};
  for (const name of names) properties[name] = record.properties[name] ?? null;
  const result: PublicObject = {
    id: record.id,
    properties,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    archived: record.archived,
  };
  if (record.archivedAt !== undefined) result.archivedAt = new Date(record.archivedAt).toISOString();
  return result;
}

/** `properties=a,b` and `properties=a&properties=b` (what the SDK sends) both work, as at HubSpot. */
export function parseNameList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const parts = (Array.isArray(value) ? value : [value]).flatMap((item) => String(item).split(','));
  const names = parts.map((part) => part.trim()).filter((part) => part.length > 0);
  return names.length > 0 ? names : undefined;
}

export function parseBoolean(value: unknown): boolean {
  return value === true || value === 'true';
}

/** The object with the versions of the properties asked for, newest first (none asked: unchanged). */
export function withHistory(object: PublicObject, store: RecordStore, record: StoredRecord, names: readonly string[] | undefined): PublicObject {
  if (!names || names.length === 0) return object;
  const history = Object.fromEntries(
    names.map((name) => [
      name,
      store.versions(record, name).map((version) => ({ value: version.value, timestamp: new Date(version.timestamp).toISOString(), sourceType: version.source.changeSource, sourceId: version.source.sourceId })),
    ]),
  );
  return { ...object, propertiesWithHistory: history };
}

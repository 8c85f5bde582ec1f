import type { References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsToRead, objectMapping, toCanonical, toNative, type CompiledMapping } from '../../model/mapping';
import type { ExternalRecord, UpsertInput } from '../connector';
import type { DynamicsSpec, EntitySpec, RegardingSpec } from './spec';

/**
 * Pure conversions between Dataverse rows and ExternalRecords, shared by the incremental, full
 * (export), read and write paths so they can never disagree.
 */

/** A row as the Web API returns it (`$select`ed columns plus annotations). */
export type DataverseRow = Readonly<Record<string, unknown>>;

/** Columns to `$select`: mapped fields, the row's identity and version, and reference lookups. */
export function selectColumns(spec: DynamicsSpec, mapping: CompiledMapping, objectType: ObjectType): string[] {
  const entity = spec.objects[objectType];
  const columns = [
    entity.primaryId,
    spec.syncIdColumn,
    spec.systemColumns.modifiedOn,
    spec.systemColumns.version,
    spec.systemColumns.modifiedBy,
    ...Object.values(entity.lookups).map((lookup) => lookup.column),
    ...(entity.regarding ? [entity.regarding.column] : []),
    ...nativeFieldsToRead(mapping, objectType),
  ];
  return [...new Set(columns)];
}

/** Asks for the table behind each lookup, without which a polymorphic lookup cannot be read [D32]. */
export const LOOKUP_ANNOTATIONS = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"';

/** Dataverse renders datetimes to the second (`2024-05-01T10:20:30Z`); canonical wants ms. */
export function normalizeTimestamp(value: unknown): string {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? new Date(0).toISOString() : new Date(time).toISOString();
}

/** The row version (`versionnumber`): unlike modifiedon it changes on every write, at any speed. */
export function rowVersion(spec: DynamicsSpec, row: DataverseRow): string {
  const version = row[spec.systemColumns.version];
  if (typeof version === 'number' || typeof version === 'string') return String(version);
  const etag = row['@odata.etag'];
  return typeof etag === 'string' ? etag : '';
}

export function fromRow(spec: DynamicsSpec, mapping: CompiledMapping, objectType: ObjectType, row: DataverseRow): ExternalRecord {
  const entity = spec.objects[objectType];
  const references: References = {};
  for (const [slot, lookup] of Object.entries(entity.lookups)) {
    if (lookup.column in row) references[slot] = typeof row[lookup.column] === 'string' ? (row[lookup.column] as string) : null;
  }
  if (entity.regarding && entity.regarding.column in row) Object.assign(references, regardingReferences(entity.regarding, row));
  const syncId = row[spec.syncIdColumn];
  const modifiedBy = row[spec.systemColumns.modifiedBy];
  return {
    objectType,
    externalId: String(row[entity.primaryId]),
    syncId: typeof syncId === 'string' && syncId !== '' ? syncId : null,
    modifiedAt: normalizeTimestamp(row[spec.systemColumns.modifiedOn]),
    fields: toCanonical(mapping, objectType, row).fields,
    references,
    ...(typeof modifiedBy === 'string' ? { lastModifiedBy: modifiedBy } : {}),
    ...(typeof row['@odata.etag'] === 'string' ? { version: row['@odata.etag'] } : {}),
  };
}

/**
 * The JSON body of an upsert: mapped columns, the sync id, and `<nav>@odata.bind` for references
 * (lookup columns themselves are read-only) [D5]. Throws MappingValueError on an unmappable value.
 */
export function toPayload(spec: DynamicsSpec, mapping: CompiledMapping, objectType: ObjectType, input: UpsertInput): Record<string, unknown> {
  const entity = spec.objects[objectType];
  const body = toNative(mapping, objectType, input.fields);
  for (const field of objectMapping(mapping, objectType).writes) {
    if (field.type === 'picklist' && isOptionSet(field.values) && typeof body[field.native] === 'string') {
      // Choice columns are Edm.Int32: "100000001" would be refused as a type mismatch.
      body[field.native] = Number(body[field.native]);
    }
  }
  body[spec.syncIdColumn] = input.syncId;
  for (const [slot, value] of Object.entries(input.references ?? {})) {
    const lookup = entity.lookups[slot];
    if (!lookup || Array.isArray(value)) continue;
    body[`${lookup.navigation}@odata.bind`] = value === null ? null : `/${lookup.targetSet}(${value})`;
  }
  const regarding = entity.regarding ? regardingBind(entity.regarding, input.references ?? {}).bind : undefined;
  if (regarding) body[regarding[0]] = regarding[1];
  return body;
}

/**
 * The regarding slots one lookup holds. Pointing at one slot's table, it reports that slot and
 * leaves the others unread: the lookup cannot say whether the task also concerns a company when
 * it names a deal (a write given both keeps the deal), so another CRM's link must not be taken as
 * removed. Empty, or pointing at a table no slot takes (a case), it reports every slot empty.
 */
export function regardingReferences(regarding: RegardingSpec, row: DataverseRow): References {
  const id = row[regarding.column];
  const table = row[`${regarding.column}@Microsoft.Dynamics.CRM.lookuplogicalname`];
  const held = typeof id === 'string' ? regarding.slots.find((target) => target.logicalName === table) : undefined;
  if (held) return { [held.slot]: id as string };
  return Object.fromEntries(regarding.slots.map((target) => [target.slot, null]));
}

/**
 * The one regarding bind a write makes: the first slot (in spec order) given an id wins; with no
 * id given, a slot given null clears the lookup. `dropped` names slots given an id that lost.
 */
export function regardingBind(regarding: RegardingSpec, references: References): { bind?: [string, string | null]; dropped: string[] } {
  const given = regarding.slots.filter((target) => target.slot in references);
  const withId = given.filter((target) => typeof references[target.slot] === 'string');
  const [winner, ...losers] = withId;
  if (winner) return { bind: [`${winner.navigation}@odata.bind`, `/${winner.targetSet}(${references[winner.slot] as string})`], dropped: losers.map((target) => target.slot) };
  const cleared = given[0];
  return cleared ? { bind: [`${cleared.navigation}@odata.bind`, null], dropped: [] } : { dropped: [] };
}

function isOptionSet(values: Readonly<Record<string, string>> | undefined): boolean {
  const keys = Object.keys(values ?? {});
  return keys.length > 0 && keys.every((key) => /^-?\d+$/.test(key));
}

/** `contacts(crm_syncid='a''b')`, or `contacts(<guid>)` for a linked record [D7]. */
export function upsertPath(spec: DynamicsSpec, entity: EntitySpec, input: UpsertInput): string {
  if (input.externalId && isGuid(input.externalId)) return `${entity.entitySet}(${input.externalId})`;
  return `${entity.entitySet}(${spec.syncIdColumn}='${encodeURIComponent(input.syncId.replace(/'/g, "''"))}')`;
}

export function isGuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

import { referenceSlots, type CanonicalFields, type References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsToRead, toCanonical, toNative, type CompiledMapping } from '../../model/mapping';
import type { ExternalRecord } from '../connector';
import { HUBSPOT_OBJECTS, SYNC_ID_PROPERTY, type HubSpotObjectPath } from './spec';

/**
 * Pure conversions between HubSpot objects and ExternalRecords, shared by every path (changes,
 * reads, exports, writes), so a field means the same thing whichever way it travelled.
 */

/** A HubSpot object as every read endpoint returns it (SimplePublicObject): properties are strings. */
export interface HubSpotObject {
  id: string;
  properties: Record<string, string | null>;
  updatedAt: Date | string;
  archived?: boolean | undefined;
  archivedAt?: Date | string | undefined;
}

/** Associated record ids per HubSpot object path, e.g. `{ companies: ['101'] }`. */
export type AssociatedIds = Partial<Record<HubSpotObjectPath, string[]>>;

/** The properties to ask for: the mapped ones, the sync id and the last-modified stamp. */
export function propertiesToRead(mapping: CompiledMapping, objectType: ObjectType): string[] {
  return [...new Set([...nativeFieldsToRead(mapping, objectType), SYNC_ID_PROPERTY, HUBSPOT_OBJECTS[objectType].modstamp])];
}

/** The object's modstamp as ISO with milliseconds: the last-modified property, else `updatedAt`. */
export function modstampOf(objectType: ObjectType, object: HubSpotObject): string {
  const raw = object.properties[HUBSPOT_OBJECTS[objectType].modstamp] ?? object.updatedAt;
  const epoch = raw instanceof Date ? raw.getTime() : /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  return new Date(epoch).toISOString();
}

/**
 * HubSpot object -> ExternalRecord. `associations` absent = references not read (the engine must
 * not take an empty map for "no related records"); present = every slot of the object filled.
 */
export function toExternalRecord(mapping: CompiledMapping, objectType: ObjectType, object: HubSpotObject, associations?: AssociatedIds): ExternalRecord {
  const syncId = object.properties[SYNC_ID_PROPERTY];
  return {
    objectType,
    externalId: object.id,
    syncId: syncId === undefined || syncId === null || syncId === '' ? null : syncId,
    modifiedAt: modstampOf(objectType, object),
    fields: toCanonical(mapping, objectType, object.properties).fields,
    references: associations ? referencesFromAssociations(objectType, associations) : {},
  };
}

/** Canonical fields -> HubSpot properties, all strings ("" clears a value). */
export function toHubSpotProperties(mapping: CompiledMapping, objectType: ObjectType, fields: Readonly<CanonicalFields>): Record<string, string> {
  const native = toNative(mapping, objectType, fields);
  return Object.fromEntries(Object.entries(native).map(([name, value]) => [name, typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value as number | boolean)]));
}

interface SlotTarget {
  slot: string;
  path: HubSpotObjectPath;
  many: boolean;
}

/** The reference slots of a canonical object as HubSpot association targets. */
export function slotTargets(objectType: ObjectType): SlotTarget[] {
  return Object.entries(referenceSlots[objectType] as Record<string, { to: ObjectType; many: boolean }>).map(([slot, spec]) => ({
    slot,
    path: HUBSPOT_OBJECTS[spec.to].path,
    many: spec.many,
  }));
}

/** Association ids -> canonical references: single slots take the lowest id (HubSpot lists them ascending). */
export function referencesFromAssociations(objectType: ObjectType, associations: AssociatedIds): References {
  const references: References = {};
  for (const { slot, path, many } of slotTargets(objectType)) {
    const ids = [...(associations[path] ?? [])].sort((a, b) => Number(a) - Number(b));
    references[slot] = many ? ids : (ids[0] ?? null);
  }
  return references;
}

/** Canonical references -> wanted association ids per target path; slots the input leaves out stay untouched. */
export function associationsFromReferences(objectType: ObjectType, references: References): AssociatedIds {
  const wanted: AssociatedIds = {};
  for (const { slot, path } of slotTargets(objectType)) {
    if (!(slot in references)) continue;
    const value = references[slot];
    wanted[path] = value === null || value === undefined ? [] : Array.isArray(value) ? [...value] : [value];
  }
  return wanted;
}

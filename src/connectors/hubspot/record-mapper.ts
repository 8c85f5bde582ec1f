import type { CanonicalFields } from '../../model/canonical';
import { nativeFieldsToRead, toCanonical, toNative, type CompiledMapping } from '../../model/mapping';
import type { ExternalRecord } from '../connector';
import { externalIdOf, type HubSpotTarget } from './activity-kinds';
import { SYNC_ID_PROPERTY } from './spec';

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

/** The properties to ask for: the mapped ones, the sync id and the last-modified stamp. */
export function propertiesToRead(mapping: CompiledMapping, target: HubSpotTarget): string[] {
  return [...new Set([...nativeFieldsToRead(mapping, target.objectType), SYNC_ID_PROPERTY, target.modstamp])];
}

/** The object's modstamp as ISO with milliseconds: the last-modified property, else `updatedAt`. */
export function modstampOf(target: HubSpotTarget, object: HubSpotObject): string {
  const raw = object.properties[target.modstamp] ?? object.updatedAt;
  const epoch = raw instanceof Date ? raw.getTime() : /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  return new Date(epoch).toISOString();
}

/**
 * HubSpot object -> ExternalRecord, references not read (`{}`): the paths that read them fill
 * them from the v4 batch read (associations.ts), so an empty map never means "no related records".
 */
export function toExternalRecord(mapping: CompiledMapping, target: HubSpotTarget, object: HubSpotObject): ExternalRecord {
  const syncId = object.properties[SYNC_ID_PROPERTY];
  const fields = toCanonical(mapping, target.objectType, object.properties).fields;
  return {
    objectType: target.objectType,
    externalId: externalIdOf(target, object.id),
    syncId: syncId === undefined || syncId === null || syncId === '' ? null : syncId,
    modifiedAt: modstampOf(target, object),
    // The kind is the object itself, whatever a mapping says: a task is a task.
    fields: target.kind === undefined ? fields : { ...fields, kind: target.kind },
    references: {},
  };
}

/** Canonical fields -> HubSpot properties, all strings ("" clears a value). */
export function toHubSpotProperties(mapping: CompiledMapping, target: HubSpotTarget, fields: Readonly<CanonicalFields>): Record<string, string> {
  const { kind: _kind, ...writable } = fields;
  const native = toNative(mapping, target.objectType, target.kind === undefined ? fields : writable);
  return Object.fromEntries(Object.entries(native).map(([name, value]) => [name, typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value as number | boolean)]));
}

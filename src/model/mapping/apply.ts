import type { CanonicalFields } from '../canonical';
import type { ObjectType } from '../identifiers';
import type { CompiledMapping, CompiledObjectMapping } from './compile';
import { readValue, writeValue } from './convert';
import { readOwner, writeOwner } from './owners';

export interface CanonicalRead {
  fields: CanonicalFields;
  /** Vendor fields no mapping reads, when the object's policy is `report`. */
  unmapped: string[];
}

/** Vendor record -> canonical fields. Throws MappingValueError naming the field on a bad value. */
export function toCanonical(mapping: CompiledMapping, objectType: ObjectType, native: Readonly<Record<string, unknown>>): CanonicalRead {
  const object = objectMapping(mapping, objectType);
  const fields: CanonicalFields = {};
  for (const field of object.reads) {
    if (!(field.native in native)) continue; // not selected: absent, not empty
    if (field.type === 'owner') {
      // An owner outside the map is not read: absent, so it changes nothing anywhere.
      const owner = readOwner(mapping.owners, native[field.native]);
      if (owner !== undefined) setPath(fields, field.canonical, owner);
      continue;
    }
    setPath(fields, field.canonical, readValue(field, native[field.native]));
  }
  const read = new Set(object.reads.map((field) => field.native));
  const unmapped = object.unmapped === 'report' ? Object.keys(native).filter((key) => !read.has(key)) : [];
  return { fields, unmapped };
}

/**
 * Canonical fields -> vendor record. Only fields present in `fields` are written, so a partial
 * delta stays partial. Throws MappingValueError naming the field on a value it cannot express.
 */
export function toNative(mapping: CompiledMapping, objectType: ObjectType, fields: Readonly<CanonicalFields>): Record<string, unknown> {
  const object = objectMapping(mapping, objectType);
  const native: Record<string, unknown> = {};
  for (const field of object.writes) {
    const value = getPath(fields, field.canonical);
    if (value === undefined) continue;
    if (field.type === 'owner') {
      // An owner no user id here is mapped to is not written: the vendor keeps its owner (unwrittenOwner says so).
      const owner = writeOwner(mapping.owners, field.ownerFormat, value);
      if (owner !== undefined) native[field.native] = owner;
      continue;
    }
    native[field.native] = writeValue(field, value, mapping.valueEncoding);
  }
  return native;
}

/**
 * Whether a write's owner cannot be written by this mapping (no user id is mapped to its email):
 * the connector leaves it out, and its outcome says so in `adjusted`.
 */
export function unwrittenOwner(mapping: CompiledMapping, objectType: ObjectType, fields: Readonly<CanonicalFields>): boolean {
  const owner = fields.owner;
  if (owner === undefined || owner === null) return false;
  const writers = objectMapping(mapping, objectType).writes.filter((field) => field.type === 'owner' && field.canonical === 'owner');
  return writers.length > 0 && writers.some((field) => writeOwner(mapping.owners, field.ownerFormat, owner) === undefined);
}

/** The vendor fields to ask for when reading (e.g. a SOQL SELECT list or HubSpot `properties`). */
export function nativeFieldsToRead(mapping: CompiledMapping, objectType: ObjectType): string[] {
  return objectMapping(mapping, objectType).reads.map((field) => field.native);
}

/** Canonical field path -> the vendor field it is read from, for the paths the mapping reads. */
export function nativeFieldsOf(mapping: CompiledMapping, objectType: ObjectType, paths: readonly string[]): Map<string, string> {
  const reads = objectMapping(mapping, objectType).reads;
  const natives = new Map<string, string>();
  for (const path of paths) {
    const field = reads.find((candidate) => candidate.canonical === path);
    if (field) natives.set(path, field.native);
  }
  return natives;
}

export function objectMapping(mapping: CompiledMapping, objectType: ObjectType): CompiledObjectMapping {
  const object = mapping.objects[objectType];
  if (!object) throw new Error(`the mapping does not cover ${objectType}`);
  return object;
}

function getPath(fields: Readonly<CanonicalFields>, path: string): unknown {
  if (!path.startsWith('custom.')) return fields[path];
  return fields.custom?.[path.slice('custom.'.length)];
}

function setPath(fields: CanonicalFields, path: string, value: unknown): void {
  if (!path.startsWith('custom.')) {
    fields[path] = value;
    return;
  }
  fields.custom = { ...fields.custom, [path.slice('custom.'.length)]: value };
}

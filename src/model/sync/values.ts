import type { CanonicalFields } from '../canonical';

/**
 * Canonical fields flattened to paths (`email`, `custom.tier`), so deltas and conflicts are
 * decided per field, custom ones included.
 */
export function flattenFields(fields: Readonly<CanonicalFields> | undefined): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (key === 'custom' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [name, customValue] of Object.entries(value)) flat.set(`custom.${name}`, customValue);
    } else {
      flat.set(key, value);
    }
  }
  return flat;
}

/** Whether flattenFields(fields) would hold any field, without building it (an empty `custom` holds none). */
export function hasFields(fields: Readonly<CanonicalFields> | undefined): boolean {
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (key !== 'custom' || !value || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length > 0) return true;
  }
  return false;
}

export function unflattenFields(flat: ReadonlyMap<string, unknown>): CanonicalFields {
  const fields: CanonicalFields = {};
  for (const [path, value] of flat) {
    if (path.startsWith('custom.')) fields.custom = { ...fields.custom, [path.slice('custom.'.length)]: value };
    else fields[path] = value;
  }
  return fields;
}

/** Structural equality of JSON values (key order ignored, array order kept). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => sameValue(item, b[index]));
  const left = Object.entries(a as Record<string, unknown>).filter(([, value]) => value !== undefined);
  const right = b as Record<string, unknown>;
  return left.length === Object.values(right).filter((value) => value !== undefined).length && left.every(([key, value]) => sameValue(value, right[key]));
}

/** Null and absent both mean "no value" for fill-empty decisions. */
export function isEmptyValue(value: unknown): boolean {
  return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}

/** `base` with `over`'s values laid on top, field by field (custom fields included). */
export function overlayFields(base: Readonly<CanonicalFields> | undefined, over: Readonly<CanonicalFields> | undefined): CanonicalFields {
  // One side empty and the other without custom fields (a record created, a copy not written):
  // the other side as it is, copied; no field paths to work out, twice per record of a backfill.
  const baseEmpty = isEmptyObject(base);
  const other = baseEmpty ? over : base;
  if ((baseEmpty || isEmptyObject(over)) && withoutCustom(other)) return { ...other };
  return unflattenFields(new Map([...flattenFields(base), ...flattenFields(over)]));
}

function isEmptyObject(fields: Readonly<CanonicalFields> | undefined): boolean {
  for (const key in fields) if (Object.prototype.hasOwnProperty.call(fields, key)) return false;
  return true;
}

/** No key that flattening or unflattening changes (`custom`, `custom.<name>`). */
function withoutCustom(fields: Readonly<CanonicalFields> | undefined): boolean {
  for (const key in fields) if (Object.prototype.hasOwnProperty.call(fields, key) && (key === 'custom' || key.startsWith('custom.'))) return false;
  return true;
}

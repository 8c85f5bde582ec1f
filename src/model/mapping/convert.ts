import type { FieldMapping } from './spec';

/**
 * Value conversions between a vendor's representation and the canonical one, per field type.
 * Pure and deterministic (Intl only), so they run anywhere, including workflow code.
 */

export class MappingValueError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'MappingValueError';
  }
}

export type ValueEncoding = 'json' | 'strings';

/**
 * What a mapping error says about the value. It travels into parked records, logs and Temporal
 * failures, which the payload codec does not encrypt: picklist values are the tenant's
 * vocabulary (and what an operator must add to the map), so they are quoted; any other value is
 * record data, so only its kind and size are told.
 */
function describeValue(mapping: FieldMapping, value: unknown): string {
  if (mapping.type === 'picklist' || mapping.type === 'multiselect') return JSON.stringify(value);
  if (typeof value === 'string') return `text of ${value.length} characters`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return value === null ? 'null' : `a ${typeof value}`;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The error thrower of one conversion. Made by a function, not bound to a local name: the worker
 * runs under tsx, whose keep-names transform gives every named closure a defineProperty call at
 * creation, and readValue and writeValue run for every field of every record (2.7 s of a
 * 100,000-record backfill's worker CPU went to naming `fail` and `asWire`).
 */
function failure(field: string, mapping: FieldMapping, value: unknown): (why: string) => never {
  return (why) => {
    throw new MappingValueError(field, `${why} (got ${describeValue(mapping, value)})`);
  };
}

/** A native value as the encoding carries it: every value as text (`strings`, e.g. CSV), or as is. */
function onWire(native: string | number | boolean, encoding: ValueEncoding): unknown {
  return encoding === 'strings' ? String(native) : native;
}

export function readValue(mapping: FieldMapping, raw: unknown): unknown {
  // Empty text is no value (see canonical.ts), whatever the encoding.
  if (raw === undefined || raw === null || raw === '') return null;
  const fail = failure(mapping.native, mapping, raw);
  switch (mapping.type) {
    case 'string':
      return typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : fail('expected text');
    case 'number':
    case 'integer': {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(value)) return fail('expected a number');
      if (mapping.type === 'integer' && !Number.isInteger(value)) return fail('expected a whole number');
      return value;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      return fail('expected true or false');
    case 'date':
      return toCanonicalDate(raw, mapping.timeZone ?? 'UTC', fail);
    case 'datetime':
      return toCanonicalDateTime(raw, fail);
    case 'picklist':
      if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') return fail('expected a picklist value');
      return readPicklistValue(mapping, String(raw), fail);
    case 'multiselect': {
      if (typeof raw !== 'string') return fail('expected separated values');
      return raw.split(mapping.separator).map((value) => readPicklistValue(mapping, value, fail));
    }
  }
}

export function writeValue(mapping: FieldMapping, value: unknown, encoding: ValueEncoding): unknown {
  const fail = failure(mapping.canonical, mapping, value);
  const empty = encoding === 'strings' ? '' : null;
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return empty;
  switch (mapping.type) {
    case 'string':
      return typeof value === 'string' ? value : fail('expected text');
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail('expected a number');
      if (mapping.type === 'integer' && !Number.isInteger(value)) return fail('expected a whole number');
      return onWire(value, encoding);
    case 'boolean':
      return typeof value === 'boolean' ? onWire(value, encoding) : fail('expected true or false');
    case 'date': {
      if (typeof value !== 'string' || !ISO_DATE.test(value)) return fail('expected a date as YYYY-MM-DD');
      const format = mapping.format ?? 'date';
      if (format === 'date') return value;
      const midnight = zonedMidnightToEpochMs(value, mapping.timeZone ?? 'UTC');
      return format === 'epoch-ms' ? onWire(midnight, encoding) : new Date(midnight).toISOString();
    }
    case 'datetime': {
      const epoch = typeof value === 'string' ? Date.parse(value) : NaN;
      if (Number.isNaN(epoch)) return fail('expected an ISO-8601 datetime');
      return mapping.format === 'epoch-ms' ? onWire(epoch, encoding) : new Date(epoch).toISOString();
    }
    case 'picklist':
      return writePicklistValue(mapping, value, fail);
    case 'multiselect':
      if (!Array.isArray(value)) return fail('expected a list of values');
      return value.map((item) => writePicklistValue(mapping, item, fail)).join(mapping.separator);
  }
}

function readPicklistValue(mapping: FieldMapping, native: string, fail: (why: string) => never): string {
  if (!mapping.values) return native;
  const canonical = mapping.values[native];
  return canonical ?? fail(`vendor value is not in the picklist map (known: ${Object.keys(mapping.values).join(', ')})`);
}

function writePicklistValue(mapping: FieldMapping, canonical: unknown, fail: (why: string) => never): string {
  if (typeof canonical !== 'string') return fail('expected a picklist value');
  if (!mapping.values) return canonical;
  const native = Object.entries(mapping.values).find(([, value]) => value === canonical)?.[0];
  return native ?? fail(`no vendor value maps to "${canonical}"`);
}

function toCanonicalDate(raw: unknown, timeZone: string, fail: (why: string) => never): string {
  if (typeof raw === 'string' && ISO_DATE.test(raw)) return raw;
  const epoch = toEpochMs(raw);
  if (epoch === undefined) return fail('expected a date');
  return calendarDate(epoch, timeZone);
}

function toCanonicalDateTime(raw: unknown, fail: (why: string) => never): string {
  const epoch = toEpochMs(raw);
  if (epoch === undefined) return fail('expected a datetime');
  return new Date(epoch).toISOString();
}

/** ISO-8601 with any offset (Salesforce writes `+0000`), or epoch milliseconds as number or digits. */
function toEpochMs(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  // Epoch ms as digits, signed: dates before 1970 are negative.
  if (/^-?\d+$/.test(raw)) return Number(raw);
  const normalized = raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const epoch = Date.parse(normalized);
  return Number.isNaN(epoch) ? undefined : epoch;
}

const dateFormatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(epochMs: number, timeZone: string): Record<string, number> {
  let formatter = dateFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    dateFormatters.set(timeZone, formatter);
  }
  return Object.fromEntries(formatter.formatToParts(new Date(epochMs)).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

/** The calendar date an instant falls on in a zone. */
export function calendarDate(epochMs: number, timeZone: string): string {
  const { year, month, day } = partsIn(epochMs, timeZone) as { year: number; month: number; day: number };
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** The instant of midnight at the start of `date` in `timeZone` (the first instant of that day there). */
export function zonedMidnightToEpochMs(date: string, timeZone: string): number {
  const utcMidnight = Date.parse(`${date}T00:00:00.000Z`);
  const offsetAt = (epochMs: number): number => {
    const p = partsIn(epochMs, timeZone) as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(epochMs / 1000) * 1000;
  };
  const first = utcMidnight - offsetAt(utcMidnight);
  const second = utcMidnight - offsetAt(first);
  // Where midnight does not exist (a DST jump at 00:00) the day starts at the first valid instant.
  return calendarDate(second, timeZone) === date ? second : first;
}

/** Throws RangeError for a zone Intl does not know. */
export function assertTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone });
}

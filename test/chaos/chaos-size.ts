import { createHash } from 'node:crypto';

/** `CHAOS_FULL=1` runs every chaos scenario at the size issue #7 names; otherwise the reduced CI size. */
export const chaosFull = process.env.CHAOS_FULL === '1';

/** Picks the reduced or the full value of a scenario's setting (timeouts, pacing). */
export function chaosSize<T>(reduced: T, full: T): T {
  return chaosFull ? full : reduced;
}

/**
 * A scenario's record count: `CHAOS_<NAME>=<n>` if set (an in-between size, when the full one does
 * not fit the time at hand), else the full size with CHAOS_FULL=1, else the reduced one.
 */
export function chaosCount(name: string, reduced: number, full: number): number {
  const explicit = process.env[`CHAOS_${name}`];
  if (explicit === undefined || explicit === '') return chaosSize(reduced, full);
  const count = Number(explicit);
  if (!Number.isInteger(count) || count <= 0) throw new Error(`CHAOS_${name} must be a positive integer, got "${explicit}"`);
  return count;
}

/** Anything larger than the reduced size runs with the full size's timeouts. */
export const chaosLarge = (count: number, reduced: number): boolean => chaosFull || count > reduced;

/** The synced contact fields, Salesforce's native name -> HubSpot's, as the default mappings pair them. */
export const contactFieldPairs = [
  ['FirstName', 'firstname'],
  ['LastName', 'lastname'],
  ['Email', 'email'],
  ['Phone', 'phone'],
  ['MobilePhone', 'mobilephone'],
  ['Title', 'jobtitle'],
  ['MailingCity', 'city'],
  ['MailingCountry', 'country'],
] as const;

/** One record's synced fields in one canonical order, empty and missing alike as "". */
export function canonicalLine(values: readonly unknown[]): string {
  return JSON.stringify(values.map((value) => (value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value as string | number | boolean))));
}

/** A sha256 over every record's canonical line, order-independent (lines sorted). */
export function fieldChecksum(lines: readonly string[]): string {
  const hash = createHash('sha256');
  for (const line of [...lines].sort()) hash.update(line).update('\n');
  return hash.digest('hex');
}

// Email compared case-insensitively: HubSpot stores it lowercased, as the vendor does.
const fold = (native: string, value: unknown): unknown => (native.toLowerCase() === 'email' && typeof value === 'string' ? value.toLowerCase() : value);

export const salesforceContactLine = (record: Record<string, unknown>): string => canonicalLine(contactFieldPairs.map(([native]) => fold(native, record[native])));
export const hubspotContactLine = (record: { properties: Record<string, string | null | undefined> }): string =>
  canonicalLine(contactFieldPairs.map(([, native]) => fold(native, record.properties[native])));

import type { OwnerFormat, OwnerMap } from './spec';

/**
 * The owner rules, pure: a record's owner crosses CRMs as its user's email, through the
 * connection's owner map (vendor user id -> email). An id the map does not name is not read, and
 * an email no id names is not written, so an owner outside the map never erases or overwrites
 * anything: the vendor keeps the owner it has (or gives a new record its default owner).
 */

/** The vendor's user id in any shape a vendor reads it: text, a number, or an object with `id`. */
export function ownerIdOf(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw === '' ? undefined : raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'object' && raw !== null) {
    // Pipedrive v1 expands `owner_id` into the user ({ id, name, email, value }); Zoho's `Owner` is { id, name, email }.
    const { id, value } = raw as { id?: unknown; value?: unknown };
    return ownerIdOf(id ?? value);
  }
  return undefined;
}

/** The canonical owner (an email) of a vendor value, or undefined: not read (no id, or an id the map does not name). */
export function readOwner(owners: OwnerMap | undefined, raw: unknown): string | undefined {
  const id = ownerIdOf(raw);
  return id === undefined ? undefined : owners?.[id];
}

/** The vendor user id the map names for an email, or undefined: this owner cannot be written here. */
export function ownerIdForEmail(owners: OwnerMap | undefined, email: unknown): string | undefined {
  if (typeof email !== 'string' || !owners) return undefined;
  const wanted = email.toLowerCase();
  return Object.entries(owners).find(([, mapped]) => mapped === wanted)?.[0];
}

/** The vendor value of an owner, in the field's format, or undefined: not written. */
export function writeOwner(owners: OwnerMap | undefined, format: OwnerFormat | undefined, email: unknown): unknown {
  const id = ownerIdForEmail(owners, email);
  if (id === undefined) return undefined;
  switch (format ?? 'id') {
    case 'id':
      return id;
    case 'number':
      return Number.isSafeInteger(Number(id)) ? Number(id) : undefined;
    case 'object':
      return { id };
    case 'systemuser-bind':
      return `/systemusers(${id})`;
  }
}

/** Ids mapped to the same email: a write could not choose between them. */
export function ambiguousOwners(owners: OwnerMap): { email: string; ids: string[] }[] {
  const byEmail = new Map<string, string[]>();
  for (const [id, email] of Object.entries(owners)) byEmail.set(email, [...(byEmail.get(email) ?? []), id]);
  return [...byEmail].filter(([, ids]) => ids.length > 1).map(([email, ids]) => ({ email, ids }));
}

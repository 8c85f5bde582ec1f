import { referenceSlots, type References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';
import { HUBSPOT_OBJECTS, type HubSpotObjectPath } from './spec';

/**
 * Pure conversions between canonical reference slots and HubSpot associations (BEHAVIOR.md,
 * "Associations"). A slot maps to the associations from the record to one object type; single
 * slots hold the association HubSpot marks primary where it has a primary type (a contact's or a
 * deal's company), else the lowest id, a choice that stays put while the links do.
 */

/** A record's associations to one object type: every target id, and the one labelled primary. */
export interface Links {
  ids: string[];
  primary?: string | undefined;
}

export type LinksByPath = Partial<Record<HubSpotObjectPath, Links>>;

export interface HubSpotSlot {
  slot: string;
  path: HubSpotObjectPath;
  many: boolean;
}

/**
 * Slots HubSpot cannot hold: it marks no primary contact on a deal (associations carry no such
 * label), so `deal.primaryContact` is never read (absent) and is left alone on writes.
 */
const UNHELD: Partial<Record<ObjectType, readonly string[]>> = { deal: ['primaryContact'] };

/** The slots of a canonical object that HubSpot holds, as association targets. */
export function hubspotSlots(objectType: ObjectType): HubSpotSlot[] {
  const unheld = UNHELD[objectType] ?? [];
  return Object.entries(referenceSlots[objectType] as Record<string, { to: ObjectType; many: boolean }>)
    .filter(([slot]) => !unheld.includes(slot))
    .map(([slot, spec]) => ({ slot, path: HUBSPOT_OBJECTS[spec.to].path, many: spec.many }));
}

const byNumber = (a: string, b: string): number => Number(a) - Number(b);

/** Associations read -> references: every held slot present (a many slot the whole set, a single one the primary or the lowest id, or null). */
export function referencesFromLinks(objectType: ObjectType, links: LinksByPath): References {
  const references: References = {};
  for (const { slot, path, many } of hubspotSlots(objectType)) {
    const found = links[path] ?? { ids: [] };
    const ids = [...new Set(found.ids)].sort(byNumber);
    references[slot] = many ? ids : found.primary !== undefined && ids.includes(found.primary) ? found.primary : (ids[0] ?? null);
  }
  return references;
}

/** References to write -> the links wanted per target type; a slot left out of the input is not named (left as it is). */
export function linksFromReferences(objectType: ObjectType, references: References): LinksByPath {
  const wanted: LinksByPath = {};
  for (const { slot, path, many } of hubspotSlots(objectType)) {
    if (!(slot in references)) continue;
    const value = references[slot];
    const ids = value === null || value === undefined ? [] : Array.isArray(value) ? [...new Set(value)] : [value];
    wanted[path] = many ? { ids } : { ids, primary: ids[0] };
  }
  return wanted;
}

/** One association to drop (every type between the pair) or to add (with the primary label or not). */
export interface LinkChange {
  kind: 'archive' | 'create';
  from: string;
  to: string;
  primary: boolean;
}

/**
 * What to archive and create so each record holds exactly the wanted links. Where the target type
 * has a primary label (`hasPrimary`), a wanted primary already associated without the label is
 * created again with it (adding a label to an existing pair).
 */
export function planLinkChanges(records: readonly { id: string; wanted: Links; current: Links }[], hasPrimary: boolean): LinkChange[] {
  const changes: LinkChange[] = [];
  for (const { id, wanted, current } of records) {
    const want = new Set(wanted.ids);
    const have = new Set(current.ids);
    for (const to of [...have].sort(byNumber)) if (!want.has(to)) changes.push({ kind: 'archive', from: id, to, primary: false });
    for (const to of [...want].sort(byNumber)) {
      const primary = hasPrimary && wanted.primary === to;
      if (!have.has(to) || (primary && current.primary !== to)) changes.push({ kind: 'create', from: id, to, primary });
    }
  }
  return changes;
}

import type { CrmConnector } from '../connectors/connector';
import { referenceSlots, type References } from '../model/canonical';
import type { ObjectType } from '../model/identifiers';
import { observedReferenceFields, referencedIds } from '../model/sync';
import type { RecordLinksRepository } from '../store/record-links-repository';
import type { LinkedRecord } from './apply-to-target';
import { linkRecords } from './linking';
import type { ConnectionsRepository } from '../store/connections-repository';

/**
 * The records a batch refers to (docs/architecture.md, "Associations"): the source's ids of
 * related records as canonical ids, related records linked on first sight, and the order in
 * which they must reach a target.
 */

/** Object types in the order a target must receive them: a record's related records first. */
export const dependencyOrder: readonly ObjectType[] = ['company', 'contact', 'deal', 'activity'];

type Slots = Record<string, { to: ObjectType; many: boolean }>;

/**
 * Each record's references as canonical ids, by its external id. A related record the source
 * names but we never met (created with its holder, or before the sync began) is read from the
 * source and linked now, like any record it sends, so the link is never lost for want of an id;
 * one the source no longer has is left out.
 */
export async function sourceReferencesAsCanonical(
  deps: { links: RecordLinksRepository; connections: Pick<ConnectionsRepository, 'getConnection'> },
  source: { tenantId: string; connectionId: string; connector: CrmConnector },
  objectType: ObjectType,
  records: readonly LinkedRecord[],
): Promise<Map<string, References>> {
  const slots: Slots = referenceSlots[objectType];
  const wanted = new Map<ObjectType, Set<string>>();
  for (const record of records) {
    for (const [slot, value] of Object.entries(record.references)) {
      const spec = slots[slot];
      if (!spec || value === null) continue;
      const ids = wanted.get(spec.to) ?? new Set<string>();
      wanted.set(spec.to, ids);
      for (const id of Array.isArray(value) ? value : [value]) ids.add(id);
    }
  }
  const canonicalOf = new Map<string, string>();
  for (const [type, ids] of wanted) {
    const linked = await deps.links.canonicalIdsOf(source.connectionId, type, [...ids]);
    for (const [externalId, canonicalId] of linked) canonicalOf.set(`${type}:${externalId}`, canonicalId);
    const unlinked = [...ids].filter((id) => !linked.has(id));
    if (unlinked.length === 0) continue;
    const readAt = await deps.links.databaseNow();
    const read = await source.connector.readRecords(type, unlinked);
    for (const record of await linkRecords(deps, source.tenantId, source.connectionId, type, read, readAt)) canonicalOf.set(`${type}:${record.externalId}`, record.canonicalId);
  }

  const translated = new Map<string, References>();
  for (const record of records) {
    const references: References = {};
    for (const [slot, value] of Object.entries(record.references)) {
      const spec = slots[slot];
      if (!spec) continue;
      if (value === null) {
        references[slot] = spec.many ? [] : null;
        continue;
      }
      const ids = (Array.isArray(value) ? value : [value]).flatMap((id) => canonicalOf.get(`${spec.to}:${id}`) ?? []);
      if (spec.many) references[slot] = ids;
      // A single slot naming a record the source no longer has is not read: nothing to link to.
      else if (ids[0] !== undefined) references[slot] = ids[0];
    }
    translated.set(record.externalId, references);
  }
  return translated;
}

/** The canonical ids the references name, by the related records' object type. */
export function relatedByType(objectType: ObjectType, references: Iterable<References>): Map<ObjectType, Set<string>> {
  const byType = new Map<ObjectType, Set<string>>();
  for (const refs of references) {
    for (const { objectType: type, canonicalId } of referencedIds(objectType, observedReferenceFields(objectType, refs, undefined))) {
      const ids = byType.get(type) ?? new Set<string>();
      byType.set(type, ids.add(canonicalId));
    }
  }
  return byType;
}

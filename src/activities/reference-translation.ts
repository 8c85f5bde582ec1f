import { referenceSlots, type References } from '../model/canonical';
import type { ObjectType } from '../model/identifiers';
import type { RecordLinksRepository } from '../store/record-links-repository';

/**
 * Source ids in reference slots -> the target's ids, through the canonical links of each related
 * record. A reference whose record is not linked in the target yet comes back as `missing` (the
 * caller parks or fails the record: the dependency must land first). `cache` spares repeated
 * look-ups across a batch or a bulk page (many contacts of one company).
 */
export async function translateReferences(
  links: RecordLinksRepository,
  objectType: ObjectType,
  references: References,
  sourceConnectionId: string,
  targetConnectionId: string,
  cache: Map<string, string | undefined> = new Map(),
): Promise<{ translated: References } | { missing: string }> {
  const slots: Record<string, { to: ObjectType; many: boolean }> = referenceSlots[objectType];
  // The ids not in the cache are looked up, in order, until one is not linked in the target.
  lookups: for (const [slot, value] of Object.entries(references)) {
    const spec = slots[slot];
    if (!spec || value === null) continue;
    for (const id of Array.isArray(value) ? value : [value]) {
      const key = `${spec.to}:${id}`;
      if (cache.has(key)) {
        if (cache.get(key) === undefined) break lookups;
        continue;
      }
      const sourceLink = await links.findByExternalId(sourceConnectionId, spec.to, id);
      const targetState = sourceLink && (await links.loadSyncedStates([sourceLink.canonicalId])).find((state) => state.link.connectionId === targetConnectionId);
      cache.set(key, targetState?.link.externalId);
      if (targetState === undefined) break lookups;
    }
  }
  return translateCached(objectType, references, cache) as { translated: References } | { missing: string };
}

/**
 * translateReferences from the cache alone, without a promise (a batch translates every record,
 * most of which refer to nothing or to what an earlier one did); undefined when an id is not in
 * the cache yet.
 */
export function translateCached(objectType: ObjectType, references: References, cache: ReadonlyMap<string, string | undefined>): { translated: References } | { missing: string } | undefined {
  const slots: Record<string, { to: ObjectType; many: boolean }> = referenceSlots[objectType];
  const translated: References = {};
  for (const [slot, value] of Object.entries(references)) {
    const spec = slots[slot];
    if (!spec) continue;
    if (value === null) {
      translated[slot] = null;
      continue;
    }
    const mapped: string[] = [];
    for (const id of Array.isArray(value) ? value : [value]) {
      const key = `${spec.to}:${id}`;
      if (!cache.has(key)) return undefined;
      const targetId = cache.get(key);
      if (targetId === undefined) return { missing: `${spec.to} ${id}` };
      mapped.push(targetId);
    }
    translated[slot] = spec.many ? mapped : (mapped[0] ?? null);
  }
  return { translated };
}

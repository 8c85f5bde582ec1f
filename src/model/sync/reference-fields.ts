import { referenceSlots, type CanonicalFields, type References } from '../canonical';
import type { ObjectType } from '../identifiers';

/**
 * Associations as canonical fields, so that a link is merged, conflicted, echo-suppressed and
 * snapshotted by the very rules that handle a field (docs/architecture.md, "Associations").
 *
 * - A single slot is one field, `@<slot>`: the related record's canonical id, or null.
 * - A many slot is one field per member, `@<slot>:<canonical id>`: `true` while linked, `null`
 *   once a connection that held the link dropped it. Each link then has its own provenance, so a
 *   contact added to a deal in one CRM and another added in a second CRM both stand, and a link
 *   removed in one CRM is removed everywhere (an erase, like emptying a field someone held).
 *
 * Ids here are canonical ids; connectors' ids are translated at the edges (activities).
 */

const PREFIX = '@';

export function isReferenceField(path: string): boolean {
  return path.startsWith(PREFIX);
}

/** The slot a reference field belongs to (`@contacts:…` -> `contacts`). */
export function referenceSlotOf(path: string): string {
  const end = path.indexOf(':');
  return path.slice(PREFIX.length, end === -1 ? undefined : end);
}

/** The conflict-policy key of a field: a many slot's members share their slot's (`@contacts`). */
export function policyKeyOf(path: string): string {
  return isReferenceField(path) ? `${PREFIX}${referenceSlotOf(path)}` : path;
}

const singleField = (slot: string): string => `${PREFIX}${slot}`;
const memberField = (slot: string, canonicalId: string): string => `${PREFIX}${slot}:${canonicalId}`;

function slotsOf(objectType: ObjectType): Record<string, { to: ObjectType; many: boolean }> {
  return referenceSlots[objectType];
}

/**
 * A read's references (canonical ids) as fields to observe. A many slot read names its whole set:
 * every member the connection held (`held`) and no longer has becomes `null`, a removal. Slots
 * the read does not carry are absent (not read), as are members it could not name.
 */
export function observedReferenceFields(objectType: ObjectType, references: Readonly<References>, held: Readonly<CanonicalFields> | undefined): CanonicalFields {
  const fields: CanonicalFields = {};
  for (const [slot, spec] of Object.entries(slotsOf(objectType))) {
    if (!(slot in references)) continue;
    const value = references[slot];
    if (!spec.many) {
      fields[singleField(slot)] = Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
      continue;
    }
    const members = new Set(Array.isArray(value) ? value : value ? [value] : []);
    for (const id of members) fields[memberField(slot, id)] = true;
    for (const [path, was] of Object.entries(held ?? {})) {
      if (was === true && path.startsWith(memberField(slot, '')) && !members.has(path.slice(memberField(slot, '').length))) fields[path] = null;
    }
  }
  return fields;
}

/** The reference fields of `held` in slots a read did not carry: kept in the snapshot, which the read would otherwise forget. */
export function unreadReferenceFields(objectType: ObjectType, references: Readonly<References>, held: Readonly<CanonicalFields> | undefined): CanonicalFields {
  const kept: CanonicalFields = {};
  if (!held) return kept;
  for (const [path, value] of Object.entries(held)) {
    if (isReferenceField(path) && referenceSlotOf(path) in slotsOf(objectType) && !(referenceSlotOf(path) in references)) kept[path] = value;
  }
  return kept;
}

/** Every canonical id the reference fields name (linked or dropped), with the object type it is of. */
export function referencedIds(objectType: ObjectType, fields: Readonly<CanonicalFields> | undefined): { objectType: ObjectType; canonicalId: string }[] {
  const ids: { objectType: ObjectType; canonicalId: string }[] = [];
  const slots = slotsOf(objectType);
  for (const [path, value] of Object.entries(fields ?? {})) {
    if (!isReferenceField(path)) continue;
    const spec = slots[referenceSlotOf(path)];
    if (!spec) continue;
    if (spec.many) ids.push({ objectType: spec.to, canonicalId: path.slice(memberField(referenceSlotOf(path), '').length) });
    else if (typeof value === 'string') ids.push({ objectType: spec.to, canonicalId: value });
  }
  return ids;
}

/** What a connection was last known to hold of each slot (its snapshot's reference fields), in its own ids where it has them. */
export function referencesHeld(objectType: ObjectType, held: Readonly<CanonicalFields> | undefined, idOf: (canonicalId: string) => string | undefined): References {
  const slots = slotsOf(objectType);
  const references: References = {};
  for (const [path, value] of Object.entries(held ?? {})) {
    if (!isReferenceField(path)) continue;
    const slot = referenceSlotOf(path);
    const spec = slots[slot];
    if (!spec) continue;
    if (!spec.many) {
      references[slot] = typeof value === 'string' ? (idOf(value) ?? null) : null;
      continue;
    }
    const members = (references[slot] as string[] | undefined) ?? [];
    const id = value === true ? idOf(path.slice(memberField(slot, '').length)) : undefined;
    references[slot] = id === undefined ? members : [...members, id];
  }
  return references;
}

/** Canonical fields without their reference fields: what a connector's mapping writes. */
export function withoutReferenceFields(fields: Readonly<CanonicalFields>): CanonicalFields {
  const plain: CanonicalFields = {};
  for (const [path, value] of Object.entries(fields)) if (!isReferenceField(path)) plain[path] = value;
  return plain;
}

export function hasReferenceFields(fields: Readonly<CanonicalFields>): boolean {
  return Object.keys(fields).some(isReferenceField);
}

/** A link that cannot be written yet: the related record has no copy in the target. */
export interface PendingReference {
  slot: string;
  canonicalId: string;
}

/**
 * The slots to write to a target, in its own ids, for the reference fields of a write: a single
 * slot as its value; a many slot as the whole set the target must hold (the connector contract),
 * i.e. what it holds now with the write's removals taken out and its additions put in. A related
 * record the target has no copy of yet cannot be named: the link is pending (returned), the rest
 * is written, and what the target holds now of that slot is left as it is.
 *
 * `targetHolds`: the target's current links of each slot, in its ids (as read; else what we last
 * knew it to hold, translated). `targetIdOf`: canonical id -> the target's id, where linked.
 */
export function referencesToWrite(
  objectType: ObjectType,
  write: Readonly<CanonicalFields>,
  targetHolds: Readonly<References>,
  targetIdOf: (canonicalId: string) => string | undefined,
): { references: References; pending: PendingReference[]; unwritten: string[] } {
  const slots = slotsOf(objectType);
  const references: References = {};
  const pending: PendingReference[] = [];
  const unwritten: string[] = [];
  const manyChanges = new Map<string, { add: string[]; remove: string[] }>();
  for (const [path, value] of Object.entries(write)) {
    if (!isReferenceField(path)) continue;
    const slot = referenceSlotOf(path);
    const spec = slots[slot];
    if (!spec) continue;
    if (!spec.many) {
      if (typeof value !== 'string') {
        // Cleared only where the target is known to hold a link now: a slot it did not report
        // may share its vendor field with another slot (Dataverse's regarding, Salesforce's
        // WhatId), which clearing would take with it.
        const held = targetHolds[slot];
        if (typeof held === 'string' || (Array.isArray(held) && held.length > 0)) references[slot] = null;
        continue;
      }
      const targetId = targetIdOf(value);
      if (targetId === undefined) {
        pending.push({ slot, canonicalId: value });
        unwritten.push(path);
      } else {
        references[slot] = targetId;
      }
      continue;
    }
    const changes = manyChanges.get(slot) ?? { add: [], remove: [] };
    manyChanges.set(slot, changes);
    const canonicalId = path.slice(memberField(slot, '').length);
    if (value === true) changes.add.push(canonicalId);
    else changes.remove.push(canonicalId);
  }
  for (const [slot, changes] of manyChanges) {
    const held = targetHolds[slot];
    const members = new Set(Array.isArray(held) ? held : typeof held === 'string' ? [held] : []);
    for (const canonicalId of changes.remove) {
      const targetId = targetIdOf(canonicalId);
      if (targetId !== undefined) members.delete(targetId);
    }
    for (const canonicalId of changes.add) {
      const targetId = targetIdOf(canonicalId);
      if (targetId === undefined) {
        pending.push({ slot, canonicalId });
        unwritten.push(memberField(slot, canonicalId));
      } else {
        members.add(targetId);
      }
    }
    references[slot] = [...members].sort();
  }
  return { references, pending, unwritten };
}

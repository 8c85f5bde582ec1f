import type { ObjectType } from '../../model/identifiers';

/**
 * What HubSpot's change notices (v3 webhooks, the v4 journal) name, in crm-sync's terms: an object
 * type id -> the canonical type and how its record ids are spelled, and which side of an
 * associated pair holds the reference slot. Shared by the shim's webhook parser and the journal feed.
 */

/** Object type ids [H25][H55]: calls, emails, meetings and tasks are all activities. */
const BY_TYPE_ID: Readonly<Record<string, ObjectType>> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-27': 'activity', '0-47': 'activity', '0-48': 'activity', '0-49': 'activity' };
/**
 * Calls, emails and meetings are activities whose ids the connector spells `calls:N` (HubSpot does
 * not promise ids unique across objects, activity-kinds.ts); tasks keep the number.
 */
const ID_PREFIX: Readonly<Record<string, string>> = { '0-48': 'calls:', '0-49': 'emails:', '0-47': 'meetings:' };

/**
 * Which side of an associated pair holds the slot (canonical.ts `referenceSlots`): a
 * contact-company change is the contact's `company`, a deal-contact change the deal's `contacts`.
 * Pairs no slot holds (company-company, anything with a ticket) are no change to sync.
 */
const HOLDERS: Readonly<Record<string, ObjectType>> = {
  'company|contact': 'contact',
  'company|deal': 'deal',
  'contact|deal': 'deal',
  'activity|contact': 'activity',
  'activity|company': 'activity',
  'activity|deal': 'activity',
};

export function objectTypeOfTypeId(typeId: string | undefined): ObjectType | undefined {
  return typeId === undefined ? undefined : BY_TYPE_ID[typeId];
}

/** A record id as the connector spells it for its object type id. */
export function externalIdFor(typeId: string | undefined, id: string): string {
  return `${ID_PREFIX[typeId ?? ''] ?? ''}${id}`;
}

export function slotHolder(a: ObjectType, b: ObjectType): ObjectType | undefined {
  return HOLDERS[[a, b].sort().join('|')];
}

/** The ids a value may come as (HubSpot sends numbers; strings are taken too). */
export function idOf(value: unknown): string | undefined {
  return typeof value === 'number' || (typeof value === 'string' && value !== '') ? String(value) : undefined;
}

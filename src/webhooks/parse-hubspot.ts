import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import { invalidPayload } from './errors';
import { isoFromMs, isRecord, type DeliveryParser } from './parse';

const CLASSIC: Record<string, ObjectType> = { contact: 'contact', company: 'company', deal: 'deal' };
/** Generic `object.*` subscriptions name the type by id. */
const BY_TYPE_ID: Record<string, ObjectType> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-27': 'activity', '0-47': 'activity', '0-48': 'activity', '0-49': 'activity' };
/** The object names inside `associationType` (`CONTACT_TO_COMPANY`). */
const BY_NAME: Record<string, ObjectType> = { CONTACT: 'contact', COMPANY: 'company', DEAL: 'deal', TASK: 'activity', CALL: 'activity', EMAIL: 'activity', MEETING: 'activity' };
/**
 * Calls, emails and meetings are activities whose ids the connector spells `calls:N` (HubSpot does
 * not promise ids unique across objects, connectors/hubspot/activity-kinds.ts); tasks keep the number.
 */
const ID_PREFIX: Record<string, string> = { '0-48': 'calls:', '0-49': 'emails:', '0-47': 'meetings:' };
const NAME_TYPE_ID: Record<string, string> = { CALL: '0-48', EMAIL: '0-49', MEETING: '0-47' };
const KINDS: Record<string, boolean> = { creation: false, propertyChange: false, restore: false, deletion: true };

/**
 * Which side of an associated pair holds the slot (canonical.ts `referenceSlots`): a
 * contact-company change is the contact's `company`, a deal-contact change the deal's `contacts`.
 * Pairs no slot holds (company-company, anything with a ticket) are no change to sync.
 */
const HOLDERS: Record<string, ObjectType> = {
  'company|contact': 'contact',
  'company|deal': 'deal',
  'contact|deal': 'deal',
  'activity|contact': 'activity',
  'activity|company': 'activity',
  'activity|deal': 'activity',
};

function holderOf(a: ObjectType, b: ObjectType): ObjectType | undefined {
  return HOLDERS[[a, b].sort().join('|')];
}

/** The ids a value may come as (HubSpot sends numbers; strings are taken too). */
function idOf(value: unknown): string | undefined {
  return typeof value === 'number' || (typeof value === 'string' && value !== '') ? String(value) : undefined;
}

/**
 * `*.associationChange` [H24][H51] -> a notice for the record holding the slot, or none when no
 * slot holds the pair. No `modifiedAt`: creating or removing an association does not move either
 * record's last-modified stamp (vendor-facts H53), so the read it triggers must not wait for one.
 * Our own app's changes (`changeSource` INTEGRATION, `sourceId` our app id) are noticed like
 * property events are: the engine's read and compare finds nothing to do for its own echo.
 */
function associationNotice(event: Record<string, unknown>, prefix: string): ChangeRef | undefined | 'invalid' {
  const fromType = prefix === 'object' ? BY_TYPE_ID[idOf(event.fromObjectTypeId ?? event.objectTypeId) ?? ''] : CLASSIC[prefix];
  const [fromName = '', toPart = ''] = typeof event.associationType === 'string' ? event.associationType.split('_TO_', 2) : [];
  const toType = prefix === 'object' && event.toObjectTypeId !== undefined ? BY_TYPE_ID[idOf(event.toObjectTypeId) ?? ''] : BY_NAME[toPart.split('_')[0] ?? ''];
  if (fromType === undefined || toType === undefined || (prefix !== 'object' && BY_NAME[fromName] !== fromType)) return undefined;
  const holder = holderOf(fromType, toType);
  if (holder === undefined) return undefined;
  const rawId = idOf(holder === fromType ? event.fromObjectId : event.toObjectId);
  if (rawId === undefined) return 'invalid';
  const holderTypeId = holder === fromType ? (prefix === 'object' ? idOf(event.fromObjectTypeId ?? event.objectTypeId) : undefined) ?? NAME_TYPE_ID[fromName] : idOf(event.toObjectTypeId) ?? NAME_TYPE_ID[toPart.split('_')[0] ?? ''];
  return { objectType: holder, externalId: `${ID_PREFIX[holderTypeId ?? ''] ?? ''}${rawId}`, eventId: String(event.eventId) };
}

/** A JSON array of `{ eventId, subscriptionType, objectId, occurredAt, objectTypeId?, changeFlag?, ... }`. */
export const parseHubSpot: DeliveryParser = (body) => {
  if (!Array.isArray(body)) throw invalidPayload('Expected a JSON array of events.');
  const events: ChangeRef[] = [];
  const unsupported: string[] = [];
  for (const event of body) {
    if (!isRecord(event) || typeof event.subscriptionType !== 'string' || (typeof event.eventId !== 'number' && typeof event.eventId !== 'string')) {
      throw invalidPayload('Each event needs eventId and subscriptionType.');
    }
    const [prefix = '', kind = ''] = event.subscriptionType.split('.', 2);
    if (kind === 'associationChange' && (prefix === 'object' || CLASSIC[prefix] !== undefined)) {
      const notice = associationNotice(event, prefix);
      if (notice === 'invalid') throw invalidPayload('Each associationChange event needs fromObjectId and toObjectId.');
      if (notice) events.push(notice);
      continue;
    }
    const objectType = prefix === 'object' ? BY_TYPE_ID[String(event.objectTypeId)] : CLASSIC[prefix];
    const deleted = KINDS[kind];
    if (objectType === undefined || deleted === undefined) {
      unsupported.push(prefix === 'object' ? `${event.subscriptionType}:${String(event.objectTypeId)}` : event.subscriptionType);
      continue;
    }
    if (typeof event.objectId !== 'number' && typeof event.objectId !== 'string') throw invalidPayload('Each event needs an objectId.');
    events.push({
      objectType,
      externalId: `${prefix === 'object' ? (ID_PREFIX[String(event.objectTypeId)] ?? '') : ''}${String(event.objectId)}`,
      eventId: String(event.eventId),
      modifiedAt: isoFromMs(event.occurredAt),
      ...(deleted || event.changeFlag === 'DELETED' ? { deleted: true } : {}),
    });
  }
  return { events, unsupported };
};

import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import { externalIdFor, idOf, objectTypeOfTypeId, slotHolder } from '../connectors/hubspot/change-refs';
import { invalidPayload } from './errors';
import { isoFromMs, isRecord, type DeliveryParser } from './parse';

const CLASSIC: Record<string, ObjectType> = { contact: 'contact', company: 'company', deal: 'deal' };
/** The object names inside `associationType` (`CONTACT_TO_COMPANY`). */
const BY_NAME: Record<string, ObjectType> = { CONTACT: 'contact', COMPANY: 'company', DEAL: 'deal', TASK: 'activity', CALL: 'activity', EMAIL: 'activity', MEETING: 'activity' };
const NAME_TYPE_ID: Record<string, string> = { CALL: '0-48', EMAIL: '0-49', MEETING: '0-47' };
const KINDS: Record<string, boolean> = { creation: false, propertyChange: false, restore: false, deletion: true };

/**
 * `*.associationChange` [H24][H51] -> a notice for the record holding the slot, or none when no
 * slot holds the pair. No `modifiedAt`: creating or removing an association does not move either
 * record's last-modified stamp (vendor-facts H53), so the read it triggers must not wait for one.
 * Our own app's changes (`changeSource` INTEGRATION, `sourceId` our app id) are noticed like
 * property events are: the engine's read and compare finds nothing to do for its own echo.
 */
function associationNotice(event: Record<string, unknown>, prefix: string): ChangeRef | undefined | 'invalid' {
  const fromType = prefix === 'object' ? objectTypeOfTypeId(idOf(event.fromObjectTypeId ?? event.objectTypeId)) : CLASSIC[prefix];
  const [fromName = '', toPart = ''] = typeof event.associationType === 'string' ? event.associationType.split('_TO_', 2) : [];
  const toType = prefix === 'object' && event.toObjectTypeId !== undefined ? objectTypeOfTypeId(idOf(event.toObjectTypeId)) : BY_NAME[toPart.split('_')[0] ?? ''];
  if (fromType === undefined || toType === undefined || (prefix !== 'object' && BY_NAME[fromName] !== fromType)) return undefined;
  const holder = slotHolder(fromType, toType);
  if (holder === undefined) return undefined;
  const rawId = idOf(holder === fromType ? event.fromObjectId : event.toObjectId);
  if (rawId === undefined) return 'invalid';
  const holderTypeId = holder === fromType ? (prefix === 'object' ? idOf(event.fromObjectTypeId ?? event.objectTypeId) : undefined) ?? NAME_TYPE_ID[fromName] : idOf(event.toObjectTypeId) ?? NAME_TYPE_ID[toPart.split('_')[0] ?? ''];
  return { objectType: holder, externalId: externalIdFor(holderTypeId, rawId), eventId: String(event.eventId) };
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
    const objectType = prefix === 'object' ? objectTypeOfTypeId(String(event.objectTypeId)) : CLASSIC[prefix];
    const deleted = KINDS[kind];
    if (objectType === undefined || deleted === undefined) {
      unsupported.push(prefix === 'object' ? `${event.subscriptionType}:${String(event.objectTypeId)}` : event.subscriptionType);
      continue;
    }
    if (typeof event.objectId !== 'number' && typeof event.objectId !== 'string') throw invalidPayload('Each event needs an objectId.');
    events.push({
      objectType,
      externalId: prefix === 'object' ? externalIdFor(String(event.objectTypeId), String(event.objectId)) : String(event.objectId),
      eventId: String(event.eventId),
      modifiedAt: isoFromMs(event.occurredAt),
      ...(deleted || event.changeFlag === 'DELETED' ? { deleted: true } : {}),
    });
  }
  return { events, unsupported };
};

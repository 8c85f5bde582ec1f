import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import { invalidPayload } from './errors';
import { isoFromMs, isRecord, type DeliveryParser } from './parse';

const CLASSIC: Record<string, ObjectType> = { contact: 'contact', company: 'company', deal: 'deal' };
/** Generic `object.*` subscriptions name the type by id. */
const BY_TYPE_ID: Record<string, ObjectType> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-27': 'activity' };
const KINDS: Record<string, boolean> = { creation: false, propertyChange: false, restore: false, deletion: true };

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
    const objectType = prefix === 'object' ? BY_TYPE_ID[String(event.objectTypeId)] : CLASSIC[prefix];
    const deleted = KINDS[kind];
    if (objectType === undefined || deleted === undefined) {
      unsupported.push(prefix === 'object' ? `${event.subscriptionType}:${String(event.objectTypeId)}` : event.subscriptionType);
      continue;
    }
    if (typeof event.objectId !== 'number' && typeof event.objectId !== 'string') throw invalidPayload('Each event needs an objectId.');
    events.push({
      objectType,
      externalId: String(event.objectId),
      eventId: String(event.eventId),
      modifiedAt: isoFromMs(event.occurredAt),
      ...(deleted || event.changeFlag === 'DELETED' ? { deleted: true } : {}),
    });
  }
  return { events, unsupported };
};

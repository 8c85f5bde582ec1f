import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import { invalidPayload, unauthorized } from './errors';
import { isoFromMs, isRecord, type DeliveryParser } from './parse';
import { headerValue } from './secrets';

const OBJECT_TYPES: Record<string, ObjectType> = { Contact: 'contact', Account: 'company', Opportunity: 'deal', Task: 'activity' };
const CHANGE_TYPES: Record<string, boolean> = { CREATE: false, UPDATE: false, UNDELETE: false, DELETE: true };

/** The CDC-shaped callout: `{ organizationId, deliveryAttempt, sentAt, events: [{ eventId, entityName, recordIds, changeType, commitTimestamp, ... }] }`. */
export const parseSalesforce: DeliveryParser = (body, { headers }) => {
  if (!isRecord(body) || !Array.isArray(body.events)) throw invalidPayload('Expected an object with an events array.');
  // sentAt is inside the signed body: it must be the (freshness-checked) header time.
  if (String(body.sentAt) !== headerValue(headers, 'x-sfdc-timestamp')) {
    throw unauthorized('signature_invalid', 'X-Sfdc-Timestamp does not match the signed sentAt.');
  }
  const events: ChangeRef[] = [];
  const unsupported: string[] = [];
  for (const event of body.events) {
    if (!isRecord(event) || typeof event.eventId !== 'string' || typeof event.entityName !== 'string' || typeof event.changeType !== 'string' || !Array.isArray(event.recordIds)) {
      throw invalidPayload('Each event needs eventId, entityName, changeType and recordIds.');
    }
    const objectType = OBJECT_TYPES[event.entityName];
    const deleted = CHANGE_TYPES[event.changeType];
    if (objectType === undefined || deleted === undefined) {
      unsupported.push(`${event.entityName}.${event.changeType}`);
      continue;
    }
    const ids = event.recordIds.filter((id): id is string => typeof id === 'string' && id !== '');
    if (ids.length !== event.recordIds.length || ids.length === 0) throw invalidPayload('recordIds must be non-empty strings.');
    ids.forEach((externalId, index) => {
      events.push({
        objectType,
        externalId,
        eventId: ids.length === 1 ? event.eventId as string : `${event.eventId as string}:${index}`,
        modifiedAt: isoFromMs(event.commitTimestamp),
        ...(deleted ? { deleted: true } : {}),
      });
    });
  }
  return { events, unsupported };
};

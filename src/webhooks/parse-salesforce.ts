import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import { readOutboundMessage } from './outbound-message';
import type { DeliveryParser } from './parse';

const OBJECT_TYPES: Record<string, ObjectType> = { Contact: 'contact', Account: 'company', Opportunity: 'deal', Task: 'activity' };

function isoDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/**
 * One notice per Notification of an Outbound Message: the sObject's `sf:Id`, typed by its
 * `xsi:type`, with the notification id as the event id (a resent message repeats it, so the
 * workflow drops the copy) and `LastModifiedDate` when the message sends it. Outbound Messages
 * fire on create and edit only [S81]: deletions reach the sync through polling (getDeleted).
 */
export const parseSalesforce: DeliveryParser = (document) => {
  const events: ChangeRef[] = [];
  const unsupported: string[] = [];
  for (const notification of readOutboundMessage(document).notifications) {
    const objectType = OBJECT_TYPES[notification.sObjectType];
    if (objectType === undefined) {
      unsupported.push(notification.sObjectType);
      continue;
    }
    events.push({ objectType, externalId: notification.recordId, eventId: notification.id, modifiedAt: isoDate(notification.fields.LastModifiedDate) });
  }
  return { events, unsupported };
};

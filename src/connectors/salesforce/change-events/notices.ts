import type { ObjectType } from '../../../model/identifiers';
import type { ChangeRef } from '../../../model/sync';

/** One change event as the subscriber decoded it: the header, field bitmaps already named. */
export interface DecodedChangeEvent {
  /** Replay id, base64: unique per event in the stream, so it names the event for redelivery checks. */
  replayId: string;
  entityName: string;
  recordIds: string[];
  changeType: string;
  changeOrigin: string;
  commitTimestamp: number;
  commitUser: string;
  transactionKey: string;
  sequenceNumber: number;
  changedFields: string[];
}

/** What a batch of change events asks of the workflow. */
export interface ChangeEventNotices {
  /** Records to read, as webhook notices would name them (deletions marked; a read confirms them). */
  notices: ChangeRef[];
  /**
   * Objects whose changes were not listed (GAP_OVERFLOW): the workflow polls them from their
   * watermark, which covers every change the overflow stood for.
   */
  pollObjects: ObjectType[];
  /** Events of objects this connection does not sync (ignored, counted for the operator). */
  ignored: number;
}

const OBJECT_TYPES: Readonly<Record<string, ObjectType>> = { Contact: 'contact', Account: 'company', Opportunity: 'deal', Task: 'activity', Event: 'activity' };

/**
 * Change events to notices (vendor-facts S91, S93): CREATE, UPDATE and UNDELETE name records to
 * read; DELETE names records to read and, if gone, delete elsewhere; GAP_* name records whose
 * change Salesforce could not describe, read like any other (a GAP_DELETE as a deletion: the read
 * decides); GAP_OVERFLOW names none and puts its object on the poll. Every record of a
 * multi-record event is its own notice, with an event id made of the replay id and its place.
 */
export function changeEventNotices(events: readonly DecodedChangeEvent[], synced: readonly ObjectType[]): ChangeEventNotices {
  const notices: ChangeRef[] = [];
  const pollObjects = new Set<ObjectType>();
  let ignored = 0;
  for (const event of events) {
    const objectType = OBJECT_TYPES[event.entityName];
    if (!objectType || !synced.includes(objectType)) {
      ignored += 1;
      continue;
    }
    if (event.changeType === 'GAP_OVERFLOW') {
      pollObjects.add(objectType);
      continue;
    }
    const deleted = event.changeType === 'DELETE' || event.changeType === 'GAP_DELETE';
    event.recordIds.forEach((externalId, index) => {
      notices.push({
        objectType,
        externalId,
        eventId: `cdc:${event.replayId}:${index}`,
        modifiedAt: new Date(event.commitTimestamp).toISOString(),
        ...(deleted ? { deleted: true } : {}),
      });
    });
  }
  return { notices, pollObjects: [...pollObjects], ignored };
}

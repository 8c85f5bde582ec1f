import type { ObjectType } from '../../../model/identifiers';
import { ChangeBuffer, type ChangeRef } from '../../../model/sync';
import { externalIdFor, idOf, objectTypeOfTypeId, slotHolder } from '../change-refs';

/** One journal file [H97]: its offset and events, as read (fields not checked yet). */
export interface JournalFile {
  offset: string;
  journalEvents: readonly Record<string, unknown>[];
}

export interface JournalNotices {
  /** One per record named, coalesced as the workflow's buffer does (a file often names a record many times). */
  notices: ChangeRef[];
  /** Events read, those of objects this connection does not sync included. */
  received: number;
}

/**
 * Journal events to the notices webhooks would give (vendor-facts §2b): `crmObject` CREATE, UPDATE,
 * RESTORE and MERGE name the record to read (a merge's `mergedObjectIds` are gone: deletions the
 * read confirms); DELETE names a deletion. `association` events name the record holding the slot,
 * as `*.associationChange` webhooks do, with no modifiedAt (associations move no stamp, H53).
 * Our own writes come back like anyone's: the engine's read and compare finds nothing to do.
 */
export function journalNotices(files: readonly JournalFile[], synced: readonly ObjectType[]): JournalNotices {
  const buffer = new ChangeBuffer();
  let received = 0;
  const add = (notice: ChangeRef): void => {
    if (synced.includes(notice.objectType)) buffer.add(notice);
  };
  for (const file of files) {
    file.journalEvents.forEach((event, index) => {
      received += 1;
      const eventId = `journal:${file.offset}:${index}`;
      if (event.type === 'association') {
        const notice = associationNotice(event, eventId);
        if (notice) add(notice);
        return;
      }
      const typeId = idOf(event.objectTypeId);
      const objectType = objectTypeOfTypeId(typeId);
      const objectId = idOf(event.objectId);
      if (event.type !== 'crmObject' || objectType === undefined || objectId === undefined) return;
      const occurredAt = typeof event.occurredAt === 'string' && !Number.isNaN(Date.parse(event.occurredAt)) ? new Date(event.occurredAt).toISOString() : undefined;
      const base = { objectType, eventId, ...(occurredAt ? { modifiedAt: occurredAt } : {}) };
      add({ ...base, externalId: externalIdFor(typeId, objectId), ...(event.action === 'DELETE' ? { deleted: true } : {}) });
      if (event.action === 'MERGE' && Array.isArray(event.mergedObjectIds)) {
        for (const merged of event.mergedObjectIds) {
          const id = idOf(merged);
          if (id !== undefined) add({ ...base, externalId: externalIdFor(typeId, id), deleted: true });
        }
      }
    });
  }
  return { notices: buffer.toJSON(), received };
}

function associationNotice(event: Record<string, unknown>, eventId: string): ChangeRef | undefined {
  const fromTypeId = idOf(event.fromObjectTypeId);
  const toTypeId = idOf(event.toObjectTypeId);
  const fromType = objectTypeOfTypeId(fromTypeId);
  const toType = objectTypeOfTypeId(toTypeId);
  if (fromType === undefined || toType === undefined) return undefined;
  const holder = slotHolder(fromType, toType);
  if (holder === undefined) return undefined;
  const [typeId, id] = holder === fromType ? [fromTypeId, idOf(event.fromObjectId)] : [toTypeId, idOf(event.toObjectId)];
  return id === undefined ? undefined : { objectType: holder, externalId: externalIdFor(typeId, id), eventId };
}

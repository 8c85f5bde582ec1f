import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectType } from '../../../model/identifiers';
import type { ChangeEventFeed, ChangeEventRead, ChangeEventReadRequest } from '../../connector';
import { mapLimited } from '../../map-limited';
import { targetsOf } from '../activity-kinds';
import { mappingOf, type HubSpotContext } from '../context';
import { propertiesToRead } from '../record-mapper';
import { slotHolder } from '../change-refs';
import type { AssociationSubscriptionRequest, JournalClient, JournalEntryRef, ObjectSubscriptionRequest } from './journal-client';
import { journalNotices } from './notices';

export interface JournalSettings {
  /** The portal whose (local) journal is read and subscribed to: `installPortalId` [H96]. */
  portalId: number;
}

/** The journal keeps three days [H99]: a start position older than that may have missed entries. */
const RETENTION_MS = 3 * 24 * 60 * 60_000;
/** Entries per batch read (HubSpot's batch read takes up to 100 offsets [H103]). */
const ENTRIES_PER_READ = 20;
/** No long poll: while a read waits, the journal is asked again this often. */
const ASK_EVERY_MS = 1000;
/** Journal files fetched at once (presigned storage URLs, outside HubSpot's API limits). */
const FILES_IN_FLIGHT = 4;
/** The position before the journal's first entry, taken when it was empty at time T: `start@T`. */
const START = 'start@';

/**
 * HubSpot's webhooks journal as the connector's change feed [H94]: the position is the journal's
 * offset (opaque to the workflow), read in short batches; an offset the journal no longer has
 * (404 past its 3-day retention [H100]) is `replay-invalid`, so the workflow falls back to a poll.
 * Starting (from LATEST) makes sure the subscriptions exist: the journal holds only what they select.
 */
export function hubspotJournalFeed(ctx: HubSpotContext, client: JournalClient): ChangeEventFeed {
  return {
    async read(request: ChangeEventReadRequest): Promise<ChangeEventRead> {
      if (request.from === 'LATEST' || request.from === 'EARLIEST') {
        await subscribe(ctx, client, request.objects);
        const end = await client.end(request.from === 'LATEST' ? 'latest' : 'earliest');
        // From LATEST the newest entry is taken as read: the poll that follows covers it.
        const position = end?.currentOffset ?? `${START}${new Date().toISOString()}`;
        if (request.from === 'LATEST' || !end) return { kind: 'events', notices: [], pollObjects: [], received: 0, replayId: position };
        return readFrom(client, request, undefined, [end]);
      }
      return readFrom(client, request, request.from.replayId, []);
    },
  };
}

async function readFrom(client: JournalClient, request: ChangeEventReadRequest, position: string | undefined, initial: JournalEntryRef[]): Promise<ChangeEventRead> {
  const deadline = Date.now() + request.waitMs;
  let refs = initial;
  while (refs.length === 0 && position !== undefined) {
    if (position.startsWith(START)) {
      if (Date.now() - Date.parse(position.slice(START.length)) > RETENTION_MS) return { kind: 'replay-invalid', message: `the journal was last seen empty at ${position.slice(START.length)}, longer ago than its 3-day retention` };
      refs = await client.first(ENTRIES_PER_READ);
    } else {
      const found = await client.after(position, ENTRIES_PER_READ);
      if (!Array.isArray(found)) return { kind: 'replay-invalid', message: `journal offset ${position} refused: ${found.unknownOffset}` };
      refs = found;
    }
    if (refs.length > 0 || Date.now() + ASK_EVERY_MS > deadline) break;
    await sleep(ASK_EVERY_MS);
  }
  // A few files at once: the read must end well within its activity's 30 s.
  const files = await mapLimited(refs, FILES_IN_FLIGHT, (ref) => client.file(ref));
  const { notices, received } = journalNotices(files, request.objects);
  return { kind: 'events', notices, pollObjects: [], received, replayId: refs.at(-1)?.currentOffset ?? position };
}

const OBJECT_ACTIONS = ['CREATE', 'UPDATE', 'DELETE', 'MERGE', 'RESTORE'];
const ASSOCIATION_ACTIONS = ['ASSOCIATION_ADDED', 'ASSOCIATION_REMOVED'];

/**
 * One OBJECT subscription per HubSpot object the synced types live in, for the properties the
 * mapping reads (the modstamp left out: it is HubSpot's own stamp, not an edit); one ASSOCIATION
 * subscription per object holding a reference slot to another synced type. Upserts: idempotent.
 */
export function journalSubscriptions(ctx: HubSpotContext, objects: readonly ObjectType[]): (ObjectSubscriptionRequest | AssociationSubscriptionRequest)[] {
  const requests: (ObjectSubscriptionRequest | AssociationSubscriptionRequest)[] = [];
  for (const objectType of objects) {
    for (const target of targetsOf(objectType)) {
      const properties = propertiesToRead(mappingOf(ctx, target), target).filter((name) => name !== target.modstamp);
      requests.push({ subscriptionType: 'OBJECT', objectTypeId: target.typeId, actions: OBJECT_ACTIONS, properties });
      const associated = objects.filter((other) => other !== objectType && slotHolder(objectType, other) === objectType).flatMap((other) => targetsOf(other).map((t) => t.typeId));
      if (associated.length > 0) requests.push({ subscriptionType: 'ASSOCIATION', objectTypeId: target.typeId, associatedObjectTypeIds: associated, actions: ASSOCIATION_ACTIONS });
    }
  }
  return requests;
}

async function subscribe(ctx: HubSpotContext, client: JournalClient, objects: readonly ObjectType[]): Promise<void> {
  for (const request of journalSubscriptions(ctx, objects)) await client.subscribe(request);
}

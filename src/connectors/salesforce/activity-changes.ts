import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import type { ActivityMappings } from './activities';
import type { ActivityObject } from './activity-objects';
import { keysetPage, type KeysetPage } from './changes';
import { decodeCursor, encodeCursor } from './cursor';
import { advance } from './deal-changes';
import { fromSalesforce, nativeObjectName, selectFields, toIsoInstant, type SalesforceRecord } from './record-mapper';
import type { SalesforceSession } from './session';
import { salesforceSpec } from './spec';

/**
 * Activity changes = Task saves + Event saves, two keyset streams on (SystemModstamp, Id) read in
 * step under one cursor. A page merges what both streams returned up to the lower of their last
 * stamps (past it, the other stream has not been read yet), oldest first, at most `limit` records;
 * each stream moves on by what it gave to the page. So the watermark never passes a stamp one
 * object has not been scanned up to, and a record saved mid-scan moves behind its stream's
 * position and is met again with its new stamp, as on one object (changes.ts).
 */

interface StreamPosition {
  from: string;
  seenAtFrom: string[];
  done: boolean;
}

interface ActivityChangeCursor {
  kind: 'activity-changes';
  streams: Record<ActivityObject, StreamPosition>;
  until?: string | undefined;
  highWatermark: string;
}

function isActivityChangeCursor(value: unknown): value is ActivityChangeCursor {
  return typeof value === 'object' && value !== null && (value as ActivityChangeCursor).kind === 'activity-changes' && typeof (value as ActivityChangeCursor).streams === 'object';
}

/** Above every ISO stamp: an exhausted stream bounds nothing. */
const END = '9999-12-31T23:59:59.999Z';
const OBJECTS: readonly ActivityObject[] = ['Task', 'Event'];

interface Row {
  object: ActivityObject;
  stamp: string;
  id: string;
  row: SalesforceRecord;
}

export async function listActivityChanges(session: SalesforceSession, mappings: ActivityMappings, request: ChangesRequest, lookbackMs: number): Promise<ChangePage> {
  const cursor: ActivityChangeCursor = request.cursor ? decodeCursor(request.cursor, isActivityChangeCursor) : firstCursor(request, lookbackMs);
  const limit = Math.min(Math.max(1, request.limit ?? salesforceSpec.batch.defaultQueryPage), salesforceSpec.batch.maxQueryPage);
  const pages = new Map<ActivityObject, KeysetPage | undefined>();
  for (const object of OBJECTS) {
    const position = cursor.streams[object];
    const mapping = mappings[object];
    pages.set(
      object,
      position.done ? undefined : await keysetPage(session, { objectName: nativeObjectName(mapping, 'activity'), fields: selectFields(mapping, 'activity'), from: position.from, seenAtFrom: position.seenAtFrom, until: cursor.until, limit }),
    );
  }
  // Past a stream's last stamp that stream has not been read: nothing beyond the lowest one is taken.
  const cutoff = OBJECTS.map((object) => pages.get(object)).reduce((low, page) => {
    const bound = !page || page.exhausted ? END : page.from;
    return bound < low ? bound : low;
  }, END);
  const rows: Row[] = OBJECTS.flatMap((object) => (pages.get(object)?.rows ?? []).map((row) => ({ object, stamp: toIsoInstant(row.SystemModstamp), id: String(row.Id), row })));
  const taken = rows
    .filter((row) => row.stamp <= cutoff)
    .sort((a, b) => a.stamp.localeCompare(b.stamp) || a.id.localeCompare(b.id))
    .slice(0, limit);

  const records: ExternalRecord[] = taken.map((row) => fromSalesforce(mappings[row.object], 'activity', row.row));
  const streams = { ...cursor.streams };
  for (const object of OBJECTS) {
    const page = pages.get(object);
    if (!page) continue;
    // Each stream's rows are sorted as the page is, so what it gave is a prefix of them.
    const given = taken.filter((row) => row.object === object);
    streams[object] = advance(cursor.streams[object], given, page.exhausted, given.length === page.rows.length);
  }
  // Every record taken lies at or before the cutoff, so the newest of them never passes a stream's position.
  const highWatermark = records.reduce((high, record) => (record.modifiedAt > high ? record.modifiedAt : high), cursor.highWatermark);
  const next: ActivityChangeCursor = { ...cursor, streams, highWatermark };
  const finished = OBJECTS.every((object) => streams[object].done);
  return { records, highWatermark, nextCursor: finished ? undefined : encodeCursor(next) };
}

function firstCursor(request: ChangesRequest, lookbackMs: number): ActivityChangeCursor {
  const from = new Date(Date.parse(request.since) - lookbackMs).toISOString();
  return {
    kind: 'activity-changes',
    streams: { Task: { from, seenAtFrom: [], done: false }, Event: { from, seenAtFrom: [], done: false } },
    until: request.until,
    highWatermark: new Date(Date.parse(request.since)).toISOString(),
  };
}

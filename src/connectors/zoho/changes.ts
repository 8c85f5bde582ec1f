import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import type { ZohoHttp } from './http';
import { fieldsToRead, fromRecord, type ZohoRecord } from './record-mapper';
import { zohoSpec } from './spec';

export interface ReadContext {
  http: ZohoHttp;
  mapping: CompiledMapping;
  syncIdField: string;
  lookbackMs: number;
  pageSize: number;
}

export interface ZohoPage {
  data?: ZohoRecord[];
  info?: { per_page?: number; count?: number; page?: number; more_records?: boolean };
}

/**
 * A scan's state. `time`: keyset pages sorted by Modified_Time from `from` (epoch seconds, sent as
 * If-Modified-Since, which returns records modified after that second). `id`: a burst of more
 * than a page within one second cannot be keyset-paged, so the scan walks everything after
 * `from` in id order (a record modified meanwhile keeps its place: nothing shifts), returning
 * what was modified up to `resumeFrom`, then resumes by time from `resumeFrom`, which returns what
 * changed during the walk. `seen` (id -> modstamp, time mode, at most about a page) and `pinned`
 * (the burst page, id mode) drop what this scan already returned.
 */
interface ChangesCursor {
  kind: 'changes';
  objectType: ObjectType;
  mode: 'time' | 'id';
  from: number;
  page: number;
  high: string;
  until?: string | undefined;
  seen: Record<string, string>;
  /** Id mode: the burst page's entries, dropped when the walk ends. */
  pinned?: Record<string, string> | undefined;
  resumeFrom?: number | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const second = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** If-Modified-Since as Zoho takes it: ISO 8601 to the second with a numeric offset [Z7]. */
export const ifModifiedSince = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');

/**
 * Where a changes or deletions scan starts: one second earlier than the reach-back (If-Modified-Since
 * is exclusive, stamps are whole seconds), the high watermark at `since`, and the optional end.
 */
export function scanWindow(request: ChangesRequest, lookbackMs: number): { from: number; high: string; until: string | undefined } {
  return {
    from: Math.floor((Date.parse(request.since) - lookbackMs) / 1000) - 1,
    high: new Date(Date.parse(request.since)).toISOString(),
    until: request.until ? new Date(Date.parse(request.until)).toISOString() : undefined,
  };
}

function keep(seen: Record<string, string>, afterSecond: number): Record<string, string> {
  return Object.fromEntries(Object.entries(seen).filter(([, stamp]) => second(stamp) > afterSecond));
}

/** Where a scan reads: the object type's module by default; an activity module for activities. */
export interface ModuleSource {
  module: string;
  fields: string[];
  toRecord: (row: ZohoRecord) => ExternalRecord;
}

export async function listChanges(context: ReadContext, objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> {
  const { serverTime: _serverTime, ...page } = await scanChanges(context, objectType, request);
  return page;
}

/**
 * One page of a module's change scan, with the server's time of the call (whole seconds, from
 * its Date header): what a scan over several modules needs to know how far a finished one reached.
 */
export async function scanChanges(context: ReadContext, objectType: ObjectType, request: ChangesRequest, source?: ModuleSource): Promise<ChangePage & { serverTime: number }> {
  const { http, mapping, syncIdField } = context;
  const perPage = Math.max(1, Math.min(request.limit ?? context.pageSize, zohoSpec.paging.maxPage));
  const state: ChangesCursor = request.cursor
    ? decodeCursor<ChangesCursor>('zoho', request.cursor, 'changes')
    : { kind: 'changes', objectType, mode: 'time', ...scanWindow(request, context.lookbackMs), page: 1, seen: {} };
  const module = source?.module ?? zohoSpec.modules[state.objectType].module;
  const toRecord = source?.toRecord ?? ((row: ZohoRecord) => fromRecord(mapping, state.objectType, syncIdField, row));
  const query = new URLSearchParams({
    fields: (source?.fields ?? fieldsToRead(mapping, state.objectType, syncIdField)).join(','),
    sort_by: state.mode === 'time' ? 'Modified_Time' : 'id',
    sort_order: 'asc',
    page: String(state.page),
    per_page: String(perPage),
  });
  // Get records modified since T: If-Modified-Since [Z7], paged by page/per_page/more_records [Z8].
  const response = await http.call<ZohoPage>({ method: 'GET', path: `${module}?${query.toString()}`, headers: { 'if-modified-since': ifModifiedSince(state.from) } });
  const rows = response.body?.data ?? [];
  const more = response.body?.info?.more_records === true;

  const records: ExternalRecord[] = [];
  let { high } = state;
  const seen = { ...state.seen };
  for (const row of rows) {
    const record = toRecord(row);
    if (seen[record.externalId] === record.modifiedAt || state.pinned?.[record.externalId] === record.modifiedAt) continue;
    // The walk leaves what changed after it started to the resumed keyset pages: each id appears
    // once per walk, so the walk keeps no `seen` of its own and the cursor stays small.
    if (state.mode === 'id' && second(record.modifiedAt) > (state.resumeFrom ?? state.from)) continue;
    if (state.until && record.modifiedAt >= state.until) continue;
    seen[record.externalId] = record.modifiedAt;
    if (record.modifiedAt > high) high = record.modifiedAt;
    records.push(record);
  }

  const serverTime = Date.parse(response.headers.date ?? '') || Date.now();
  let next: ChangesCursor | undefined;
  if (state.mode === 'time') {
    const newest = rows.length > 0 ? Math.max(...rows.map((row) => second(String(row[zohoSpec.systemFields.modifiedTime])))) : state.from;
    const pastUntil = state.until !== undefined && rows.length > 0 && newest >= second(state.until) + 1;
    if (more && !pastUntil) {
      if (newest - 1 > state.from) {
        next = { ...state, from: newest - 1, page: 1, high, seen: keep(seen, newest - 1) };
      } else {
        // A full page within one second: walk by id from here, then resume by time from the
        // walk's start. The walk starts in a later second than the burst (waiting up to a second
        // if need be), so the resumed keyset pages never meet this burst again.
        const serverNow = serverTime;
        const walkStart = Math.max(serverNow, (newest + 1) * 1000);
        if (walkStart > serverNow) await sleep(walkStart - serverNow);
        next = { ...state, mode: 'id', page: 1, high, pinned: seen, seen: {}, resumeFrom: Math.floor(walkStart / 1000) - 1 };
      }
    }
  } else {
    // Every record the walk returned is at or before resumeFrom: the resumed pages cannot repeat one.
    next = more
      ? { ...state, page: state.page + 1, high, seen: {} }
      : { kind: 'changes', objectType: state.objectType, mode: 'time', from: state.resumeFrom ?? state.from, page: 1, high, until: state.until, seen: {} };
  }
  return { records, highWatermark: high, serverTime, ...(next ? { nextCursor: encodeCursor(next) } : {}) };
}

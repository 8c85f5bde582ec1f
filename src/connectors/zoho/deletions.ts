import type { ObjectType } from '../../model/identifiers';
import type { ChangesRequest, DeletionPage } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import { ifModifiedSince, scanWindow, type ReadContext } from './changes';
import { normalizeTimestamp } from './record-mapper';
import { zohoSpec } from './spec';

interface DeletedEntry {
  id?: unknown;
  deleted_time?: unknown;
}

interface DeletionsCursor {
  kind: 'deletions';
  objectType: ObjectType;
  from: number;
  page: number;
  high: string;
  until?: string | undefined;
  /** Ids of the previous page: a deletion made while paging pushes some of them onto this page. */
  seen: string[];
}

/**
 * `GET /{Module}/deleted?type=all` with If-Modified-Since [Z9]: recycle-bin and permanent
 * deletions after the reach-back, newest first, offset-paged. New deletions during the scan push
 * entries down a page (seen again, dropped here by id), never up, so none is skipped. `all`
 * because a record deleted and then purged from the recycle bin must still be listed.
 */
export async function listDeletions(context: ReadContext, objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage> {
  const { serverTime: _serverTime, ...page } = await scanDeletions(context, objectType, request);
  return page;
}

/**
 * One page of a module's deletion feed, with the server's time of the call; `module` and `idOf`
 * name another module than the object type's and how its ids read (activity modules).
 */
export async function scanDeletions(
  context: ReadContext,
  objectType: ObjectType,
  request: ChangesRequest,
  source?: { module: string; idOf: (id: string) => string },
): Promise<DeletionPage & { serverTime: number }> {
  const state: DeletionsCursor = request.cursor
    ? decodeCursor<DeletionsCursor>('zoho', request.cursor, 'deletions')
    : { kind: 'deletions', objectType, ...scanWindow(request, context.lookbackMs), page: 1, seen: [] };
  const perPage = Math.max(1, Math.min(request.limit ?? context.pageSize, zohoSpec.paging.maxPage));
  const module = source?.module ?? zohoSpec.modules[state.objectType].module;
  const query = new URLSearchParams({ type: 'all', page: String(state.page), per_page: String(perPage) });
  // Get deleted records: https://www.zoho.com/crm/developer/docs/api/v6/get-deleted-records.html [Z9]
  const response = await context.http.call<{ data?: DeletedEntry[]; info?: { more_records?: boolean } }>({
    method: 'GET',
    path: `${module}/deleted?${query.toString()}`,
    headers: { 'if-modified-since': ifModifiedSince(state.from) },
  });
  const seen = new Set(state.seen);
  const deletions: { externalId: string; deletedAt: string }[] = [];
  const onPage: { externalId: string; deletedAt: string }[] = [];
  let { high } = state;
  for (const entry of response.body?.data ?? []) {
    if (typeof entry.id !== 'string' && typeof entry.id !== 'number') continue;
    const externalId = source ? source.idOf(String(entry.id)) : String(entry.id);
    const deletedAt = normalizeTimestamp(entry.deleted_time);
    onPage.push({ externalId, deletedAt });
    if (seen.has(externalId) || (state.until && deletedAt >= state.until)) continue;
    if (deletedAt > high) high = deletedAt;
    deletions.push({ externalId, deletedAt });
  }
  const more = response.body?.info?.more_records === true;
  // Deletions made meanwhile push this page's entries onto the next one (up to a page of them):
  // remember this page's ids only, so the cursor stays small however long the scan.
  const carried = onPage.map((entry) => entry.externalId);
  return {
    deletions,
    highWatermark: high,
    serverTime: Date.parse(response.headers.date ?? '') || Date.now(),
    ...(more ? { nextCursor: encodeCursor({ ...state, page: state.page + 1, high, seen: carried } satisfies DeletionsCursor) } : {}),
  };
}

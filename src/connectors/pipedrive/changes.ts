import type { ObjectType } from '../../model/identifiers';
import type { ChangePage, ChangesRequest, DeletionPage, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import { rfc3339, type PipedriveContext } from './context';
import { modstampOf, toExternalRecord, type PipedriveRecord } from './record-mapper';
import { DEAL_INCLUDE_FIELDS, participantsOf } from './participants';
import { PIPEDRIVE_API, PIPEDRIVE_OBJECTS, pipedriveSpec } from './spec';

/**
 * Changes since a watermark: `GET /api/v2/{entity}?updated_since=&updated_until=&sort_by=update_time
 * &sort_direction=asc&limit=&cursor=` [P1][P2]. The vendor's cursor is followed as it is; ours
 * wraps it with what dedupe needs: `update_time` is to the second, so the ids already returned at
 * the newest second travel along and are dropped if served again with the same stamp.
 */
interface ScanCursor {
  kind: 'changes' | 'deletions';
  objectType: ObjectType;
  vendorCursor: string;
  from: string;
  until: string | null;
  high: number;
  /** `id@modstamp` returned at the newest stamp so far. */
  seen: string[];
}

export async function listChanges(ctx: PipedriveContext, objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> {
  const page = await scan(ctx, objectType, request, 'changes');
  return { records: page.records, nextCursor: page.nextCursor, highWatermark: page.highWatermark };
}

/**
 * Deleted records since a watermark: deals `status=deleted` [P1], the others `is_deleted=true`
 * (UNCONFIRMED, BEHAVIOR.md); a deleted record's `update_time` is its deletion. Listed for 30 days.
 */
export async function listDeletions(ctx: PipedriveContext, objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage> {
  const page = await scan(ctx, objectType, request, 'deletions');
  return { deletions: page.records.map((record) => ({ externalId: record.externalId, deletedAt: record.modifiedAt })), nextCursor: page.nextCursor, highWatermark: page.highWatermark };
}

async function scan(ctx: PipedriveContext, objectType: ObjectType, request: ChangesRequest, kind: ScanCursor['kind']): Promise<{ records: ExternalRecord[]; nextCursor?: string; highWatermark: string }> {
  const since = Date.parse(request.since);
  if (Number.isNaN(since)) throw new Error(`since must be an ISO-8601 datetime, got ${request.since}`);
  const state: ScanCursor = request.cursor
    ? decodeCursor<ScanCursor>('pipedrive', request.cursor, kind)
    : { kind, objectType, vendorCursor: '', from: rfc3339(since - ctx.lookbackMs), until: request.until ? rfc3339(Date.parse(request.until)) : null, high: since, seen: [] };
  if (state.objectType !== objectType) throw new Error(`the cursor belongs to ${state.objectType}, not ${objectType}`);
  const object = PIPEDRIVE_OBJECTS[objectType];
  const limit = Math.max(1, Math.min(request.limit ?? pipedriveSpec.paging.maxLimit, pipedriveSpec.paging.maxLimit));
  const syncIdKey = await ctx.syncIdKeys.keyFor(objectType);
  // https://developers.pipedrive.com/docs/api/v2/Persons#getPersons (and Organizations, Deals, Activities)
  const answer = await ctx.http.json<PipedriveRecord[]>({
    method: 'GET',
    path: `${PIPEDRIVE_API.recordsPath}/${object.entity}`,
    query: {
      updated_since: state.from,
      updated_until: state.until ?? undefined,
      sort_by: 'update_time',
      sort_direction: 'asc',
      limit,
      cursor: state.vendorCursor || undefined,
      ...(kind === 'deletions' ? object.deletedFilter : {}),
      ...(kind === 'changes' && objectType === 'deal' ? DEAL_INCLUDE_FIELDS : {}),
    },
    kind: 'list',
  });
  const seen = new Set(state.seen);
  const fresh = (answer.data ?? []).filter((record) => !seen.has(`${record.id}@${record.update_time}`));
  // A deal's contacts need its participants (one call per deal that has any: participants.ts).
  const participants = kind === 'changes' && objectType === 'deal' ? await participantsOf(ctx, fresh) : undefined;
  const records = fresh.map((record) => toExternalRecord(ctx.mapping, objectType, record, syncIdKey, participants?.get(record.id)));
  for (const record of fresh) {
    const stamp = Date.parse(modstampOf(record));
    if (stamp > state.high) {
      state.high = stamp;
      seen.clear();
    }
    if (stamp === state.high) seen.add(`${record.id}@${record.update_time}`);
  }
  const next = answer.additional_data?.next_cursor;
  const highWatermark = new Date(state.high).toISOString();
  if (!next) return { records, highWatermark };
  return { records, nextCursor: encodeCursor({ ...state, vendorCursor: next, seen: [...seen] }), highWatermark };
}

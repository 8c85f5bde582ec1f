import type { ObjectType } from '../../model/identifiers';
import type { BulkPath, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import { rfc3339, type PipedriveContext } from './context';
import { toExternalRecord, type PipedriveRecord } from './record-mapper';
import { PIPEDRIVE_API, PIPEDRIVE_OBJECTS, pipedriveSpec } from './spec';
import { DEAL_INCLUDE_FIELDS, participantsOf } from './participants';
import { upsertAll } from './upsert';

/**
 * Pipedrive has no bulk API: exports page the normal list endpoint through its cursor (500 per
 * page, sorted by id so the position is stable under writes), and bulk upserts are the normal
 * upsert with more writes in flight, paced by the budget (BEHAVIOR.md).
 */
interface ExportCursor {
  kind: 'export';
  objectType: ObjectType;
  since: string | null;
  vendorCursor: string;
}

export function createBulkPath(ctx: PipedriveContext): BulkPath {
  return {
    async startExport(objectType, request) {
      const since = request?.since ? Date.parse(request.since) : NaN;
      return encodeCursor<ExportCursor>({ kind: 'export', objectType, since: Number.isNaN(since) ? null : rfc3339(since), vendorCursor: '' });
    },

    async readExportPage(cursor): Promise<{ records: ExternalRecord[]; nextCursor?: string }> {
      const state = decodeCursor<ExportCursor>('pipedrive', cursor, 'export');
      const syncIdKey = await ctx.syncIdKeys.keyFor(state.objectType);
      // https://developers.pipedrive.com/docs/api/v2/Deals#getDeals (cursor paging; `next_cursor` in additional_data)
      const answer = await ctx.http.json<PipedriveRecord[]>({
        method: 'GET',
        path: `${PIPEDRIVE_API.recordsPath}/${PIPEDRIVE_OBJECTS[state.objectType].entity}`,
        query: { limit: pipedriveSpec.paging.maxLimit, sort_by: 'id', sort_direction: 'asc', updated_since: state.since ?? undefined, cursor: state.vendorCursor || undefined, ...(state.objectType === 'deal' ? DEAL_INCLUDE_FIELDS : {}) },
        kind: 'list',
      });
      const raw = answer.data ?? [];
      const participants = state.objectType === 'deal' ? await participantsOf(ctx, raw) : undefined;
      const records = raw.map((record) => toExternalRecord(ctx.mapping, state.objectType, record, syncIdKey, participants?.get(record.id)));
      const next = answer.additional_data?.next_cursor;
      return next ? { records, nextCursor: encodeCursor<ExportCursor>({ ...state, vendorCursor: next }) } : { records };
    },

    upsert: (objectType, inputs) => upsertAll(ctx, objectType, inputs, pipedriveSpec.bulkConcurrency),
  };
}

import type { ObjectType } from '../../model/identifiers';
import type { BulkPath, ExternalRecord, UpsertInput, UpsertOutcome } from '../connector';
import { listChanges } from './changes';
import { mappingOf, type HubSpotContext } from './context';
import { targetsOf, type HubSpotTarget } from './activity-kinds';
import { decodeCursor, encodeCursor } from '../cursor';
import { withReferences } from './associations';
import { propertiesToRead, toExternalRecord } from './record-mapper';
import { hubspotSpec } from './spec';
import { upsertAll } from './upsert';

/**
 * HubSpot has no bulk-job API for CRM objects that fits a sync (imports are CSV jobs without
 * per-record results), so the bulk path is the batch API, wider: exports page the list endpoint
 * (100 per call, everything) or the change search (since T), and writes run batch upserts of 100,
 * several in flight, paced by the budget. Export pages carry their references: one v4 batch
 * association read per page and target type.
 */
type ExportCursor =
  | { kind: 'export'; objectType: ObjectType; mode: 'list'; after: string | null; object?: number | undefined }
  | { kind: 'export'; objectType: ObjectType; mode: 'changes'; since: string; changes: string | null };

export function createBulkPath(ctx: HubSpotContext): BulkPath {
  return {
    async startExport(objectType, request = {}) {
      const state: ExportCursor = request.since
        ? { kind: 'export', objectType, mode: 'changes', since: request.since, changes: null }
        : { kind: 'export', objectType, mode: 'list', after: null };
      return encodeCursor(state);
    },

    async readExportPage(cursor) {
      const state = decodeCursor<ExportCursor>('hubspot', cursor, 'export');
      if (state.mode === 'changes') {
        const page = await listChanges(ctx, state.objectType, { since: state.since, cursor: state.changes ?? undefined });
        return { records: page.records, nextCursor: page.nextCursor ? encodeCursor({ ...state, changes: page.nextCursor }) : undefined };
      }
      // Activities list each of their objects in turn (activity-kinds.ts), tasks first.
      const targets = targetsOf(state.objectType);
      const index = state.object ?? 0;
      const target = targets[index] as HubSpotTarget;
      const mapping = mappingOf(ctx, target);
      const properties = propertiesToRead(mapping, target);
      // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (GET /crm/v3/objects/{type}?limit=100&after=&properties=)
      const page = await ctx.runner.run('standard', (options) =>
        ctx.apis.objects.basicApi.getPage(target.path, hubspotSpec.paging.listPage, state.after ?? undefined, properties, undefined, undefined, false, options),
      );
      const records: ExternalRecord[] = await withReferences(ctx, target, page.results.map((object) => toExternalRecord(mapping, target, object)));
      const after = page.paging?.next?.after;
      if (after) return { records, nextCursor: encodeCursor({ ...state, after }) };
      return { records, nextCursor: index + 1 < targets.length ? encodeCursor({ ...state, object: index + 1, after: null }) : undefined };
    },

    upsert(objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> {
      return upsertAll(ctx, objectType, inputs, hubspotSpec.bulkConcurrency);
    },
  };
}

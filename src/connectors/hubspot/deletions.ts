import type { ObjectType } from '../../model/identifiers';
import type { ChangesRequest, DeletionPage } from '../connector';
import type { HubSpotContext } from './context';
import { decodeCursor, encodeCursor } from '../cursor';
import { hubspotSpec, SYNC_ID_PROPERTY } from './spec';
import { externalIdOf, targetsOf, type HubSpotTarget } from './activity-kinds';

/**
 * Archived records since a watermark. HubSpot has no "archived since" filter and search never
 * returns archived records, so this walks the archived list (`archived=true`, id order, kept 90
 * days) and keeps those with archivedAt in the window. Because the list is not in archivedAt
 * order, the watermark advances only when the walk ends: for activities, the walk of all four
 * objects (tasks, calls, emails, meetings) one after the other.
 */
interface DeletionsCursor {
  kind: 'deletions';
  objectType: ObjectType;
  after: string;
  /** Which of the type's objects is being walked (activities: tasks, calls, emails, meetings). */
  object?: number | undefined;
  from: number;
  until: number | null;
  high: number;
}

/** List pages read per call before returning what was found (keeps empty pages rare). */
const LIST_PAGES_PER_CALL = 5;

export async function listDeletions(ctx: HubSpotContext, objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage> {
  const since = Date.parse(request.since);
  if (Number.isNaN(since)) throw new Error(`since must be an ISO-8601 datetime, got ${request.since}`);
  const state: DeletionsCursor = request.cursor
    ? decodeCursor<DeletionsCursor>('hubspot', request.cursor, 'deletions')
    : { kind: 'deletions', objectType, after: '', from: since - ctx.lookbackMs, until: request.until ? Date.parse(request.until) : null, high: since };
  if (state.objectType !== objectType) throw new Error(`the cursor belongs to ${state.objectType}, not ${objectType}`);
  const targets = targetsOf(objectType);
  const deletions: DeletionPage['deletions'] = [];
  for (let pages = 0; pages < LIST_PAGES_PER_CALL; pages += 1) {
    const index = state.object ?? 0;
    const target = targets[index] as HubSpotTarget;
    const after = state.after === '' ? undefined : state.after;
    // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (GET /crm/v3/objects/{type}?archived=true; archivedAt per record)
    const page = await ctx.runner.run('standard', (options) =>
      ctx.apis.objects.basicApi.getPage(target.path, hubspotSpec.paging.listPage, after, [SYNC_ID_PROPERTY], undefined, undefined, true, options),
    );
    for (const object of page.results) {
      const archivedAt = object.archivedAt ? new Date(object.archivedAt).getTime() : new Date(object.updatedAt).getTime();
      if (archivedAt < state.from || (state.until !== null && archivedAt >= state.until)) continue;
      deletions.push({ externalId: externalIdOf(target, object.id), deletedAt: new Date(archivedAt).toISOString() });
      state.high = Math.max(state.high, archivedAt);
    }
    const next = page.paging?.next?.after;
    if (!next && index + 1 >= targets.length) return { deletions, highWatermark: new Date(state.high).toISOString() };
    // One object's list done: the next object's list starts; the watermark waits for the last one.
    state.after = next ?? '';
    if (!next) state.object = index + 1;
    if (deletions.length >= (request.limit ?? hubspotSpec.paging.listPage)) break;
  }
  // Mid-walk the watermark may not move: an earlier-archived record may still lie ahead in id order.
  return { deletions, nextCursor: encodeCursor(state), highWatermark: new Date(since).toISOString() };
}

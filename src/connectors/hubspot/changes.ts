import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { Filter } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/objects/models/SimplePublicObject';
import type { ObjectType } from '../../model/identifiers';
import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import type { HubSpotContext } from './context';
import { decodeCursor, encodeCursor } from '../cursor';
import { withReferences } from './associations';
import { modstampOf, propertiesToRead, toExternalRecord } from './record-mapper';
import { HUBSPOT_OBJECTS, hubspotSpec } from './spec';

/**
 * Changes since a watermark through the search API, keyset-paged (the escape hatch for the
 * 10,000-result cap, BEHAVIOR.md). Search never pages with `after`: every page is a fresh search
 * from the last modstamp seen, so no query ever reaches the cap, a record modified while the scan
 * pages moves behind the position and is returned again with its new modstamp, and an offset can
 * never skip a record because an earlier one moved away.
 *
 * Each page's records carry their references, read in one v4 batch call per target type
 * (association changes do not move a record's modstamp: those reach us by webhook, BEHAVIOR.md).
 *
 * Ties: HubSpot sorts by one property and does not promise an order among equal values, so:
 *  - `range`: modstamp >= lower (or > lower), sorted by modstamp; ids already returned at `lower`
 *    are in `seen` and dropped (dedupe by id + modstamp);
 *  - `ties`: when a full page holds one modstamp only, that modstamp is read on its own sorted by
 *    id (modstamp = s AND id > afterId), then the range resumes strictly after s.
 */
type ChangesCursor =
  | { kind: 'changes'; objectType: ObjectType; phase: 'range'; lower: number; inclusive: boolean; seen: string[]; high: number; until: number | null }
  | { kind: 'changes'; objectType: ObjectType; phase: 'ties'; stamp: number; afterId: string; seen: string[]; high: number; until: number | null };

const MAX_SEARCHES_PER_PAGE = 4;

export async function listChanges(ctx: HubSpotContext, objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> {
  const limit = Math.max(1, Math.min(request.limit ?? hubspotSpec.paging.searchPage, hubspotSpec.paging.searchPage));
  const since = Date.parse(request.since);
  if (Number.isNaN(since)) throw new Error(`since must be an ISO-8601 datetime, got ${request.since}`);
  let state: ChangesCursor = request.cursor
    ? decodeCursor<ChangesCursor>('hubspot', request.cursor, 'changes')
    : {
        kind: 'changes',
        objectType,
        phase: 'range',
        lower: since - ctx.lookbackMs,
        inclusive: true,
        seen: [],
        high: since,
        until: request.until ? Date.parse(request.until) : null,
      };
  if (state.objectType !== objectType) throw new Error(`the cursor belongs to ${state.objectType}, not ${objectType}`);

  const records: ExternalRecord[] = [];
  for (let searches = 0; searches < MAX_SEARCHES_PER_PAGE; searches += 1) {
    const step = state.phase === 'range' ? await rangeStep(ctx, objectType, state, limit) : await tiesStep(ctx, objectType, state, limit);
    records.push(...step.records);
    for (const record of step.records) state.high = Math.max(state.high, Date.parse(record.modifiedAt));
    if (!step.next) return { records: await withReferences(ctx, objectType, records), highWatermark: new Date(state.high).toISOString() };
    state = { ...step.next, high: state.high };
    if (records.length > 0) break;
  }
  return { records: await withReferences(ctx, objectType, records), nextCursor: encodeCursor(state), highWatermark: new Date(state.high).toISOString() };
}

interface Step {
  records: ExternalRecord[];
  next?: ChangesCursor;
}

const stampOf = (objectType: ObjectType, object: SimplePublicObject): number => Date.parse(modstampOf(objectType, object));

async function rangeStep(ctx: HubSpotContext, objectType: ObjectType, state: Extract<ChangesCursor, { phase: 'range' }>, limit: number): Promise<Step> {
  const modstamp = HUBSPOT_OBJECTS[objectType].modstamp;
  const filters: Filter[] = [{ propertyName: modstamp, operator: state.inclusive ? FilterOperatorEnum.Gte : FilterOperatorEnum.Gt, value: String(state.lower) }];
  if (state.until !== null) filters.push({ propertyName: modstamp, operator: FilterOperatorEnum.Lt, value: String(state.until) });
  const results = await search(ctx, objectType, filters, modstamp, limit);
  const seen = new Set(state.seen);
  const fresh = results.filter((object) => !(stampOf(objectType, object) === state.lower && seen.has(object.id)));
  const records = fresh.map((object) => toExternalRecord(ctx.mapping, objectType, object));
  if (results.length < limit) return { records };
  const last = stampOf(objectType, results[results.length - 1] as SimplePublicObject);
  const atLast = results.filter((object) => stampOf(objectType, object) === last).map((object) => object.id);
  const base = { kind: 'changes', objectType, high: state.high, until: state.until } as const;
  if (atLast.length === results.length) {
    // A whole page shares one modstamp: read that modstamp by id so no tie is cut off.
    const carried = last === state.lower ? state.seen : [];
    return { records, next: { ...base, phase: 'ties', stamp: last, afterId: '0', seen: [...new Set([...carried, ...atLast])] } };
  }
  const carried = last === state.lower ? state.seen : [];
  return { records, next: { ...base, phase: 'range', lower: last, inclusive: true, seen: [...new Set([...carried, ...atLast])] } };
}

async function tiesStep(ctx: HubSpotContext, objectType: ObjectType, state: Extract<ChangesCursor, { phase: 'ties' }>, limit: number): Promise<Step> {
  const modstamp = HUBSPOT_OBJECTS[objectType].modstamp;
  const filters: Filter[] = [
    { propertyName: modstamp, operator: FilterOperatorEnum.Eq, value: String(state.stamp) },
    { propertyName: 'hs_object_id', operator: FilterOperatorEnum.Gt, value: state.afterId },
  ];
  const results = await search(ctx, objectType, filters, 'hs_object_id', limit);
  const seen = new Set(state.seen);
  const records = results.filter((object) => !seen.has(object.id)).map((object) => toExternalRecord(ctx.mapping, objectType, object));
  const base = { kind: 'changes', objectType, high: state.high, until: state.until } as const;
  if (results.length < limit) return { records, next: { ...base, phase: 'range', lower: state.stamp, inclusive: false, seen: [] } };
  return { records, next: { ...state, afterId: (results[results.length - 1] as SimplePublicObject).id } };
}

async function search(ctx: HubSpotContext, objectType: ObjectType, filters: Filter[], sortBy: string, limit: number): Promise<SimplePublicObject[]> {
  const path = HUBSPOT_OBJECTS[objectType].path;
  const properties = propertiesToRead(ctx.mapping, objectType);
  // https://developers.hubspot.com/docs/api/crm/search (POST /crm/v3/objects/{type}/search; 200 per page, 10,000 per query)
  const response = await ctx.runner.run('search', (options) =>
    ctx.apis.objects.searchApi.doSearch(path, { filterGroups: [{ filters }], sorts: [sortBy], properties, limit }, options),
  );
  return response.results;
}

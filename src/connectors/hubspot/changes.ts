import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { Filter } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/objects/models/SimplePublicObject';
import type { ObjectType } from '../../model/identifiers';
import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import { mappingOf, type HubSpotContext } from './context';
import { decodeCursor, encodeCursor } from '../cursor';
import { ConnectorError } from '../errors';
import { primaryTarget, targetsOf, type HubSpotTarget } from './activity-kinds';
import { withReferences } from './associations';
import { modstampOf, propertiesToRead, toExternalRecord } from './record-mapper';
import { hubspotSpec, type HubSpotObjectPath } from './spec';

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
 *
 * Activities live in four objects (activity-kinds.ts): one scan walks them one after the other,
 * each keyset-paged as above, under one cursor. An object is `complete` up to the newest modstamp
 * seen anywhere when its walk ended (HubSpot stamps from one clock, so nothing of it older than
 * that was missed); a later object raising that bar sends the scan back to the earlier ones, each
 * searched once more from where it stopped (usually one empty search), until a round finds
 * nothing new. The watermark is the lowest position of all objects (one not yet scanned sits at
 * `since`), so it never passes a record an object has not been scanned up to.
 */
type Position =
  | { phase: 'range'; lower: number; inclusive: boolean; seen: string[] }
  | { phase: 'ties'; stamp: number; afterId: string; seen: string[] };

interface ObjectScan {
  path: HubSpotObjectPath;
  position: Position;
  /** The newest modstamp returned from this object. */
  own: number;
  /** Scanned to the end when every object had been scanned up to this modstamp; null while not. */
  complete: number | null;
}

interface ChangesCursor {
  kind: 'changes';
  objectType: ObjectType;
  objects: ObjectScan[];
  current: number;
  since: number;
  high: number;
  until: number | null;
}

const MAX_SEARCHES_PER_PAGE = 4;

export async function listChanges(ctx: HubSpotContext, objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> {
  const limit = Math.max(1, Math.min(request.limit ?? hubspotSpec.paging.searchPage, hubspotSpec.paging.searchPage));
  const since = Date.parse(request.since);
  if (Number.isNaN(since)) throw new Error(`since must be an ISO-8601 datetime, got ${request.since}`);
  const state: ChangesCursor = request.cursor
    ? decodeCursor<ChangesCursor>('hubspot', request.cursor, 'changes')
    : {
        kind: 'changes',
        objectType,
        objects: targetsOf(objectType).map((target) => ({ path: target.path, position: { phase: 'range', lower: since - ctx.lookbackMs, inclusive: true, seen: [] }, own: since, complete: null })),
        current: 0,
        since,
        high: since,
        until: request.until ? Date.parse(request.until) : null,
      };
  if (state.objectType !== objectType || !Array.isArray(state.objects)) throw new ConnectorError({ provider: 'hubspot', errorClass: 'validation', message: `not a changes cursor of ${objectType}` });
  const targets = targetsOf(objectType);
  const targetAt = (path: HubSpotObjectPath): HubSpotTarget => {
    const found = targets.find((candidate) => candidate.path === path);
    if (!found) throw new ConnectorError({ provider: 'hubspot', errorClass: 'validation', message: `the changes cursor names ${path}, not an object of ${objectType}` });
    return found;
  };

  const records: ExternalRecord[] = [];
  let target = primaryTarget(objectType);
  for (let searches = 0; searches < MAX_SEARCHES_PER_PAGE; searches += 1) {
    const scan = state.objects[state.current] as ObjectScan;
    target = targetAt(scan.path);
    const step = scan.position.phase === 'range' ? await rangeStep(ctx, target, scan.position, state.until, limit) : await tiesStep(ctx, target, scan.position, state.until, limit);
    records.push(...step.records);
    for (const record of step.records) scan.own = Math.max(scan.own, Date.parse(record.modifiedAt));
    state.high = Math.max(state.high, scan.own);
    if (step.next) scan.position = step.next;
    else {
      if (step.resume) scan.position = step.resume;
      scan.complete = state.high;
      // Objects never scanned go first; then those a later object's newer records left behind.
      const unscanned = state.objects.findIndex((candidate) => candidate.complete === null);
      const behind = unscanned !== -1 ? unscanned : state.objects.findIndex((candidate) => (candidate.complete as number) < state.high);
      if (behind === -1) return page(ctx, target, records, state, undefined);
      state.current = behind;
    }
    if (records.length > 0) break;
  }
  return page(ctx, target, records, state, encodeCursor(state));
}

/** Every record of a page comes from one object (one search), so the page is oldest first. */
async function page(ctx: HubSpotContext, target: HubSpotTarget, records: ExternalRecord[], state: ChangesCursor, nextCursor: string | undefined): Promise<ChangePage> {
  const position = (scan: ObjectScan): number => scan.complete ?? scan.own;
  const watermark = nextCursor === undefined ? state.high : Math.min(...state.objects.map(position));
  const withLinks = await withReferences(ctx, target, records);
  return { records: withLinks, ...(nextCursor === undefined ? {} : { nextCursor }), highWatermark: new Date(Math.max(watermark, state.since)).toISOString() };
}

interface Step {
  records: ExternalRecord[];
  /** Where this object's walk goes on; absent when it reached the end of the window. */
  next?: Position;
  /** At the end of the window: where a later re-check of the object starts. */
  resume?: Position;
}

const stampOf = (target: HubSpotTarget, object: SimplePublicObject): number => Date.parse(modstampOf(target, object));

/**
 * An object's walk that reached the end stays at its last modstamp (ids seen there carried), so
 * searching it again later returns only what changed since: the re-check of the cross-object scan.
 */
async function rangeStep(ctx: HubSpotContext, target: HubSpotTarget, state: Extract<Position, { phase: 'range' }>, until: number | null, limit: number): Promise<Step> {
  const modstamp = target.modstamp;
  const filters: Filter[] = [{ propertyName: modstamp, operator: state.inclusive ? FilterOperatorEnum.Gte : FilterOperatorEnum.Gt, value: String(state.lower) }];
  if (until !== null) filters.push({ propertyName: modstamp, operator: FilterOperatorEnum.Lt, value: String(until) });
  const results = await search(ctx, target, filters, modstamp, limit);
  const seen = new Set(state.seen);
  const fresh = results.filter((object) => !(stampOf(target, object) === state.lower && seen.has(object.id)));
  const mapping = mappingOf(ctx, target);
  const records = fresh.map((object) => toExternalRecord(mapping, target, object));
  const last = results.length > 0 ? stampOf(target, results[results.length - 1] as SimplePublicObject) : state.lower;
  const atLast = results.filter((object) => stampOf(target, object) === last).map((object) => object.id);
  const carried = last === state.lower ? state.seen : [];
  const resume: Position = results.length === 0 ? state : { phase: 'range', lower: last, inclusive: true, seen: [...new Set([...carried, ...atLast])] };
  if (results.length < limit) return { records, resume };
  if (atLast.length === results.length) {
    // A whole page shares one modstamp: read that modstamp by id so no tie is cut off.
    return { records, next: { phase: 'ties', stamp: last, afterId: '0', seen: resume.seen } };
  }
  return { records, next: resume };
}

async function tiesStep(ctx: HubSpotContext, target: HubSpotTarget, state: Extract<Position, { phase: 'ties' }>, _until: number | null, limit: number): Promise<Step> {
  const filters: Filter[] = [
    { propertyName: target.modstamp, operator: FilterOperatorEnum.Eq, value: String(state.stamp) },
    { propertyName: 'hs_object_id', operator: FilterOperatorEnum.Gt, value: state.afterId },
  ];
  const results = await search(ctx, target, filters, 'hs_object_id', limit);
  const seen = new Set(state.seen);
  const mapping = mappingOf(ctx, target);
  const records = results.filter((object) => !seen.has(object.id)).map((object) => toExternalRecord(mapping, target, object));
  if (results.length < limit) return { records, next: { phase: 'range', lower: state.stamp, inclusive: false, seen: [] } };
  return { records, next: { ...state, afterId: (results[results.length - 1] as SimplePublicObject).id } };
}

async function search(ctx: HubSpotContext, target: HubSpotTarget, filters: Filter[], sortBy: string, limit: number): Promise<SimplePublicObject[]> {
  const path = target.path;
  const properties = propertiesToRead(mappingOf(ctx, target), target);
  // https://developers.hubspot.com/docs/api/crm/search (POST /crm/v3/objects/{type}/search; 200 per page, 10,000 per query)
  const response = await ctx.runner.run('search', (options) =>
    ctx.apis.objects.searchApi.doSearch(path, { filterGroups: [{ filters }], sorts: [sortBy], properties, limit }, options),
  );
  return response.results;
}

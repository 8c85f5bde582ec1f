import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import { listActivityChanges, readActivitiesByIds } from './activity-reads';
import type { ConnectionSlots } from './connection-slots';
import type { DataverseHttp } from './http';
import { fromRow, isGuid, LOOKUP_ANNOTATIONS, rowVersion, selectColumns, type DataverseRow } from './record-mapper';
import type { DynamicsSpec } from './spec';

export interface ReadContext {
  http: DataverseHttp;
  spec: DynamicsSpec;
  mapping: CompiledMapping;
  lookbackMs: number;
  pageSize: number;
  links: ConnectionSlots;
  /** Field map per activity table (logical name); task's is `mapping`'s activity entry [D39]. */
  activityMappings: ReadonlyMap<string, CompiledMapping>;
}

interface ChangesCursor {
  kind: 'changes';
  objectType: ObjectType;
  /**
   * `links` first (records whose connection links changed, for objects with a connection slot),
   * then `rows` (records whose own row changed). Absent in cursors made before links existed.
   */
  phase?: 'links' | 'rows';
  /** The rows phase's first request, kept while the links phase pages. */
  rowsUrl?: string;
  from?: string;
  until?: string;
  /** `@odata.nextLink`, followed unmodified [D10]. */
  next: string;
  high: string;
  /** Rows returned in the newest second so far: id -> row version. Older seconds cannot repeat. */
  seen: Record<string, string>;
  seenSecond: string;
}

export interface ODataPage {
  value: DataverseRow[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

export function pagePrefer(spec: DynamicsSpec, size: number | undefined, fallback: number): string {
  return `odata.maxpagesize=${Math.max(1, Math.min(size ?? fallback, spec.paging.maxPageSize))}`;
}

/**
 * Incremental read: `modifiedon ge (since - lookback)`, oldest first, paged by the server's
 * keyset cookie. modifiedon is rendered to the second while rows are written faster, so the dedupe
 * key is (id, versionnumber): a row rewritten within the same second is a new version and is
 * returned again; the same version is never returned twice in one scan.
 */
export async function listChanges(context: ReadContext, objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> {
  if (objectType === 'activity') return listActivityChanges(context, request);
  const { http, spec, mapping } = context;
  const prefer = `${pagePrefer(spec, request.limit, context.pageSize)},${LOOKUP_ANNOTATIONS}`;
  let cursor: ChangesCursor;
  if (request.cursor) {
    cursor = decodeCursor<ChangesCursor>('dynamics', request.cursor, 'changes');
  } else {
    const entity = spec.objects[objectType];
    const from = new Date(Date.parse(request.since) - context.lookbackMs).toISOString();
    const until = request.until ? new Date(Date.parse(request.until)).toISOString() : undefined;
    const modifiedOn = spec.systemColumns.modifiedOn;
    const filter = `${modifiedOn} ge ${from}${until ? ` and ${modifiedOn} lt ${until}` : ''}`;
    const rowsUrl = `${entity.entitySet}?$select=${selectColumns(spec, mapping, objectType).join(',')}&$filter=${encodeURIComponent(filter)}&$orderby=${modifiedOn}%20asc`;
    const state = { high: new Date(Date.parse(request.since)).toISOString(), seen: {}, seenSecond: '' };
    cursor = entity.connections
      ? { kind: 'changes', objectType, phase: 'links', next: '', rowsUrl, from, ...(until ? { until } : {}), ...state }
      : { kind: 'changes', objectType, phase: 'rows', next: rowsUrl, ...state };
  }
  if (cursor.phase === 'links') return linksPage(context, objectType, cursor, prefer);

  // Query data with the Web API, paged: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results [D10]
  const page = await http.json<ODataPage>({ method: 'GET', url: cursor.next, headers: { prefer } });
  const enriched = await context.links.enrich(objectType, page.value.map((row) => fromRow(spec, mapping, objectType, row)));

  const records: ExternalRecord[] = [];
  let { high, seen, seenSecond } = cursor;
  page.value.forEach((row, index) => {
    const record = enriched[index] as ExternalRecord;
    const version = rowVersion(spec, row);
    if (record.modifiedAt === seenSecond && seen[record.externalId] === version) return;
    if (record.modifiedAt > seenSecond) {
      seenSecond = record.modifiedAt;
      seen = {};
    }
    if (record.modifiedAt === seenSecond) seen[record.externalId] = version;
    if (record.modifiedAt > high) high = record.modifiedAt;
    records.push(record);
  });
  const next = page['@odata.nextLink'];
  return {
    records,
    highWatermark: high,
    ...(next ? { nextCursor: encodeCursor({ kind: 'changes', objectType, phase: 'rows', next, high, seen, seenSecond } satisfies ChangesCursor) } : {}),
  };
}

/**
 * Association-only changes: a link created or changed since `from` does not touch the record's
 * own row [D38], so the links are polled on their own `modifiedon` and their records read whole
 * (current references, `modifiedAt` including the link stamps). The watermark does not move in
 * this phase: the rows phase that follows moves it, so a crash in between loses nothing.
 */
async function linksPage(context: ReadContext, objectType: ObjectType, cursor: ChangesCursor, prefer: string): Promise<ChangePage> {
  const slot = context.spec.objects[objectType].connections;
  const rowsCursor = (): ChangesCursor => ({ kind: 'changes', objectType, phase: 'rows', next: cursor.rowsUrl ?? '', high: cursor.high, seen: cursor.seen, seenSecond: cursor.seenSecond });
  if (!slot || !cursor.from) return { records: [], highWatermark: cursor.high, nextCursor: encodeCursor(rowsCursor()) };
  const page = await context.links.changedPage(slot, cursor.next || undefined, cursor.from, cursor.until, prefer);
  const ids = [...new Set(page.links.map((link) => link.recordId))];
  const records = await readByIds(context, objectType, ids);
  const next: ChangesCursor = page.next ? { ...cursor, next: page.next } : rowsCursor();
  return { records, highWatermark: cursor.high, nextCursor: encodeCursor(next) };
}

/** Current state of records by id, in `readChunk` filters, with every slot read. */
export async function readByIds(context: ReadContext, objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  if (objectType === 'activity') return readActivitiesByIds(context, externalIds);
  const { http, spec, mapping } = context;
  const entity = spec.objects[objectType];
  const ids = [...new Set(externalIds.filter(isGuid).map((id) => id.toLowerCase()))];
  const records: ExternalRecord[] = [];
  for (let start = 0; start < ids.length; start += spec.batch.readChunk) {
    const filter = ids
      .slice(start, start + spec.batch.readChunk)
      .map((id) => `${entity.primaryId} eq ${id}`)
      .join(' or ');
    let url: string | undefined = `${entity.entitySet}?$select=${selectColumns(spec, mapping, objectType).join(',')}&$filter=${encodeURIComponent(filter)}`;
    while (url) {
      // Query data: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/overview [D10]
      const page: ODataPage = await http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `odata.maxpagesize=${spec.paging.maxPageSize},${LOOKUP_ANNOTATIONS}` } });
      records.push(...page.value.map((row) => fromRow(spec, mapping, objectType, row)));
      url = page['@odata.nextLink'];
    }
  }
  return context.links.enrich(objectType, records);
}

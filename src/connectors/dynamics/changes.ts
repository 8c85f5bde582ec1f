import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import type { DataverseHttp } from './http';
import { fromRow, rowVersion, selectColumns, type DataverseRow } from './record-mapper';
import type { DynamicsSpec } from './spec';

export interface ReadContext {
  http: DataverseHttp;
  spec: DynamicsSpec;
  mapping: CompiledMapping;
  lookbackMs: number;
  pageSize: number;
}

interface ChangesCursor {
  kind: 'changes';
  objectType: ObjectType;
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
  const { http, spec, mapping } = context;
  const prefer = pagePrefer(spec, request.limit, context.pageSize);
  let url: string;
  let state: Pick<ChangesCursor, 'high' | 'seen' | 'seenSecond'>;
  if (request.cursor) {
    const cursor = decodeCursor<ChangesCursor>('dynamics', request.cursor, 'changes');
    url = cursor.next;
    state = cursor;
  } else {
    const entity = spec.objects[objectType];
    const from = new Date(Date.parse(request.since) - context.lookbackMs).toISOString();
    const modifiedOn = spec.systemColumns.modifiedOn;
    const filter = `${modifiedOn} ge ${from}${request.until ? ` and ${modifiedOn} lt ${new Date(Date.parse(request.until)).toISOString()}` : ''}`;
    url = `${entity.entitySet}?$select=${selectColumns(spec, mapping, objectType).join(',')}&$filter=${encodeURIComponent(filter)}&$orderby=${modifiedOn}%20asc`;
    state = { high: new Date(Date.parse(request.since)).toISOString(), seen: {}, seenSecond: '' };
  }

  // Query data with the Web API, paged: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results [D10]
  const page = await http.json<ODataPage>({ method: 'GET', url, headers: { prefer } });

  const records: ExternalRecord[] = [];
  let { high, seen, seenSecond } = state;
  for (const row of page.value) {
    const record = fromRow(spec, mapping, objectType, row);
    const version = rowVersion(spec, row);
    if (record.modifiedAt === seenSecond && seen[record.externalId] === version) continue;
    if (record.modifiedAt > seenSecond) {
      seenSecond = record.modifiedAt;
      seen = {};
    }
    if (record.modifiedAt === seenSecond) seen[record.externalId] = version;
    if (record.modifiedAt > high) high = record.modifiedAt;
    records.push(record);
  }
  const next = page['@odata.nextLink'];
  return {
    records,
    highWatermark: high,
    ...(next ? { nextCursor: encodeCursor({ kind: 'changes', objectType, next, high, seen, seenSecond } satisfies ChangesCursor) } : {}),
  };
}

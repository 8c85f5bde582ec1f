import type { ObjectType } from '../../model/identifiers';
import type { ExternalRecord } from '../connector';
import { pagePrefer, type ODataPage, type ReadContext } from './changes';
import { decodeCursor, encodeCursor } from '../cursor';
import { isActivityExport, readActivityExportPage, startActivityExport } from './activity-reads';
import { fromRow, LOOKUP_ANNOTATIONS, selectColumns } from './record-mapper';

/**
 * The backfill read: plain paged OData [D10]. No `$orderby`, so the server pages by primary key
 * (Dataverse's fastest paging); rows changed during the export are picked up by listChanges.
 * The cursor holds the next request itself, so reading a page again is safe.
 */
interface ExportCursor {
  kind: 'export';
  objectType: ObjectType;
  url: string;
}

export function startExport(context: ReadContext, objectType: ObjectType, since?: string): string {
  if (objectType === 'activity') return startActivityExport(context, since);
  const { spec, mapping } = context;
  const entity = spec.objects[objectType];
  const filter = since ? `&$filter=${encodeURIComponent(`${spec.systemColumns.modifiedOn} ge ${new Date(Date.parse(since)).toISOString()}`)}` : '';
  const url = `${entity.entitySet}?$select=${selectColumns(spec, mapping, objectType).join(',')}${filter}`;
  return encodeCursor({ kind: 'export', objectType, url } satisfies ExportCursor);
}

export async function readExportPage(context: ReadContext, cursor: string): Promise<{ records: ExternalRecord[]; nextCursor?: string | undefined }> {
  if (isActivityExport(cursor)) return readActivityExportPage(context, cursor);
  const { objectType, url } = decodeCursor<ExportCursor>('dynamics', cursor, 'export');
  // Page results: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results [D10]
  const page = await context.http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `${pagePrefer(context.spec, undefined, context.pageSize)},${LOOKUP_ANNOTATIONS}` } });
  const next = page['@odata.nextLink'];
  return {
    records: await context.links.enrich(objectType, page.value.map((row) => fromRow(context.spec, context.mapping, objectType, row))),
    ...(next ? { nextCursor: encodeCursor({ kind: 'export', objectType, url: next } satisfies ExportCursor) } : {}),
  };
}

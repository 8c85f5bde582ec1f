import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import { ACTIVITY_TABLES, activitySelect, fromActivityRow, mappingOf, tableOfLogicalName, toPartyRow, type ActivityTableSpec, type PartyRow } from './activity-tables';
import type { ODataPage, ReadContext } from './changes';
import { pagePrefer } from './changes';
import { isGuid, LOOKUP_ANNOTATIONS, rowVersion, type DataverseRow } from './record-mapper';

/**
 * Activities live in four tables sharing activityid through activitypointer [D39]. The view lacks
 * each table's own columns (crm_syncid among them, and a tenant's custom columns), so rows are
 * read from the tables; the view serves to find an id's table and the newest stamp of all four.
 */

const PARTY_CHUNK = 100;
const PARTY_COLUMNS = 'activitypartyid,_activityid_value,_partyid_value,participationtypemask';

/** The parties of these activities, one `activityparties` query per `PARTY_CHUNK` ids [D34][D41]. */
export async function readParties(context: ReadContext, activityIds: readonly string[]): Promise<Map<string, PartyRow[]>> {
  const parties = new Map<string, PartyRow[]>(activityIds.map((id) => [id.toLowerCase(), []]));
  const ids = [...parties.keys()];
  for (let start = 0; start < ids.length; start += PARTY_CHUNK) {
    const values = ids.slice(start, start + PARTY_CHUNK).map((id) => `'${id}'`).join(',');
    const filter = `Microsoft.Dynamics.CRM.In(PropertyName='activityid',PropertyValues=[${values}])`;
    let url: string | undefined = `activityparties?$select=${PARTY_COLUMNS}&$filter=${encodeURIComponent(filter)}`;
    while (url) {
      const page: ODataPage = await context.http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `odata.maxpagesize=${context.spec.paging.maxPageSize},${LOOKUP_ANNOTATIONS}` } });
      for (const row of page.value) {
        const party = toPartyRow(row);
        parties.get(party.activityId)?.push(party);
      }
      url = page['@odata.nextLink'];
    }
  }
  return parties;
}

/** Rows of one table as records, with their contacts where the table holds contact parties. */
export async function recordsOf(context: ReadContext, table: ActivityTableSpec, rows: readonly DataverseRow[]): Promise<ExternalRecord[]> {
  const mapping = mappingOf(context.activityMappings, table);
  const parties = table.parties && rows.length > 0 ? await readParties(context, rows.map((row) => String(row.activityid))) : undefined;
  return rows.map((row) => fromActivityRow(context.spec, mapping, table, row, parties?.get(String(row.activityid).toLowerCase()) ?? (parties ? [] : undefined)));
}

/**
 * The table of each id, from `activitypointers` (`activitytypecode`), one query per `readChunk`
 * ids: the cost of not knowing an id's kind. Ids of no activity table (or of another activity
 * type, a fax) are absent.
 */
export async function tablesOf(context: ReadContext, externalIds: readonly string[]): Promise<Map<string, ActivityTableSpec>> {
  const ids = [...new Set(externalIds.filter(isGuid).map((id) => id.toLowerCase()))];
  const tables = new Map<string, ActivityTableSpec>();
  for (let start = 0; start < ids.length; start += context.spec.batch.readChunk) {
    const filter = ids.slice(start, start + context.spec.batch.readChunk).map((id) => `activityid eq ${id}`).join(' or ');
    let url: string | undefined = `activitypointers?$select=activityid,activitytypecode&$filter=${encodeURIComponent(filter)}`;
    while (url) {
      const page: ODataPage = await context.http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `odata.maxpagesize=${context.spec.paging.maxPageSize}` } });
      for (const row of page.value) {
        const table = tableOfLogicalName(row.activitytypecode);
        if (table) tables.set(String(row.activityid).toLowerCase(), table);
      }
      url = page['@odata.nextLink'];
    }
  }
  return tables;
}

async function rowsByIds(context: ReadContext, table: ActivityTableSpec, ids: readonly string[]): Promise<DataverseRow[]> {
  const select = activitySelect(context.spec, mappingOf(context.activityMappings, table), table).join(',');
  const rows: DataverseRow[] = [];
  for (let start = 0; start < ids.length; start += context.spec.batch.readChunk) {
    const filter = ids.slice(start, start + context.spec.batch.readChunk).map((id) => `activityid eq ${id}`).join(' or ');
    let url: string | undefined = `${table.entitySet}?$select=${select}&$filter=${encodeURIComponent(filter)}`;
    while (url) {
      const page: ODataPage = await context.http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `odata.maxpagesize=${context.spec.paging.maxPageSize},${LOOKUP_ANNOTATIONS}` } });
      rows.push(...page.value);
      url = page['@odata.nextLink'];
    }
  }
  return rows;
}

export async function readActivitiesByIds(context: ReadContext, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const tables = await tablesOf(context, externalIds);
  const records: ExternalRecord[] = [];
  for (const table of ACTIVITY_TABLES) {
    const ids = [...tables].filter(([, held]) => held === table).map(([id]) => id);
    if (ids.length > 0) records.push(...(await recordsOf(context, table, await rowsByIds(context, table, ids))));
  }
  return records;
}

/**
 * A change scan across the tables, one table after another, each oldest first. Every table is
 * read up to the same bound, fixed when the scan starts: `until`, or the second after the newest
 * `modifiedon` of all four (one `activitypointers` query). A row written while the scan pages has
 * a later stamp, so no table returns it and the next scan does: the watermark is the bound's
 * second, reached only when the last table is done; before that it stays at `since`, the
 * position of the tables not yet scanned.
 */
interface ActivityChangesCursor {
  kind: 'activity-changes';
  table: number;
  from: string;
  /** Exclusive upper bound of every table's scan. */
  bound: string;
  /** The watermark once every table is read to `bound`. */
  done: string;
  since: string;
  next: string;
  high: string;
  seen: Record<string, string>;
  seenSecond: string;
}

function tableUrl(context: ReadContext, table: ActivityTableSpec, from: string, bound: string): string {
  const select = activitySelect(context.spec, mappingOf(context.activityMappings, table), table).join(',');
  const modifiedOn = context.spec.systemColumns.modifiedOn;
  const filter = `${modifiedOn} ge ${from} and ${modifiedOn} lt ${bound}`;
  return `${table.entitySet}?$select=${select}&$filter=${encodeURIComponent(filter)}&$orderby=${modifiedOn}%20asc`;
}

/** The newest `modifiedon` of the four tables, or undefined when none holds a row. */
async function newestStamp(context: ReadContext): Promise<string | undefined> {
  const types = ACTIVITY_TABLES.map((table) => `activitytypecode eq '${table.logicalName}'`).join(' or ');
  const modifiedOn = context.spec.systemColumns.modifiedOn;
  // No maxpagesize: with it, $top is ignored [D10].
  const page = await context.http.json<ODataPage>({ method: 'GET', url: `activitypointers?$select=activityid,${modifiedOn}&$filter=${encodeURIComponent(types)}&$orderby=${modifiedOn}%20desc&$top=1` });
  const stamp = page.value[0]?.[modifiedOn];
  return typeof stamp === 'string' ? stamp : undefined;
}

export async function listActivityChanges(context: ReadContext, request: ChangesRequest): Promise<ChangePage> {
  const since = new Date(Date.parse(request.since)).toISOString();
  let cursor: ActivityChangesCursor;
  if (request.cursor) {
    cursor = decodeCursor<ActivityChangesCursor>('dynamics', request.cursor, 'activity-changes');
  } else {
    const from = new Date(Date.parse(request.since) - context.lookbackMs).toISOString();
    let bound: string;
    let done: string;
    if (request.until) {
      bound = new Date(Date.parse(request.until)).toISOString();
      done = since;
    } else {
      const newest = await newestStamp(context);
      if (!newest) return { records: [], highWatermark: since };
      // Stamps are rendered to the second: the bound takes in the whole newest second.
      const second = Math.floor(Date.parse(newest) / 1000) * 1000;
      bound = new Date(second + 1000).toISOString();
      done = new Date(Math.max(second, Date.parse(since))).toISOString();
    }
    const first = ACTIVITY_TABLES[0] as ActivityTableSpec;
    cursor = { kind: 'activity-changes', table: 0, from, bound, done, since, next: tableUrl(context, first, from, bound), high: since, seen: {}, seenSecond: '' };
  }
  const table = ACTIVITY_TABLES[cursor.table] as ActivityTableSpec;
  const prefer = `${pagePrefer(context.spec, request.limit, context.pageSize)},${LOOKUP_ANNOTATIONS}`;
  const page = await context.http.json<ODataPage>({ method: 'GET', url: cursor.next, headers: { prefer } });
  const enriched = await recordsOf(context, table, page.value);

  const records: ExternalRecord[] = [];
  let { high, seen, seenSecond } = cursor;
  page.value.forEach((row, index) => {
    const record = enriched[index] as ExternalRecord;
    const version = rowVersion(context.spec, row);
    if (record.modifiedAt === seenSecond && seen[record.externalId] === version) return;
    if (record.modifiedAt > seenSecond) {
      seenSecond = record.modifiedAt;
      seen = {};
    }
    if (record.modifiedAt === seenSecond) seen[record.externalId] = version;
    if (record.modifiedAt > high) high = record.modifiedAt;
    records.push(record);
  });

  const last = cursor.table === ACTIVITY_TABLES.length - 1;
  const next = page['@odata.nextLink'];
  if (next) {
    // Earlier tables are read to the bound, later ones not at all: only the last table's own progress may show.
    return { records, highWatermark: last ? high : cursor.since, nextCursor: encodeCursor({ ...cursor, next, high, seen, seenSecond } satisfies ActivityChangesCursor) };
  }
  if (last) return { records, highWatermark: high > cursor.done ? high : cursor.done };
  const following = ACTIVITY_TABLES[cursor.table + 1] as ActivityTableSpec;
  const moved: ActivityChangesCursor = { ...cursor, table: cursor.table + 1, next: tableUrl(context, following, cursor.from, cursor.bound), high, seen: {}, seenSecond: '' };
  return { records, highWatermark: cursor.since, nextCursor: encodeCursor(moved) };
}

/** The backfill across tables: each table paged by primary key in turn [D10]. */
interface ActivityExportCursor {
  kind: 'activity-export';
  table: number;
  url: string;
  filter: string;
}

function exportUrl(context: ReadContext, table: ActivityTableSpec, filter: string): string {
  return `${table.entitySet}?$select=${activitySelect(context.spec, mappingOf(context.activityMappings, table), table).join(',')}${filter}`;
}

export function startActivityExport(context: ReadContext, since?: string): string {
  const filter = since ? `&$filter=${encodeURIComponent(`${context.spec.systemColumns.modifiedOn} ge ${new Date(Date.parse(since)).toISOString()}`)}` : '';
  return encodeCursor({ kind: 'activity-export', table: 0, url: exportUrl(context, ACTIVITY_TABLES[0] as ActivityTableSpec, filter), filter } satisfies ActivityExportCursor);
}

export function isActivityExport(cursor: string): boolean {
  try {
    decodeCursor<ActivityExportCursor>('dynamics', cursor, 'activity-export');
    return true;
  } catch {
    return false;
  }
}

export async function readActivityExportPage(context: ReadContext, encoded: string): Promise<{ records: ExternalRecord[]; nextCursor?: string | undefined }> {
  const cursor = decodeCursor<ActivityExportCursor>('dynamics', encoded, 'activity-export');
  const table = ACTIVITY_TABLES[cursor.table] as ActivityTableSpec;
  const page = await context.http.json<ODataPage>({ method: 'GET', url: cursor.url, headers: { prefer: `${pagePrefer(context.spec, undefined, context.pageSize)},${LOOKUP_ANNOTATIONS}` } });
  const records = await recordsOf(context, table, page.value);
  const next = page['@odata.nextLink'];
  if (next) return { records, nextCursor: encodeCursor({ ...cursor, url: next } satisfies ActivityExportCursor) };
  const following = ACTIVITY_TABLES[cursor.table + 1];
  if (!following) return { records };
  return { records, nextCursor: encodeCursor({ ...cursor, table: cursor.table + 1, url: exportUrl(context, following, cursor.filter) } satisfies ActivityExportCursor) };
}

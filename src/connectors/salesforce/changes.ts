import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from './cursor';
import { fromSalesforce, nativeObjectName, selectFields, soqlDateTime, toIsoInstant, type SalesforceRecord } from './record-mapper';
import type { SalesforceSession } from './session';
import { salesforceSpec } from './spec';

/**
 * Keyset paging over (SystemModstamp, Id). Each page is a fresh SOQL from the last modstamp seen,
 * excluding the ids already returned at exactly that modstamp, so a record edited while the scan
 * pages moves behind the scan and is returned again with its new modstamp, and no (id, modstamp)
 * is returned twice. A query locator is not the cursor: locators expire (15 min) and a retried
 * page activity may run much later (BEHAVIOR.md).
 */
interface ChangeCursor {
  kind: 'changes';
  objectType: ObjectType;
  /** Inclusive lower bound of the next page. */
  from: string;
  /** Ids already returned whose modstamp equals `from`. */
  seenAtFrom: string[];
  until?: string | undefined;
  highWatermark: string;
}

function isChangeCursor(value: unknown): value is ChangeCursor {
  return typeof value === 'object' && value !== null && (value as ChangeCursor).kind === 'changes' && Array.isArray((value as ChangeCursor).seenAtFrom);
}

export interface KeysetPage {
  rows: SalesforceRecord[];
  from: string;
  seenAtFrom: string[];
  /** The query ran out of rows: the scan is complete. */
  exhausted: boolean;
}

/**
 * One keyset page of `SELECT … WHERE <filter> AND SystemModstamp >= from`. A page may need several
 * SOQL batches (the server may return fewer rows than asked [S18]), followed via queryMore.
 */
export async function keysetPage(
  session: SalesforceSession,
  options: { objectName: string; fields: readonly string[]; filter?: string; from: string; seenAtFrom: readonly string[]; until?: string | undefined; limit: number; queryAll?: boolean },
): Promise<KeysetPage> {
  const wanted = options.limit + options.seenAtFrom.length;
  const where = [`SystemModstamp >= ${soqlDateTime(options.from)}`];
  if (options.until) where.push(`SystemModstamp < ${soqlDateTime(options.until)}`);
  if (options.filter) where.push(options.filter);
  const soql = `SELECT ${options.fields.join(', ')} FROM ${options.objectName} WHERE ${where.join(' AND ')} ORDER BY SystemModstamp ASC, Id ASC LIMIT ${wanted}`;
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm (queryAll: resources_queryall.htm)
  let result = await session.call(async (conn) => await conn.query<SalesforceRecord>(soql, { autoFetch: false, scanAll: options.queryAll ?? false }));
  const rows = [...result.records];
  while (!result.done && result.nextRecordsUrl) {
    const locator = result.nextRecordsUrl;
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm (nextRecordsUrl)
    result = await session.call(async (conn) => await conn.queryMore<SalesforceRecord>(locator));
    rows.push(...result.records);
  }
  const seen = new Set(options.seenAtFrom);
  const fresh = rows.filter((row) => !(toIsoInstant(row.SystemModstamp) === options.from && seen.has(String(row.Id))));
  const last = rows.at(-1);
  let from = options.from;
  let seenAtFrom = [...options.seenAtFrom];
  if (last) {
    const lastStamp = toIsoInstant(last.SystemModstamp);
    if (lastStamp !== from) seenAtFrom = [];
    from = lastStamp;
    seenAtFrom.push(...fresh.filter((row) => toIsoInstant(row.SystemModstamp) === from).map((row) => String(row.Id)));
  }
  return { rows: fresh, from, seenAtFrom, exhausted: rows.length < wanted };
}

export async function listChanges(
  session: SalesforceSession,
  mapping: CompiledMapping,
  objectType: ObjectType,
  request: ChangesRequest,
  lookbackMs: number,
): Promise<ChangePage> {
  const cursor: ChangeCursor = request.cursor
    ? decodeCursor(request.cursor, isChangeCursor)
    : {
        kind: 'changes',
        objectType,
        from: new Date(Date.parse(request.since) - lookbackMs).toISOString(),
        seenAtFrom: [],
        until: request.until,
        highWatermark: new Date(Date.parse(request.since)).toISOString(),
      };
  const limit = Math.min(Math.max(1, request.limit ?? salesforceSpec.batch.defaultQueryPage), salesforceSpec.batch.maxQueryPage);
  const page = await keysetPage(session, {
    objectName: nativeObjectName(mapping, objectType),
    fields: selectFields(mapping, objectType),
    from: cursor.from,
    seenAtFrom: cursor.seenAtFrom,
    until: cursor.until,
    limit,
  });
  const records: ExternalRecord[] = page.rows.map((row) => fromSalesforce(mapping, objectType, row));
  const highWatermark = records.reduce((high, record) => (record.modifiedAt > high ? record.modifiedAt : high), cursor.highWatermark);
  const next: ChangeCursor = { ...cursor, from: page.from, seenAtFrom: page.seenAtFrom, highWatermark };
  return { records, highWatermark, nextCursor: page.exhausted ? undefined : encodeCursor(next) };
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requestVersion, type SalesforceContext } from './context';
import { SalesforceApiError } from './errors';
import { toApiRecord, type StoredRecord } from './records';
import { compileSoql, runQuery } from './soql-exec';

const DEFAULT_BATCH = 2000;
const MIN_BATCH = 200;
/** Open cursors kept per org; the oldest are closed first, as Salesforce closes old cursors. */
const MAX_CURSORS = 100;

interface Cursor {
  rows: StoredRecord[];
  fields: string[];
  batchSize: number;
}

/** `Sforce-Query-Options: batchSize=N`: 200..2000, default 2000; the server may return fewer [S18]. */
export function batchSizeOf(request: FastifyRequest): number {
  const header = request.headers['sforce-query-options'];
  const match = /batchSize\s*=\s*(\d+)/i.exec(Array.isArray(header) ? header.join(',') : (header ?? ''));
  if (!match) return DEFAULT_BATCH;
  return Math.min(DEFAULT_BATCH, Math.max(MIN_BATCH, Number(match[1])));
}

/** REST query, queryAll and `nextRecordsUrl` paging [S18][S21]. */
export function registerQueryRoutes(app: FastifyInstance, context: SalesforceContext): void {
  const cursors = new Map<string, Cursor>();
  let nextCursor = 1;

  const page = (request: FastifyRequest, cursorId: string, cursor: Cursor, offset: number) => {
    const version = requestVersion(request);
    const end = Math.min(cursor.rows.length, offset + cursor.batchSize);
    const done = end >= cursor.rows.length;
    const records = cursor.rows.slice(offset, end).map((row) => toApiRecord(row, cursor.fields, version));
    if (done) cursors.delete(cursorId);
    return {
      totalSize: cursor.rows.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${cursorId}-${end}` }),
      records,
    };
  };

  const run = (includeDeleted: boolean) => async (request: FastifyRequest<{ Querystring: { q?: string } }>) => {
    const soql = request.query.q;
    if (!soql) throw new SalesforceApiError(400, 'MALFORMED_QUERY', "A query string has to be specified");
    const query = compileSoql(soql, context.store);
    // Per object, so tests can bound how many queries a connector spends on a page (role lookups).
    context.counters.countRequest(`SOQL ${query.type}`);
    const rows = runQuery(query, context.store, includeDeleted);
    if (query.count) return { totalSize: rows.length, done: true, records: [] };
    // Real locators are `01g` + an id-like string, followed by `-offset`.
    const cursorId = `01g5g${String(nextCursor++).padStart(10, '0')}AAA`;
    const cursor: Cursor = { rows, fields: query.fields, batchSize: batchSizeOf(request) };
    cursors.set(cursorId, cursor);
    if (cursors.size > MAX_CURSORS) cursors.delete(cursors.keys().next().value as string);
    return page(request, cursorId, cursor, 0);
  };

  app.get('/services/data/:version/query', run(false));
  app.get('/services/data/:version/query/', run(false));
  app.get('/services/data/:version/queryAll', run(true));
  app.get('/services/data/:version/queryAll/', run(true));

  const more = async (request: FastifyRequest<{ Params: { locator: string } }>) => {
    const match = /^(.+)-(\d+)$/.exec(request.params.locator);
    const cursor = match ? cursors.get(match[1] as string) : undefined;
    if (!match || !cursor) throw new SalesforceApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    return page(request, match[1] as string, cursor, Number(match[2]));
  };
  app.get('/services/data/:version/query/:locator', more);
  app.get('/services/data/:version/queryAll/:locator', more);
}

import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { apiOrigin, requestVersion, type SalesforceContext } from './context';
import { parseSfDateTime, toIsoDateTime, toSfDateTime } from './dates';
import type { IdGenerator } from './ids';
import { readField, readFieldMs, type StoredRecord } from './records';
import { compileSoql, runQuery, type BoundQuery } from './soql-exec';
import { csvFormat, DELIMITERS, jobError, nextTick, TERMINAL, type CsvFormat, type JobState } from './bulk2-common';
import type { ChangeOrigin } from './store';

interface QueryJob extends CsvFormat {
  id: string;
  operation: 'query' | 'queryAll';
  query: BoundQuery;
  state: JobState;
  createdMs: number;
  modstampMs: number;
  apiVersion: string;
  origin: ChangeOrigin;
  rows: string[][];
  processingMs: number;
}

export interface BulkQueryOptions {
  processingDelayMs: number;
  /** Rows per results page when the client gives no maxRecords. */
  defaultPageSize: number;
}

/** Bulk API 2.0 query jobs with locator paging [S31][S32]. */
export function registerBulkQueryRoutes(app: FastifyInstance, context: SalesforceContext, ids: IdGenerator, options: BulkQueryOptions): void {
  const jobs = new Map<string, QueryJob>();
  const BASE = '/services/data/:version/jobs/query';

  const info = (job: QueryJob) => ({
    id: job.id,
    operation: job.operation,
    object: job.query.type,
    createdById: job.origin.userId,
    createdDate: toSfDateTime(job.createdMs),
    systemModstamp: toSfDateTime(job.modstampMs),
    state: job.state,
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: Number(job.apiVersion),
    jobType: 'V2Query',
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
    numberRecordsProcessed: job.rows.length,
    retries: 0,
    totalProcessingTime: job.processingMs,
  });

  const find = (id: string): QueryJob => {
    const job = jobs.get(id);
    if (!job) throw jobError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  };

  app.post<{ Body: Record<string, unknown> | undefined }>(BASE, async (request) => {
    const body = request.body ?? {};
    const operation = body.operation === 'queryAll' ? 'queryAll' : body.operation === 'query' ? 'query' : undefined;
    if (!operation) throw jobError(400, 'INVALIDJOB', `Invalid operation: ${String(body.operation)}`);
    if (typeof body.query !== 'string') throw jobError(400, 'INVALIDJOB', 'query is required');
    const query = compileSoql(body.query, context.store);
    if (query.count) throw jobError(400, 'API_ERROR', 'Aggregate queries are not supported by Bulk API 2.0');
    const now = Date.now();
    const job: QueryJob = {
      id: ids.generate('750'),
      operation,
      query,
      ...csvFormat(body),
      state: 'UploadComplete',
      createdMs: now,
      modstampMs: now,
      apiVersion: requestVersion(request),
      origin: apiOrigin(context, request, 'bulk'),
      rows: [],
      processingMs: 0,
    };
    jobs.set(job.id, job);
    void process(job);
    return info(job);
  });

  app.get(BASE, async () => ({ done: true, records: [...jobs.values()].map(info), nextRecordsUrl: null }));
  app.get<{ Params: { id: string } }>(`${BASE}/:id`, async (request) => info(find(request.params.id)));

  app.patch<{ Params: { id: string }; Body: { state?: string } | undefined }>(`${BASE}/:id`, async (request) => {
    const job = find(request.params.id);
    if (request.body?.state !== 'Aborted') throw jobError(400, 'INVALIDJOBSTATE', `Invalid state: ${String(request.body?.state)}`);
    if (TERMINAL.includes(job.state)) throw jobError(409, 'INVALIDJOBSTATE', `Job is already ${job.state}`);
    job.state = 'Aborted';
    return info(job);
  });

  app.delete<{ Params: { id: string } }>(`${BASE}/:id`, async (request, reply) => {
    const job = find(request.params.id);
    if (job.state === 'InProgress') throw jobError(409, 'INVALIDJOBSTATE', `Job can't be deleted in state ${job.state}`);
    jobs.delete(job.id);
    return reply.code(204).send();
  });

  for (const suffix of ['', '/']) {
    app.get<{ Params: { id: string }; Querystring: { locator?: string; maxRecords?: string } }>(`${BASE}/:id/results${suffix}`, async (request, reply) => {
      const job = find(request.params.id);
      if (requestVersion(request) !== job.apiVersion) {
        throw jobError(409, 'API_ERROR', `The job was created with API version ${job.apiVersion}; request its results with the same version`);
      }
      if (job.state !== 'JobComplete') throw jobError(409, 'INVALIDJOBSTATE', `Job is not complete; state is ${job.state}`);
      const offset = decodeLocator(request.query.locator);
      if (offset === undefined || offset > job.rows.length) throw jobError(400, 'INVALID_LOCATOR', 'Invalid locator');
      const max = request.query.maxRecords ? Number(request.query.maxRecords) : options.defaultPageSize;
      if (!Number.isInteger(max) || max < 1) throw jobError(400, 'INVALIDJOB', 'maxRecords must be a positive integer');
      const end = Math.min(job.rows.length, offset + max);
      const csv = stringify(job.rows.slice(offset, end), {
        header: true,
        columns: job.query.fields,
        delimiter: DELIMITERS[job.columnDelimiter],
        record_delimiter: job.lineEnding === 'CRLF' ? 'windows' : 'unix',
        quoted: true,
        quoted_empty: false,
      });
      reply.header('content-type', 'text/csv');
      reply.header('sforce-numberofrecords', String(end - offset));
      // The last page says so with the literal string "null" [S31].
      reply.header('sforce-locator', end < job.rows.length ? Buffer.from(String(end)).toString('base64url') : 'null');
      return reply.send(csv);
    });
  }

  async function process(job: QueryJob): Promise<void> {
    await nextTick(options.processingDelayMs);
    if (job.state !== 'UploadComplete') return;
    job.state = 'InProgress';
    const started = Date.now();
    await nextTick(0);
    if (job.state !== 'InProgress') return;
    const records = runQuery(job.query, context.store, job.operation === 'queryAll');
    const def = context.store.def(job.query.type);
    job.rows = records.map((record) => job.query.fields.map((field) => csvValue(record, field, def.fields.get(field)?.type === 'datetime')));
    job.processingMs = Date.now() - started;
    job.state = 'JobComplete';
    job.modstampMs = Date.now();
  }
}

/** Real locators are base64 of the row offset (e.g. "MTAwMDA" = 10000). */
function decodeLocator(locator: string | undefined): number | undefined {
  if (!locator) return 0;
  const offset = Number(Buffer.from(locator, 'base64url').toString('utf8'));
  return Number.isInteger(offset) && offset >= 0 ? offset : undefined;
}

/** Bulk CSV renders datetimes with `Z` and nulls as empty cells. */
function csvValue(record: StoredRecord, field: string, datetime: boolean): string {
  const ms = readFieldMs(record, field);
  if (ms !== undefined) return toIsoDateTime(ms);
  const value = readField(record, field);
  const stored = datetime && typeof value === 'string' ? parseSfDateTime(value) : undefined;
  if (stored !== undefined) return toIsoDateTime(stored);
  return value === null ? '' : String(value);
}

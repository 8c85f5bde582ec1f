import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { apiOrigin, requestVersion, type SalesforceContext } from './context';
import { toSfDateTime } from './dates';
import { RecordFailure, show } from './errors';
import type { IdGenerator } from './ids';
import { resolveFieldName, resolveTypeName, type SObjectType } from './schema';
import { ChangeBatch, type ChangeOrigin } from './store';
import { planUpsert } from './upsert';
import { normaliseInput } from './write-input';
import { csvFormat, DELIMITERS, jobError, nextTick, TERMINAL, type CsvFormat, type JobState } from './bulk2-common';

const OPERATIONS = ['insert', 'update', 'upsert', 'delete', 'hardDelete'] as const;
type Operation = (typeof OPERATIONS)[number];
/** Records per transaction while processing, as Salesforce chunks bulk data into 200-record batches. */
const CHUNK = 200;

type Row = Record<string, string>;

interface IngestJob extends CsvFormat {
  id: string;
  object: SObjectType;
  operation: Operation;
  externalIdFieldName?: string;
  state: JobState;
  createdMs: number;
  modstampMs: number;
  apiVersion: string;
  origin: ChangeOrigin;
  columns: string[];
  uploads: string[];
  successful: Row[];
  failed: Row[];
  unprocessed: Row[];
  processed: number;
  errorMessage?: string;
  processingMs: number;
}

export interface BulkOptions {
  /** Delay before a closed job starts, so clients observe UploadComplete and InProgress. */
  processingDelayMs: number;
}

/** Bulk API 2.0 ingest jobs [S25][S26][S27][S28]. */
export function registerIngestRoutes(app: FastifyInstance, context: SalesforceContext, ids: IdGenerator, options: BulkOptions): void {
  const jobs = new Map<string, IngestJob>();
  const BASE = '/services/data/:version/jobs/ingest';

  const info = (job: IngestJob) => ({
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.origin.userId,
    createdDate: toSfDateTime(job.createdMs),
    systemModstamp: toSfDateTime(job.modstampMs),
    state: job.state,
    ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: Number(job.apiVersion),
    jobType: 'V2Ingest',
    contentUrl: `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches`,
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
    numberRecordsProcessed: job.processed,
    numberRecordsFailed: job.failed.length,
    retries: 0,
    totalProcessingTime: job.processingMs,
    apiActiveProcessingTime: job.processingMs,
    apexProcessingTime: 0,
    ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
  });

  const find = (id: string): IngestJob => {
    const job = jobs.get(id);
    if (!job) throw jobError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  };

  const setState = (job: IngestJob, state: JobState) => {
    job.state = state;
    job.modstampMs = Date.now();
  };

  app.post<{ Body: Record<string, unknown> | undefined }>(BASE, async (request) => {
    const body = request.body ?? {};
    const object = typeof body.object === 'string' ? resolveTypeName(body.object) : undefined;
    if (!object) throw jobError(400, 'INVALIDENTITY', `Entity '${show(body.object)}' is not supported by the Bulk API.`);
    const operation = OPERATIONS.find((op) => op === body.operation);
    if (!operation) throw jobError(400, 'INVALIDJOB', `Invalid operation: ${show(body.operation)}`);
    let externalIdFieldName: string | undefined;
    if (operation === 'upsert') {
      if (typeof body.externalIdFieldName !== 'string' || body.externalIdFieldName === '') {
        throw jobError(400, 'INVALIDJOB', `External ID was blank for ${object}. An External ID must be specified for upsert.`);
      }
      externalIdFieldName = context.store.externalIdField(object, body.externalIdFieldName);
      if (!externalIdFieldName) throw jobError(400, 'INVALIDJOB', `The External ID field '${body.externalIdFieldName}' on object '${object}' is invalid.`);
    }
    if (body.contentType !== undefined && body.contentType !== 'CSV') throw jobError(400, 'INVALIDJOB', `Invalid content type: ${show(body.contentType)}`);
    const now = Date.now();
    const job: IngestJob = {
      id: ids.generate('750'),
      object,
      operation,
      ...(externalIdFieldName ? { externalIdFieldName } : {}),
      ...csvFormat(body),
      state: 'Open',
      createdMs: now,
      modstampMs: now,
      apiVersion: requestVersion(request),
      origin: apiOrigin(context, request, 'bulk'),
      columns: [],
      uploads: [],
      successful: [],
      failed: [],
      unprocessed: [],
      processed: 0,
      processingMs: 0,
    };
    jobs.set(job.id, job);
    return info(job);
  });

  app.get(BASE, async () => ({ done: true, records: [...jobs.values()].map(info), nextRecordsUrl: null }));

  app.put<{ Params: { id: string }; Body: string | undefined }>(`${BASE}/:id/batches`, async (request, reply) => {
    const job = find(request.params.id);
    if (job.state !== 'Open') throw jobError(409, 'INVALIDJOBSTATE', `Job is not in Open state; state is ${job.state}`);
    job.uploads.push(typeof request.body === 'string' ? request.body : '');
    return reply.code(201).send();
  });

  app.patch<{ Params: { id: string }; Body: { state?: string } | undefined }>(`${BASE}/:id`, async (request) => {
    const job = find(request.params.id);
    const wanted = request.body?.state;
    if (wanted === 'UploadComplete') {
      if (job.state !== 'Open') throw jobError(409, 'INVALIDJOBSTATE', `Job is not in Open state; state is ${job.state}`);
      setState(job, 'UploadComplete');
      void process(job);
    } else if (wanted === 'Aborted') {
      if (TERMINAL.includes(job.state)) throw jobError(409, 'INVALIDJOBSTATE', `Job is already ${job.state}`);
      setState(job, 'Aborted');
    } else {
      throw jobError(400, 'INVALIDJOBSTATE', `Invalid state: ${show(wanted)}`);
    }
    return info(job);
  });

  app.get<{ Params: { id: string } }>(`${BASE}/:id`, async (request) => info(find(request.params.id)));

  app.delete<{ Params: { id: string } }>(`${BASE}/:id`, async (request, reply) => {
    const job = find(request.params.id);
    if (job.state === 'Open' || job.state === 'InProgress') throw jobError(409, 'INVALIDJOBSTATE', `Job can't be deleted in state ${job.state}`);
    jobs.delete(job.id);
    return reply.code(204).send();
  });

  const results = (pick: (job: IngestJob) => { prefix: string[]; rows: Row[] }) =>
    async (request: { params: { id: string } }, reply: { header(name: string, value: string): unknown; send(payload: string): unknown }) => {
      const job = find(request.params.id);
      const { prefix, rows } = pick(job);
      reply.header('content-type', 'text/csv');
      return reply.send(toCsv(job, [...prefix, ...job.columns], rows));
    };
  for (const suffix of ['', '/']) {
    app.get<{ Params: { id: string } }>(`${BASE}/:id/successfulResults${suffix}`, results((job) => ({ prefix: ['sf__Id', 'sf__Created'], rows: job.successful })));
    app.get<{ Params: { id: string } }>(`${BASE}/:id/failedResults${suffix}`, results((job) => ({ prefix: ['sf__Id', 'sf__Error'], rows: job.failed })));
    app.get<{ Params: { id: string } }>(`${BASE}/:id/unprocessedrecords${suffix}`, results((job) => ({ prefix: [], rows: job.unprocessed })));
  }

  async function process(job: IngestJob): Promise<void> {
    await nextTick(options.processingDelayMs);
    if (job.state !== 'UploadComplete') return;
    setState(job, 'InProgress');
    const started = Date.now();
    let rows: Row[];
    try {
      rows = parseUploads(job);
      checkColumns(job);
    } catch (error) {
      job.errorMessage = error instanceof Error ? error.message : String(error);
      setState(job, 'Failed');
      return;
    }
    for (let at = 0; at < rows.length; at += CHUNK) {
      await nextTick(options.processingDelayMs > 0 ? 1 : 0);
      // An abort mid-way leaves the rest unprocessed.
      if (currentState(job) !== 'InProgress') {
        job.unprocessed.push(...rows.slice(at));
        break;
      }
      const batch = new ChangeBatch(job.origin);
      try {
        for (const row of rows.slice(at, at + CHUNK)) processRow(job, row, batch);
      } finally {
        context.store.commit(batch);
      }
    }
    job.processingMs = Date.now() - started;
    if (currentState(job) === 'InProgress') setState(job, 'JobComplete');
  }

  function processRow(job: IngestJob, row: Row, batch: ChangeBatch): void {
    const { store } = context;
    const input: Record<string, unknown> = {};
    let id: string | undefined;
    for (const [column, raw] of Object.entries(row)) {
      if (column.toLowerCase() === 'id') {
        id = raw || undefined;
        continue;
      }
      // Empty means "leave as is"; #N/A sets the field to null (jsforce writes nulls as #N/A).
      if (raw === '') continue;
      input[column] = raw === '#N/A' ? null : raw;
    }
    job.processed += 1;
    try {
      switch (job.operation) {
        case 'insert': {
          const record = store.create(job.object, input, batch);
          job.successful.push({ sf__Id: record.id, sf__Created: 'true', ...row });
          break;
        }
        case 'update': {
          if (!id) throw new RecordFailure({ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] });
          const record = store.update(job.object, id, input, batch);
          job.successful.push({ sf__Id: record.id, sf__Created: 'false', ...row });
          break;
        }
        case 'upsert': {
          const field = job.externalIdFieldName as string;
          const key = Object.keys(input).find((name) => name.toLowerCase() === field.toLowerCase());
          const value = field === 'Id' ? id : key !== undefined ? input[key] : undefined;
          if (typeof value !== 'string' || value === '') {
            throw new RecordFailure({ statusCode: 'MISSING_ARGUMENT', message: `${field} not specified`, fields: [field] });
          }
          if (key !== undefined) delete input[key];
          const { record, created } = planUpsert(store, job.object, field, value, normaliseInput(store.def(job.object), input)).apply(batch);
          job.successful.push({ sf__Id: record.id, sf__Created: String(created), ...row });
          break;
        }
        case 'delete':
        case 'hardDelete': {
          if (!id) throw new RecordFailure({ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified', fields: [] });
          if (job.operation === 'delete') store.delete(job.object, id, batch);
          else store.purge(job.object, id, batch);
          job.successful.push({ sf__Id: id, sf__Created: 'false', ...row });
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof RecordFailure)) throw error;
      const { statusCode, message, fields } = error.error;
      job.failed.push({ sf__Id: id ?? '', sf__Error: `${statusCode}:${message}:${fields.join(',')} --`, ...row });
    }
  }

  function parseUploads(job: IngestJob): Row[] {
    const rows: Row[] = [];
    for (const upload of job.uploads) {
      const parsed = parse<Row>(upload, {
        columns: (header: string[]) => {
          for (const column of header) if (!job.columns.includes(column)) job.columns.push(column);
          return header;
        },
        delimiter: DELIMITERS[job.columnDelimiter],
        skip_empty_lines: true,
        bom: true,
      });
      rows.push(...parsed);
    }
    return rows;
  }

  /** A column that is not a field fails the whole job, as at Salesforce. */
  function checkColumns(job: IngestJob): void {
    const def = context.store.def(job.object);
    for (const column of job.columns) {
      if (!resolveFieldName(def, column) && !column.endsWith('__c')) throw new Error(`InvalidBatch : Field name not found : ${column}`);
    }
  }
}

/** Reads the state afresh: it changes under an await (an abort), which narrowing cannot see. */
function currentState(job: { state: JobState }): JobState {
  return job.state;
}

function toCsv(job: CsvFormat, columns: string[], rows: Row[]): string {
  return stringify(rows, {
    header: true,
    columns,
    delimiter: DELIMITERS[job.columnDelimiter],
    record_delimiter: job.lineEnding === 'CRLF' ? 'windows' : 'unix',
    quoted: true,
    quoted_empty: false,
  });
}

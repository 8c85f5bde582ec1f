import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'csv-stringify/sync';
import type { Connection } from 'jsforce';
import { QueryJobV2 } from 'jsforce/lib/api/bulk2.js';
import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { ExternalRecord, UpsertInput, UpsertOutcome } from '../connector';
import { ConnectorError } from '../errors';
import { decodeCursor, encodeCursor } from './cursor';
import { bulkRowError, recordError } from './errors';
import { canonicalFieldErrors, failed, prepareInputs } from './outcomes';
import { fromCsvRow, fromSalesforce, nativeObjectName, selectFields, soqlDateTime, type SalesforceRecord } from './record-mapper';
import { upsertViaCollections } from './records';
import type { SalesforceSession } from './session';
import { SYNC_ID_FIELD } from './spec';

export interface BulkSettings {
  pollIntervalMs: number;
  pollTimeoutMs: number;
  exportPageSize: number;
}

/** Bulk CSV cells arrive as strings; anything else is treated as empty. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

/** Polls a job's state through the budget until it is terminal; past the timeout the step is retried later. */
async function waitForJob(session: SalesforceSession, check: (conn: Connection) => Promise<{ state: string; errorMessage?: string }>, jobId: string, settings: BulkSettings): Promise<void> {
  const deadline = Date.now() + settings.pollTimeoutMs;
  for (;;) {
    const info = await session.call(check);
    const state = info.state as JobState;
    if (state === 'JobComplete') return;
    if (state === 'Failed' || state === 'Aborted') {
      // A failed job is the whole call failing (e.g. "InvalidBatch : Field name not found"): not retryable as it is.
      throw new ConnectorError({ provider: 'salesforce', errorClass: 'validation', vendorCode: `JOB_${state.toUpperCase()}`, message: `Bulk job ${jobId} ${state}: ${info.errorMessage ?? 'no message'}` });
    }
    if (Date.now() >= deadline) {
      throw new ConnectorError({ provider: 'salesforce', errorClass: 'transient', message: `Bulk job ${jobId} still ${state} after ${settings.pollTimeoutMs} ms` });
    }
    await sleep(settings.pollIntervalMs);
  }
}

/**
 * Bulk API 2.0 ingest upsert by the sync id [S25][S26]: create, upload one CSV, close, poll, then
 * match successful/failed/unprocessed rows back to inputs by their sync id column (results come
 * back in no promised order). A failed row carries the vendor's `sf__Error` as its message.
 */
export async function bulkUpsert(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType, inputs: readonly UpsertInput[], settings: BulkSettings): Promise<UpsertOutcome[]> {
  const objectName = nativeObjectName(mapping, objectType);
  const { prepared, outcomes } = prepareInputs(mapping, objectType, inputs);
  // Linked records are updated by Id (see records.ts); Bulk upsert only keys on the sync id.
  const linked = prepared.filter((item) => item.input.externalId);
  const rows = prepared.filter((item) => !item.input.externalId);
  if (linked.length > 0) {
    const linkedOutcomes = await upsertViaCollections(session, mapping, objectType, linked.map((item) => item.input));
    linked.forEach((item, position) => (outcomes[item.index] = linkedOutcomes[position]));
  }
  if (rows.length > 0) {
    const cell = (value: unknown): string => (value === null ? '#N/A' : value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value));
    const columns = [...new Set(rows.flatMap((item) => Object.keys(item.body)))];
    // CSV has no null: an empty cell means "leave as is", `#N/A` clears the field.
    const csv = stringify(
      rows.map((item) => columns.map((column) => cell(item.body[column]))),
      { header: true, columns, record_delimiter: '\n' },
    );
    const job = session.conn.bulk2.createJob({ object: objectName, operation: 'upsert', externalIdFieldName: SYNC_ID_FIELD, lineEnding: 'LF' });
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/create_job.htm
    await session.call(() => job.open());
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/upload_job_data.htm
    await session.call(() => job.uploadData(csv));
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/close_job.htm
    await session.call(() => job.close());
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_info.htm
    await waitForJob(session, () => job.check(), job.id ?? '', settings);
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm (and failed/unprocessed)
    const successful = (await session.call(() => job.getSuccessfulResults())) as unknown as SalesforceRecord[];
    const failedRows = (await session.call(() => job.getFailedResults())) as unknown as SalesforceRecord[];
    const unprocessed = (await session.call(() => job.getUnprocessedRecords())) as unknown as SalesforceRecord[];
    const bySyncId = new Map<string, (typeof rows)[number][]>();
    for (const item of rows) bySyncId.set(item.input.syncId, [...(bySyncId.get(item.input.syncId) ?? []), item]);
    const settle = (row: SalesforceRecord, outcome: (item: (typeof rows)[number]) => UpsertOutcome): void => {
      for (const item of bySyncId.get(text(row[SYNC_ID_FIELD])) ?? []) outcomes[item.index] = outcome(item);
    };
    for (const row of successful) {
      settle(row, (item) => ({ syncId: item.input.syncId, status: row.sf__Created === 'true' ? 'created' : 'updated', externalId: String(row.sf__Id) }));
    }
    for (const row of failedRows) settle(row, (item) => failed(item.input, canonicalFieldErrors(mapping, objectType, bulkRowError(text(row.sf__Error)))));
    for (const row of unprocessed) {
      settle(row, (item) => failed(item.input, new ConnectorError({ provider: 'salesforce', errorClass: 'transient', message: `Bulk job ${job.id ?? ''} did not process this row` })));
    }
  }
  return outcomes.map((outcome, index) => outcome ?? failed(inputs[index] as UpsertInput, recordError([{ statusCode: 'UNKNOWN_EXCEPTION', message: 'Bulk job returned no result for this row' }])));
}

interface ExportCursor {
  kind: 'export';
  objectType: ObjectType;
  jobId: string;
  /** Sforce-Locator of the next page; null = the first page. */
  locator: string | null;
  /** The native object of this job, where an object type spans several (activities: Task, Event); absent = the mapped one. */
  object?: string | undefined;
  /** The jobs read after this one, in order. */
  then?: { object: string; jobId: string }[] | undefined;
}

function isExportCursor(value: unknown): value is ExportCursor {
  return typeof value === 'object' && value !== null && (value as ExportCursor).kind === 'export' && typeof (value as ExportCursor).jobId === 'string';
}

/**
 * Bulk API 2.0 query jobs over the mapped fields [S31], one per native object (a job reads one
 * object; activities are Task and Event), all opened now so they snapshot the same moment; the
 * cursor is a job id plus a results locator, and the jobs still to read.
 */
export async function startExport(session: SalesforceSession, mappings: readonly CompiledMapping[], objectType: ObjectType, since: string | undefined, settings: BulkSettings): Promise<string> {
  const where = since ? ` WHERE SystemModstamp >= ${soqlDateTime(since)}` : '';
  const jobs: { object: string; jobId: string }[] = [];
  for (const mapping of mappings) {
    const object = nativeObjectName(mapping, objectType);
    const query = `SELECT ${selectFields(mapping, objectType).join(', ')} FROM ${object}${where}`;
    const job = new QueryJobV2(session.conn, { bodyParams: { operation: 'query', query }, pollingOptions: { pollInterval: settings.pollIntervalMs, pollTimeout: settings.pollTimeoutMs } });
    // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
    const info = await session.call(() => job.open());
    jobs.push({ object, jobId: info.id });
  }
  const [first, ...then] = jobs;
  if (!first) throw new ConnectorError({ provider: 'salesforce', errorClass: 'validation', message: `nothing to export for ${objectType}` });
  return encodeCursor({ kind: 'export', objectType, jobId: first.jobId, locator: null, object: first.object, then } satisfies ExportCursor);
}

/** One results page; calling again with the same cursor reads the same page (the locator is stable). */
export async function readExportPage(
  session: SalesforceSession,
  /** The mapping a job's rows are read with, by its native object (undefined: a cursor from before jobs named one). */
  mappingOf: (object: string | undefined) => CompiledMapping,
  cursor: string,
  settings: BulkSettings,
): Promise<{ objectType: ObjectType; records: ExternalRecord[]; nextCursor?: string | undefined }> {
  const state = decodeCursor(cursor, isExportCursor);
  const job = session.conn.bulk2.job('query', { id: state.jobId });
  // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm
  await waitForJob(session, () => job.check(), state.jobId, settings);
  const params = new URLSearchParams({ maxRecords: String(settings.exportPageSize) });
  if (state.locator) params.set('locator', state.locator);
  // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
  const { value, headers } = await session.callWithHeaders((conn) =>
    conn.request<SalesforceRecord[] | string>({ method: 'GET', url: `/jobs/query/${state.jobId}/results?${params.toString()}`, headers: { Accept: 'text/csv' } }, { responseType: 'text/csv' }),
  );
  // An empty results page comes back as an empty body, which jsforce hands over as text.
  const rows = Array.isArray(value) ? value : [];
  const mapping = mappingOf(state.object);
  const records = rows.map((row) => fromSalesforce(mapping, state.objectType, fromCsvRow(row)));
  const locator = headers['sforce-locator'];
  if (locator && locator !== 'null') return { objectType: state.objectType, records, nextCursor: encodeCursor({ ...state, locator } satisfies ExportCursor) };
  const [following, ...rest] = state.then ?? [];
  const nextCursor = following ? encodeCursor({ kind: 'export', objectType: state.objectType, jobId: following.jobId, locator: null, object: following.object, then: rest } satisfies ExportCursor) : undefined;
  return { objectType: state.objectType, records, nextCursor };
}


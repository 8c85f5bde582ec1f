import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { DeleteOutcome, ExternalRecord, FieldDescription, UpsertInput, UpsertOutcome } from '../connector';
import { chunked, keepMatching, nativeKeyField, wantedValues, type UniqueKeyQuery } from '../unique-keys';
import { canonicalFieldErrors, failed, prepareInputs, type Prepared } from './outcomes';
import { fromSalesforce, nativeObjectName, selectFields, soqlString, toIsoInstant, type SalesforceRecord } from './record-mapper';
import type { ObjectConstraints } from '../../model/field-constraints';
import { recordError } from './errors';
import type { SalesforceSession } from './session';
import { salesforceSpec, SYNC_ID_FIELD } from './spec';

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

export async function readRecords(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const objectName = nativeObjectName(mapping, objectType);
  const fields = selectFields(mapping, objectType).join(', ');
  const records: ExternalRecord[] = [];
  for (const ids of chunks([...new Set(externalIds)], salesforceSpec.batch.readSize)) {
    const soql = `SELECT ${fields} FROM ${objectName} WHERE Id IN (${ids.map(soqlString).join(', ')})`;
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
    const { value: result, headers } = await session.callWithHeaders(async (conn) => await conn.query<SalesforceRecord>(soql, { autoFetch: false }));
    // The modstamp read is the version a later write may be conditional on (upsertViaCollections),
    // judged against the org's clock when it answered.
    const answeredAt = Date.parse(headers.date ?? '');
    records.push(...result.records.map((row) => ({ ...fromSalesforce(mapping, objectType, row), version: readVersion(String(row.SystemModstamp), answeredAt) })));
  }
  return records;
}

/**
 * `If-Unmodified-Since` holds whole seconds, so a version is only as good as the second it was
 * read in: a record saved earlier in the very second Salesforce answered our read may be saved
 * again in that second, and no date can refuse that save while letting ours through. Such a
 * version is marked unsettled; a write against it is held back until that second has passed and
 * the record is read again (upsertViaCollections). Without the answer's `Date` header nothing can
 * be told, and the version is taken as it is.
 */
function readVersion(modstamp: string, answeredAtMs: number): string {
  const savedSecond = Math.floor(Date.parse(toIsoInstant(modstamp)) / 1000);
  return Number.isFinite(answeredAtMs) && savedSecond >= Math.floor(answeredAtMs / 1000) ? `${UNSETTLED}${modstamp}` : modstamp;
}

const UNSETTLED = 'unsettled:';
/** How long a write against an unsettled version waits: the org's clock is then past that second. */
const SECOND_MS = 1_000;
const isUnsettled = (version: string): boolean => version.startsWith(UNSETTLED);

type VendorError = { statusCode?: string; errorCode?: string; message?: string; fields?: string[] };

interface VendorSaveResult {
  id?: string;
  success: boolean;
  created?: boolean;
  errors?: VendorError[];
}

/**
 * Upsert through sObject Collections, 200 per call [S16], `allOrNone: false` so one bad record
 * never fails the others. Records already linked (externalId given) are updated by Id: they may
 * predate the sync and carry no sync id yet, and upserting them by sync id would create duplicates.
 */
export async function upsertViaCollections(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> {
  const objectName = nativeObjectName(mapping, objectType);
  const { prepared, outcomes } = prepareInputs(mapping, objectType, inputs);
  const byId = prepared.filter((item) => item.input.externalId && item.input.ifVersion === undefined);
  const byIdIfUnmodified = prepared.filter((item) => item.input.externalId && item.input.ifVersion !== undefined);
  const bySyncId = prepared.filter((item) => !item.input.externalId);
  const settle = (batch: Prepared[], results: readonly VendorSaveResult[], isUpdate: boolean): void => {
    batch.forEach((item, position) => {
      const result = results[position];
      if (result?.success && result.id) {
        outcomes[item.index] = { syncId: item.input.syncId, status: !isUpdate && result.created ? 'created' : 'updated', externalId: result.id };
      } else {
        outcomes[item.index] = failed(item.input, canonicalFieldErrors(mapping, objectType, recordError(result?.errors ?? [])));
      }
    });
  };
  for (const batch of chunks(bySyncId, salesforceSpec.batch.collectionSize)) {
    const records = batch.map((item) => item.body);
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm
    const results = await session.call((conn) => conn.sobject(objectName).upsert(records, SYNC_ID_FIELD, { allOrNone: false }));
    settle(batch, results, false);
  }
  for (const batch of chunks(byId, salesforceSpec.batch.collectionSize)) {
    const records = batch.map((item) => ({ ...item.body, Id: item.input.externalId as string }));
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    const results = await session.call((conn) => conn.sobject(objectName).update(records, { allOrNone: false }));
    settle(batch, results, true);
  }
  // Read in the second of their last save: held back until that second is over, then read again.
  const unsettled = byIdIfUnmodified.filter((item) => isUnsettled(item.input.ifVersion as string));
  for (const item of unsettled) outcomes[item.index] = { syncId: item.input.syncId, status: 'version-changed' };
  if (unsettled.length > 0) await sleep(SECOND_MS);
  for (const batch of chunks(byIdIfUnmodified.filter((item) => !isUnsettled(item.input.ifVersion as string)), salesforceSpec.batch.compositeSize)) {
    for (const [position, result] of (await updateIfUnmodified(session, objectName, batch)).entries()) {
      const item = batch[position] as Prepared;
      if (result.httpStatusCode === 204 || result.httpStatusCode === 200) outcomes[item.index] = { syncId: item.input.syncId, status: 'updated', externalId: item.input.externalId as string };
      else if (result.httpStatusCode === 412) outcomes[item.index] = { syncId: item.input.syncId, status: 'version-changed' };
      else outcomes[item.index] = failed(item.input, canonicalFieldErrors(mapping, objectType, recordError(Array.isArray(result.body) ? (result.body as VendorError[]) : [{ statusCode: 'UNKNOWN_EXCEPTION', message: `HTTP ${result.httpStatusCode}` }])));
    }
  }
  await stampModifiedAt(session, objectName, outcomes);
  return outcomes.map((outcome, index) => outcome ?? failed(inputs[index] as UpsertInput, recordError([{ statusCode: 'UNKNOWN_EXCEPTION', message: 'no result' }])));
}

interface CompositeSubrequestResult {
  body: unknown;
  httpStatusCode: number;
  referenceId: string;
}

/**
 * Updates by Id only where the record was not modified since it was read (`If-Unmodified-Since`
 * with the modstamp read, per sObject Rows subrequest of the Composite resource [S45][S46]): a
 * person's edit landing between our read and our write is refused (412), not overwritten. The
 * header holds whole seconds, so an edit in the same second as the record's previous save still
 * passes (docs/architecture.md, "The window between read and write"). One call per 25 records.
 */
async function updateIfUnmodified(session: SalesforceSession, objectName: string, batch: readonly Prepared[]): Promise<CompositeSubrequestResult[]> {
  const compositeRequest = batch.map((item, position) => ({
    method: 'PATCH',
    url: `/services/data/v${salesforceSpec.apiVersion}/sobjects/${objectName}/${item.input.externalId as string}`,
    referenceId: `r${position}`,
    body: item.body,
    httpHeaders: { 'If-Unmodified-Since': new Date(toIsoInstant(item.input.ifVersion as string)).toUTCString() },
  }));
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm
  const answer = await session.call((conn) => conn.requestPost<{ compositeResponse: CompositeSubrequestResult[] }>('/composite', { allOrNone: false, compositeRequest }));
  return batch.map((_, position) => answer.compositeResponse.find((result) => result.referenceId === `r${position}`) ?? { body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'no subrequest result' }], httpStatusCode: 500, referenceId: `r${position}` });
}

/**
 * Collections answers carry no modstamp, but the engine needs it: it is how a later read of this
 * record is recognised as older than our own write (a stale read racing the other direction).
 * One query per 200 written records.
 */
async function stampModifiedAt(session: SalesforceSession, objectName: string, outcomes: (UpsertOutcome | undefined)[]): Promise<void> {
  const written = new Map<string, Extract<UpsertOutcome, { status: 'created' | 'updated' | 'unchanged' }>>();
  for (const outcome of outcomes) if (outcome && (outcome.status === 'created' || outcome.status === 'updated' || outcome.status === 'unchanged')) written.set(outcome.externalId, outcome);
  for (const ids of chunks([...written.keys()], salesforceSpec.batch.readSize)) {
    const soql = `SELECT Id, SystemModstamp FROM ${objectName} WHERE Id IN (${ids.map(soqlString).join(', ')})`;
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
    const result = await session.call(async (conn) => await conn.query<{ Id: string; SystemModstamp: string }>(soql, { autoFetch: false }));
    for (const row of result.records) {
      const outcome = written.get(row.Id);
      if (outcome) outcome.modifiedAt = new Date(row.SystemModstamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')).toISOString();
    }
  }
}

interface DescribedField {
  name: string;
  label: string;
  type: string;
  custom: boolean;
  externalId?: boolean;
  picklistValues?: { value: string; active?: boolean }[];
  length?: number;
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  defaultedOnCreate?: boolean;
  calculated?: boolean;
  restrictedPicklist?: boolean;
}

/** Describe types whose `length` bounds the text written [S55]. */
const TEXT_TYPES = new Set(['string', 'textarea', 'phone', 'url', 'email', 'picklist', 'multipicklist', 'combobox', 'encryptedstring']);

/**
 * What an object's fields must fit, from describe [S55]: text up to `length`; required on create
 * when createable, not nillable and not defaulted on create; a restricted picklist's active values.
 */
export async function describeConstraints(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType): Promise<ObjectConstraints> {
  const objectName = nativeObjectName(mapping, objectType);
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
  const described = await session.call((conn) => conn.sobject(objectName).describe());
  const fields = (described.fields as unknown as DescribedField[])
    .filter((field) => (field.createable || field.updateable) && !field.calculated)
    .map((field) => ({
      name: field.name,
      maxLength: TEXT_TYPES.has(field.type) && field.length ? field.length : undefined,
      requiredOnCreate: field.createable === true && field.nillable === false && field.defaultedOnCreate !== true,
      allowedValues: field.restrictedPicklist ? (field.picklistValues ?? []).filter((value) => value.active !== false).map((value) => value.value) : undefined,
    }));
  return { vendor: 'Salesforce', object: objectName, fields };
}

export async function describeFields(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType): Promise<FieldDescription[]> {
  const objectName = nativeObjectName(mapping, objectType);
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
  const described = await session.call((conn) => conn.sobject(objectName).describe());
  return (described.fields as unknown as DescribedField[]).map((field) => ({
    name: field.name,
    label: field.label,
    type: field.type,
    custom: field.custom,
    externalId: field.externalId,
    picklistValues: field.picklistValues && field.picklistValues.length > 0 ? field.picklistValues.filter((value) => value.active !== false).map((value) => value.value) : undefined,
  }));
}

/** Values per SOQL `IN (...)`: keeps the GET query well under Salesforce's URL limit (16,384 characters). */
const MATCH_VALUES_PER_QUERY = 100;
/** `LIKE` terms per query when a domain is matched against Account.Website. */
const MATCH_LIKE_TERMS_PER_QUERY = 25;

/**
 * First-sync matching: `WHERE Email IN (...)` (SOQL compares text case-insensitively), or for a
 * domain on Account.Website `Website LIKE '%acme.com%' OR ...` filtered by host here. Each query
 * follows `nextRecordsUrl`, so a value held by many records is never cut off.
 */
export async function findByUniqueKeys(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType, keys: UniqueKeyQuery): Promise<ExternalRecord[]> {
  const objectName = nativeObjectName(mapping, objectType);
  const key = nativeKeyField('salesforce', mapping, objectType, keys.field);
  const wanted = wantedValues(keys);
  const fields = selectFields(mapping, objectType).join(', ');
  const wheres =
    key.via === 'value'
      ? chunked(wanted, MATCH_VALUES_PER_QUERY).map((values) => `${key.native} IN (${values.map(soqlString).join(', ')})`)
      : chunked(wanted, MATCH_LIKE_TERMS_PER_QUERY).map((values) => values.map((value) => `${key.native} LIKE ${soqlString(`%${value}%`)}`).join(' OR '));
  const records: ExternalRecord[] = [];
  for (const where of wheres) {
    const soql = `SELECT ${fields} FROM ${objectName} WHERE ${where} ORDER BY Id`;
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
    let page = await session.call(async (conn) => await conn.query<SalesforceRecord>(soql, { autoFetch: false }));
    records.push(...page.records.map((row) => fromSalesforce(mapping, objectType, row)));
    while (!page.done && page.nextRecordsUrl) {
      const locator = page.nextRecordsUrl;
      page = await session.call(async (conn) => await conn.queryMore<SalesforceRecord>(locator));
      records.push(...page.records.map((row) => fromSalesforce(mapping, objectType, row)));
    }
  }
  return keepMatching(records, keys.field, new Set(wanted));
}

/** Vendor answers meaning "nothing left to delete": already in the Recycle Bin, or never there. */
const GONE_CODES = new Set(['ENTITY_IS_DELETED', 'NOT_FOUND', 'INVALID_CROSS_REFERENCE_KEY']);

/** Deletes into the Recycle Bin through sObject Collections, 200 ids a call; already gone = not-found. */
export async function deleteRecords(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  const objectName = nativeObjectName(mapping, objectType);
  const outcomes: DeleteOutcome[] = [];
  for (const batch of chunks(externalIds, salesforceSpec.batch.collectionSize)) {
    // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_delete.htm
    const results: readonly VendorSaveResult[] = await session.call((conn) => conn.sobject(objectName).destroy(batch, { allOrNone: false }));
    batch.forEach((externalId, position) => {
      const result = results[position];
      if (result?.success) return void outcomes.push({ externalId, status: 'deleted' });
      const errors = result?.errors ?? [];
      const code = errors[0]?.statusCode ?? errors[0]?.errorCode;
      if (code && GONE_CODES.has(code)) return void outcomes.push({ externalId, status: 'not-found' });
      outcomes.push({ externalId, status: 'failed', error: recordError(errors.length ? errors : [{ statusCode: 'UNKNOWN_EXCEPTION', message: 'no result' }]).toInfo() });
    });
  }
  return outcomes;
}

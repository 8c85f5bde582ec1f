import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import type { ExternalRecord, FieldDescription, UpsertInput, UpsertOutcome } from '../connector';
import { canonicalFieldErrors, failed, prepareInputs, type Prepared } from './outcomes';
import { fromSalesforce, nativeObjectName, selectFields, soqlString, type SalesforceRecord } from './record-mapper';
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
    const result = await session.call(async (conn) => await conn.query<SalesforceRecord>(soql, { autoFetch: false }));
    records.push(...result.records.map((row) => fromSalesforce(mapping, objectType, row)));
  }
  return records;
}

interface VendorSaveResult {
  id?: string;
  success: boolean;
  created?: boolean;
  errors?: { statusCode?: string; errorCode?: string; message?: string; fields?: string[] }[];
}

/**
 * Upsert through sObject Collections, 200 per call [S16], `allOrNone: false` so one bad record
 * never fails the others. Records already linked (externalId given) are updated by Id: they may
 * predate the sync and carry no sync id yet, and upserting them by sync id would create duplicates.
 */
export async function upsertViaCollections(session: SalesforceSession, mapping: CompiledMapping, objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> {
  const objectName = nativeObjectName(mapping, objectType);
  const { prepared, outcomes } = prepareInputs(mapping, objectType, inputs);
  const byId = prepared.filter((item) => item.input.externalId);
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
  return outcomes.map((outcome, index) => outcome ?? failed(inputs[index] as UpsertInput, recordError([{ statusCode: 'UNKNOWN_EXCEPTION', message: 'no result' }])));
}

interface DescribedField {
  name: string;
  label: string;
  type: string;
  custom: boolean;
  externalId?: boolean;
  picklistValues?: { value: string; active?: boolean }[];
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

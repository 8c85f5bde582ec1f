import { recordError, RecordFailure, SalesforceApiError } from './errors';
import type { FieldValue, StoredRecord } from './records';
import type { SObjectType } from './schema';
import type { ChangeBatch, RecordStore } from './store';

/** A validated write, applied later so allOrNone can refuse a whole collection before any write. */
export interface PlannedUpsert {
  apply(batch: ChangeBatch): { record: StoredRecord; created: boolean };
}

/**
 * Plans an upsert of already-normalised `values` on `field = value` [S11][S12]: one live match
 * updates it, none creates (unless updateOnly), several is DUPLICATE_EXTERNAL_ID (the single
 * resource turns that into a 300 itself).
 */
export function planUpsert(
  store: RecordStore,
  type: SObjectType,
  field: string,
  value: string,
  values: Record<string, FieldValue>,
  updateOnly = false,
): PlannedUpsert {
  const def = store.def(type);
  const match = store.matchExternalId(type, field, value);
  if (match.kind === 'many') {
    throw recordError('DUPLICATE_EXTERNAL_ID', `${field}: more than one record found for external id field: [${match.ids.join(', ')}]`, [field]);
  }
  if (match.kind === 'one') {
    const record = match.record;
    store.checkWrite(def, values, false, record);
    return { apply: (batch) => ({ record: store.updateValidated(record, values, batch), created: false }) };
  }
  if (field === 'Id' || updateOnly) throw recordError('NOT_FOUND', 'The requested resource does not exist');
  const createValues = { ...values, [field]: value };
  store.applyDefaults(def, createValues);
  store.checkWrite(def, createValues, true);
  return { apply: (batch) => ({ record: store.insertValidated(type, createValues, batch), created: true }) };
}

/** A per-record failure answered by a single-record resource: NOT_FOUND and deleted are 404s. */
export function toApiError(error: unknown): unknown {
  if (!(error instanceof RecordFailure)) return error;
  const { statusCode, message, fields } = error.error;
  const status = statusCode === 'NOT_FOUND' || statusCode === 'ENTITY_IS_DELETED' ? 404 : 400;
  return new SalesforceApiError(status, statusCode, message, fields.length > 0 ? fields : undefined);
}

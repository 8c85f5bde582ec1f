import { errorBody, ZohoError } from './errors';
import type { ZohoModule } from './modules';
import type { RecordStore } from './store';

/**
 * `If-Unmodified-Since` on an update of any module, Tasks, Calls and Events too [Z63][Z65]: when
 * any record the call names was modified after that date (compared in whole seconds, as
 * Modified_Time holds them), the call is refused with
 * 412 and a `data[]` entry `ALREADY_MODIFIED` per such record, naming it and its Modified_Time;
 * nothing of the call is written (UNCONFIRMED: Zoho's example refuses a one-record call; whether
 * it writes the other records of a longer call is not documented). A value that is not a date is
 * refused with 400 (UNCONFIRMED code). Answers the 412's body, or undefined when the call may go on.
 */
export function alreadyModified(store: RecordStore, module: ZohoModule, header: string | string[] | undefined, inputs: readonly Record<string, unknown>[]): { data: Record<string, unknown>[] } | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return undefined;
  const since = Date.parse(value);
  if (Number.isNaN(since)) throw new ZohoError(400, errorBody('INVALID_DATA', 'invalid data', { header: 'If-Unmodified-Since' }));
  const sinceSecond = Math.floor(since / 1000);
  const modified = inputs.flatMap((input) => {
    const record = typeof input.id === 'string' ? store.get(module, input.id) : undefined;
    return record && Math.floor(record.modifiedAt / 1000) > sinceSecond ? [record] : [];
  });
  if (modified.length === 0) return undefined;
  return {
    data: modified.map((record) => ({
      code: 'ALREADY_MODIFIED',
      message: 'record updated time has already passed if-unmodified-since time',
      status: 'error',
      details: { Modified_Time: store.render(record.modifiedAt), Created_Time: store.render(record.createdAt), id: record.id, Modified_By: record.modifiedBy, Created_By: record.createdBy },
    })),
  };
}

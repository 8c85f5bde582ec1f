import { SalesforceApiError } from './errors';
import type { StoredRecord } from './records';

/**
 * `If-Unmodified-Since` on sObject Rows [S45]: weak validation against the record's last
 * modification. The header is an HTTP date, so the comparison is to the second: a record saved
 * in the same second as the date given passes. An invalid value on a PATCH is a 400; a record
 * modified in a later second is a 412 and nothing is written.
 */
export function checkUnmodifiedSince(header: string | string[] | undefined, record: StoredRecord): void {
  const since = parseHeader(header);
  if (since === undefined) return;
  if (Math.floor(record.modstampMs / 1000) > Math.floor(since / 1000)) {
    throw new SalesforceApiError(412, PRECONDITION_FAILED, `The requested resource has been modified since ${new Date(since).toUTCString()}`);
  }
}

/** The header's instant, undefined when absent; a value that is not an HTTP date is a 400 [S45]. */
function parseHeader(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(', ') : header;
  const ms = IMF_FIXDATE.test(text.trim()) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new SalesforceApiError(400, INVALID_HEADER, `If-Unmodified-Since: ${text} is not an HTTP date (e.g. ${new Date(0).toUTCString()})`);
  return ms;
}

/** RFC 9110's preferred HTTP date form, what `Date.prototype.toUTCString` writes. */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Error codes of these answers: not documented; the status codes are (README, "Conditional requests"). */
const PRECONDITION_FAILED = 'PRECONDITION_FAILED';
const INVALID_HEADER = 'INVALID_HEADER_VALUE';

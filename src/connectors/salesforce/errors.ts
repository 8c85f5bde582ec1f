import { classifyHttpFailure, ConnectorError, networkFailure, type FieldError } from '../errors';
import type { CallTrace } from './transport';
import { salesforceSpec } from './spec';

/**
 * jsforce failure -> ConnectorError, through the spec's rules. jsforce throws `HttpApiError`
 * (`errorCode`, `message`, `data` = the vendor's error object) without the status, which the
 * transport's trace supplies.
 */

/** A Salesforce error object: REST bodies say `errorCode`, collection and DML results `statusCode` [S17]. */
interface VendorError {
  errorCode?: string;
  statusCode?: string;
  message?: string;
  fields?: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Status when the trace has none (the request never completed on the wire). */
function statusFromCode(code: string): number {
  const http = /^ERROR_HTTP_(\d{3})$/.exec(code);
  if (http) return Number(http[1]);
  if (code === 'INVALID_SESSION_ID') return 401;
  if (code === 'REQUEST_LIMIT_EXCEEDED') return 403;
  if (code === 'NOT_FOUND') return 404;
  if (code === 'MULTIPLE_CHOICES') return 300;
  return 400;
}

function fieldErrorsOf(errors: readonly VendorError[]): FieldError[] | undefined {
  const fieldErrors = errors.flatMap((error) => (error.fields ?? []).map((field) => ({ field, message: error.message ?? '' })));
  return fieldErrors.length > 0 ? fieldErrors : undefined;
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted/i.test(error.message));
}

/** Any failure of a jsforce call, classified. */
export function toConnectorError(error: unknown, trace: CallTrace = {}, timeoutMs?: number): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (isAbort(error)) {
    return new ConnectorError(
      { provider: 'salesforce', errorClass: 'transient', message: `network: no answer within ${timeoutMs ?? '?'} ms (request aborted)` },
      { cause: error },
    );
  }
  if (!isRecord(error) || typeof error.errorCode !== 'string') return networkFailure('salesforce', error);
  const code = error.errorCode;
  const data = error.data;
  // MULTIPLE_API_ERRORS: jsforce keeps the vendor's array in `data`; the first error names the class.
  const vendorErrors: VendorError[] = Array.isArray(data) ? (data.filter(isRecord)) : isRecord(data) ? [data] : [];
  const first = code === 'MULTIPLE_API_ERRORS' ? vendorErrors[0] : undefined;
  const vendorCode = first?.errorCode ?? code;
  const status = trace.status ?? statusFromCode(vendorCode);
  const failure = classifyHttpFailure('salesforce', salesforceSpec.errorRules, {
    status,
    vendorCode,
    message: first?.message ?? (typeof error.message === 'string' ? error.message : vendorCode),
    fieldErrors: fieldErrorsOf(vendorErrors),
    retryAfterMs: vendorCode === 'REQUEST_LIMIT_EXCEEDED' ? salesforceSpec.quotaRetryAfterMs : undefined,
  });
  return new ConnectorError(failure.toInfo(), { cause: error });
}

/** A per-record error from a collection or DML result (the call itself succeeded with 200). */
export function recordError(errors: readonly VendorError[]): ConnectorError {
  const first = errors[0] ?? {};
  const vendorCode = first.statusCode ?? first.errorCode ?? 'UNKNOWN_EXCEPTION';
  return classifyHttpFailure('salesforce', salesforceSpec.errorRules, {
    status: 400,
    vendorCode,
    message: errors.map((error) => error.message ?? '').join('; '),
    fieldErrors: fieldErrorsOf(errors),
  });
}

/**
 * A Bulk 2.0 failed row's `sf__Error`: `CODE:message:field1,field2 --` [S28]. The message may
 * itself hold colons, so the code is the first segment and the fields the last.
 */
export function bulkRowError(sfError: string): ConnectorError {
  const match = /^([A-Z_]+):([\s\S]*):([^:]*?) --$/.exec(sfError.trim());
  if (!match) return classifyHttpFailure('salesforce', salesforceSpec.errorRules, { status: 400, message: sfError });
  const [, code = 'UNKNOWN_EXCEPTION', message = '', fieldList = ''] = match;
  const fields = fieldList.split(',').map((field) => field.trim()).filter(Boolean);
  return recordError([{ statusCode: code, message, fields }]);
}

import { classifyHttpFailure, classifyTokenFailure, parseRetryAfter, ConnectorError, type ConnectorErrorInfo } from '../errors';
import { zohoSpec } from './spec';

/** Zoho's envelope `{code, details, message, status}` [Z4], top level or per `data[]` entry. */
export interface ZohoEntryError {
  code?: unknown;
  details?: Record<string, unknown>;
  message?: unknown;
  status?: unknown;
}

/** A refused field is named in `details.api_name` (INVALID_DATA, MANDATORY_NOT_FOUND, DUPLICATE_DATA). */
function fieldErrorsOf(entry: ZohoEntryError, message: string): { field: string; message: string }[] | undefined {
  const field = entry.details?.api_name;
  return typeof field === 'string' ? [{ field, message }] : undefined;
}

/** Turns a failed API call into a classified ConnectorError (token answers: `zohoTokenFailure`). */
export function zohoFailure(status: number, bodyText: string, headers: Readonly<Record<string, string | undefined>> = {}): ConnectorError {
  let code: string | undefined;
  let message = bodyText.trim() === '' ? `HTTP ${status}` : bodyText.slice(0, 500);
  let fieldErrors: { field: string; message: string }[] | undefined;
  try {
    const parsed = JSON.parse(bodyText) as ZohoEntryError & { error?: unknown };
    if (typeof parsed.code === 'string') code = parsed.code;
    else if (typeof parsed.error === 'string') code = parsed.error;
    if (typeof parsed.message === 'string') message = parsed.message;
    else if (typeof parsed.error === 'string') message = `token request refused: ${parsed.error}`;
    fieldErrors = fieldErrorsOf(parsed, message);
  } catch {
    // Not JSON (a proxy's page): the raw text is the message.
  }
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  return classifyHttpFailure(zohoSpec.provider, zohoSpec.errorRules, {
    status,
    message,
    ...(code !== undefined ? { vendorCode: code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(fieldErrors ? { fieldErrors } : {}),
  });
}

/** One refused `data[]` entry of a write, as the failure a parked record carries (vendor words verbatim). */
export function entryFailure(status: number, entry: ZohoEntryError): ConnectorErrorInfo {
  const message = typeof entry.message === 'string' ? entry.message : 'refused';
  const details = entry.details && Object.keys(entry.details).length > 0 ? ` ${JSON.stringify(entry.details)}` : '';
  const error = zohoFailure(status === 207 || status < 400 ? 400 : status, JSON.stringify(entry));
  return { ...error.toInfo(), message: `${message}${details}` };
}

/**
 * A token answer without an access token -> ConnectorError, by Zoho's token rules and the shared
 * ones: a refusal (HTTP 200 `{"error":"invalid_code"}`, `invalid_client`) is 'auth', the throttle
 * ("Access Denied", too many requests) rate-limited, a 5xx or an answer that is neither transient.
 * The message is Zoho's words only, never the request (it carries the secret and refresh token).
 */
export function zohoTokenFailure(status: number, bodyText: string, headers: Readonly<Record<string, string | undefined>> = {}): ConnectorError {
  let code: string | undefined;
  let message = bodyText.trim() === '' ? `HTTP ${status}` : bodyText.slice(0, 500);
  try {
    const parsed = JSON.parse(bodyText) as { error?: unknown; error_description?: unknown; code?: unknown; message?: unknown };
    if (typeof parsed.error === 'string' && parsed.error !== '') code = parsed.error;
    else if (typeof parsed.code === 'string' && parsed.code !== '') code = parsed.code;
    if (typeof parsed.error_description === 'string') message = parsed.error_description;
    else if (typeof parsed.message === 'string') message = parsed.message;
    else if (code !== undefined) message = code;
  } catch {
    // Not JSON (a proxy's page): the raw text is the message.
  }
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const failure = classifyTokenFailure(zohoSpec.provider, zohoSpec.tokenErrorRules, {
    status,
    message,
    ...(code !== undefined ? { vendorCode: code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
  if (failure.errorClass !== 'rate-limited' || failure.retryAfterMs !== undefined) return failure;
  // The throttle holds for the rest of its ten minutes and says nothing of when: a retry within
  // seconds (the activity's first backoff) only meets it again.
  return new ConnectorError({ ...failure.toInfo(), retryAfterMs: zohoSpec.tokenThrottleRetryMs });
}

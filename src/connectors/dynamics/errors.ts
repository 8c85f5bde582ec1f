import { classifyHttpFailure, parseRetryAfter, type ConnectorError, type ConnectorErrorInfo, type FieldError } from '../errors';
import { dynamicsSpec } from './spec';

/** The Web API's error envelope `{"error":{"code":"0x...","message":"..."}}` [D9]. */
interface DataverseErrorBody {
  error?: { code?: unknown; message?: unknown };
}

/**
 * Dataverse names the offending column only inside the message text ("The property 'x' does not
 * exist on type ...", "Could not find a property named 'x' ..."); lift it into a field error so a
 * parked record says which field to fix.
 */
const FIELD_PATTERNS = [/The property '([^']+)' does not exist/, /Could not find a property named '([^']+)'/, /property '([^']+)'/i];

export function fieldErrorsOf(message: string): FieldError[] | undefined {
  for (const pattern of FIELD_PATTERNS) {
    const match = pattern.exec(message);
    if (match?.[1]) return [{ field: match[1], message }];
  }
  return undefined;
}

/** Turns a failed Web API response (top-level or a `$batch` part) into a classified ConnectorError. */
export function dataverseFailure(status: number, bodyText: string, headers: Readonly<Record<string, string | undefined>>): ConnectorError {
  let code: string | undefined;
  let message = bodyText.trim() === '' ? `HTTP ${status}` : bodyText.slice(0, 500);
  try {
    const parsed = JSON.parse(bodyText) as DataverseErrorBody;
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    // The docs' own samples print blank codes; a blank code is no code.
    if (typeof parsed.error?.code === 'string' && parsed.error.code !== '') code = parsed.error.code;
  } catch {
    // Not JSON (a proxy's HTML page): keep the raw text as the message.
  }
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const fieldErrors = status === 400 ? fieldErrorsOf(message) : undefined;
  return classifyHttpFailure(dynamicsSpec.provider, dynamicsSpec.errorRules, {
    status,
    message,
    ...(code !== undefined ? { vendorCode: code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(fieldErrors ? { fieldErrors } : {}),
  });
}

/**
 * Per-record failure data for a parked record. ConnectorError.toInfo() carries the decorated
 * Error message ("dynamics validation 0x...: ..."); the operator gets the vendor's words verbatim.
 */
export function dataverseFailureInfo(status: number, bodyText: string, headers: Readonly<Record<string, string | undefined>>): ConnectorErrorInfo {
  const error = dataverseFailure(status, bodyText, headers);
  return { ...error.toInfo(), message: vendorMessageOf(bodyText) ?? error.message };
}

function vendorMessageOf(bodyText: string): string | undefined {
  try {
    const parsed = JSON.parse(bodyText) as DataverseErrorBody;
    return typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
  } catch {
    return undefined;
  }
}

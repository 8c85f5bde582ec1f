import { classifyHttpFailure, classifyTokenFailure, ConnectorError, networkFailure, parseRetryAfter, type ConnectorErrorInfo, type FieldError, type HttpFailure } from '../errors';
import { hubspotSpec } from './spec';

/**
 * HubSpot failures -> ConnectorError. The SDK throws `ApiException {code, body, headers}` for any
 * non-2xx; everything else (refused, reset, our timeout) is a network failure.
 */

/** HubSpot's error body (StandardError / 429 body) as far as classification needs it [H8][H20]. */
export interface HubSpotErrorBody {
  status?: string;
  message?: string;
  category?: string;
  policyName?: string;
  errorType?: string;
  context?: Record<string, string[]>;
  errors?: { message?: string; context?: Record<string, string[]> }[];
}

interface ApiExceptionLike {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

function isApiException(error: unknown): error is ApiExceptionLike {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' && 'body' in error && 'headers' in error;
}

function bodyOf(raw: unknown): HubSpotErrorBody {
  if (typeof raw === 'object' && raw !== null) return raw;
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null) return parsed;
    } catch {
      return { message: raw };
    }
  }
  return {};
}

const PROPERTY_ISSUES = /Property values were not valid: (\[.*\])\s*$/s;

/**
 * HubSpot packs per-property problems as JSON inside `message` ("Property values were not valid:
 * [{name, message, error}]") and sometimes in `errors[].context.propertyName`.
 */
export function fieldErrorsOf(body: HubSpotErrorBody): FieldError[] | undefined {
  const found: FieldError[] = [];
  const match = body.message ? PROPERTY_ISSUES.exec(body.message) : null;
  if (match?.[1]) {
    try {
      const issues = JSON.parse(match[1]) as { name?: string; message?: string; error?: string }[];
      for (const issue of issues) if (issue.name) found.push({ field: issue.name, message: issue.message ?? issue.error ?? 'invalid' });
    } catch {
      // Not JSON after all: the whole message still reaches the operator.
    }
  }
  for (const detail of body.errors ?? []) {
    for (const field of detail.context?.propertyName ?? []) found.push({ field, message: detail.message ?? 'invalid' });
  }
  return found.length > 0 ? found : undefined;
}

/** How long until HubSpot's daily quota resets: midnight UTC (the portal's time zone in reality) [H16]. */
export function msUntilDailyReset(now: number = Date.now()): number {
  const day = 86_400_000;
  return Math.floor(now / day) * day + day - now;
}

/**
 * When a 429 may be retried: Retry-After if HubSpot sends one, else the policy's own window —
 * a rolling window has freed itself within its interval, the search limit within a second.
 */
function retryAfterOf(status: number, body: HubSpotErrorBody, headers: Record<string, string>): number | undefined {
  if (status !== 429) return parseRetryAfter(headers['retry-after']);
  const explicit = parseRetryAfter(headers['retry-after']);
  if (explicit !== undefined) return explicit;
  if (body.policyName === 'DAILY') return msUntilDailyReset();
  if (body.policyName === 'SECONDLY') return 1_000;
  const interval = Number(headers['x-hubspot-ratelimit-interval-milliseconds']);
  return Number.isFinite(interval) && interval > 0 ? interval : 10_000;
}

/** Classifies one HTTP failure with HubSpot's rules (spec.ts) and the shared fallbacks. */
export function classifyHubSpotFailure(status: number, rawBody: unknown, headers: Record<string, string> = {}): ConnectorError {
  const body = bodyOf(rawBody);
  const lowerHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const failure: HttpFailure = {
    status,
    vendorCode: body.policyName ?? body.category ?? (body.status && body.status !== 'error' ? body.status : undefined),
    message: body.message ?? `HTTP ${status}`,
    retryAfterMs: retryAfterOf(status, body, lowerHeaders),
    fieldErrors: fieldErrorsOf(body),
  };
  return classifyHttpFailure('hubspot', hubspotSpec.errorRules, failure);
}

/** Any error thrown by an SDK call -> ConnectorError (already classified ones pass through). */
export function toConnectorError(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (isApiException(error)) return classifyHubSpotFailure(error.code, error.body, error.headers);
  return networkFailure('hubspot', error);
}

/**
 * A failed OAuth token request -> ConnectorError, by the shared token rules: a refused refresh
 * token or client (400 BAD_REFRESH_TOKEN, BAD_CLIENT_ID…) is 'auth', a 429 rate-limited with the
 * delay HubSpot implies, a 5xx or no answer transient.
 */
export function tokenFailure(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (!isApiException(error)) return networkFailure('hubspot', error);
  const read = classifyHubSpotFailure(error.code, error.body, error.headers);
  return classifyTokenFailure('hubspot', [], { status: error.code, vendorCode: read.vendorCode, message: read.vendorMessage, retryAfterMs: read.retryAfterMs }, { cause: error });
}

/**
 * One entry of a 207 multi-status `errors` list -> the failure of the inputs it names
 * (`context.ids`), classified like a whole-call failure of the same category.
 */
export function batchErrorInfo(entry: HubSpotErrorBody): { ids: string[]; error: ConnectorErrorInfo } {
  const status = entry.category === 'OBJECT_NOT_FOUND' ? 404 : entry.category === 'CONFLICT' ? 409 : 400;
  const ids = entry.context?.ids ?? entry.context?.id ?? [];
  return { ids, error: classifyHubSpotFailure(status, entry).toInfo() };
}

const EXISTING_ID = /already exists\. Existing ID: (\d+)/;

/**
 * The record a create collided with: HubSpot refuses a second contact with a taken email with 409
 * CONFLICT "Contact already exists. Existing ID: N", on single and batch writes alike [H38].
 */
export function existingIdOf(error: { errorClass: string; message: string }): string | undefined {
  if (error.errorClass !== 'conflict') return undefined;
  return EXISTING_ID.exec(error.message)?.[1];
}

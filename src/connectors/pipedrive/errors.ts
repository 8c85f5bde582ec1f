import { classifyHttpFailure, classifyTokenFailure, type ConnectorError, type FieldError, parseRetryAfter } from '../errors';
import { pipedriveSpec } from './spec';

/** Pipedrive's error envelope (and the OAuth endpoint's) as far as classification needs it [P1]. */
export interface PipedriveErrorBody {
  success?: boolean;
  error?: string;
  error_info?: string;
  errorCode?: number;
  code?: string;
  message?: string;
  error_description?: string;
}

function bodyOf(text: string): PipedriveErrorBody {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return parsed;
  } catch {
    // Not JSON (a proxy's HTML page): the text itself reaches the operator.
  }
  return { error: text.slice(0, 300) };
}

/** How long until Pipedrive's daily budget resets: the server's midnight (UTC assumed, UNCONFIRMED) [P3]. */
export function msUntilDailyReset(now: number = Date.now()): number {
  const day = 86_400_000;
  return Math.floor(now / day) * day + day - now;
}

/** "Validation failed: title: Parameter 'title' is required" -> the field and its message. */
function fieldErrorsOf(message: string): FieldError[] | undefined {
  const match = /^Validation failed: ([\w.]+): (.+)$/s.exec(message);
  return match?.[1] && match[2] ? [{ field: match[1], message: match[2] }] : undefined;
}

/**
 * One HTTP failure -> ConnectorError. The vendor code is the body's `code`, an OAuth `error`
 * code, or for a 429 `DAILY_BUDGET` / `RATE_LIMIT` from its wording; the retry hint is
 * Retry-After, else `x-ratelimit-reset` (seconds) for the burst and the time to midnight for the day.
 */
export function classifyPipedriveFailure(status: number, text: string, headers: Record<string, string> = {}): ConnectorError {
  const body = bodyOf(text);
  const message = body.error_description ?? body.message ?? body.error ?? `HTTP ${status}`;
  const oauthCode = body.error !== undefined && /^[a-z_]+$/.test(body.error) ? body.error : undefined;
  let vendorCode = body.code ?? oauthCode;
  let retryAfterMs = parseRetryAfter(headers['retry-after']);
  if (status === 429) {
    const daily = /daily/i.test(`${body.error ?? ''} ${body.message ?? ''}`);
    vendorCode = daily ? 'DAILY_BUDGET' : 'RATE_LIMIT';
    const reset = Number(headers['x-ratelimit-reset']);
    retryAfterMs ??= daily ? msUntilDailyReset() : Number.isFinite(reset) && reset > 0 ? reset * 1000 : 2_000;
  }
  return classifyHttpFailure('pipedrive', pipedriveSpec.errorRules, { status, vendorCode, message, retryAfterMs, fieldErrors: status === 400 ? fieldErrorsOf(message) : undefined });
}

/**
 * A token request's failed answer, read like any Pipedrive answer (OAuth `error` code, 429 delay
 * from Retry-After or `x-ratelimit-reset`) and classed by the shared token rules: a refused grant
 * or client (400 `invalid_grant`, 401 `invalid_client`) is 'auth', a 429 rate-limited, a 5xx or an
 * answer without a token transient.
 */
export function classifyPipedriveTokenFailure(status: number, text: string, headers: Record<string, string> = {}): ConnectorError {
  const read = classifyPipedriveFailure(status, text, headers);
  return classifyTokenFailure('pipedrive', [], { status, vendorCode: read.vendorCode, message: read.vendorMessage, retryAfterMs: read.retryAfterMs });
}

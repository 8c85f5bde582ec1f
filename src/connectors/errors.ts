import type { CrmProvider } from '../model/identifiers';

/**
 * The failure classes of the design (architecture §3). Every connector turns vendor failures into
 * a ConnectorError of one class, so activities decide retries without knowing the vendor.
 */
export const errorClasses = [
  /** 5xx, reset, timeout: retry with backoff. */
  'transient',
  /** 429 or the vendor's equivalent: retry after `retryAfterMs`. */
  'rate-limited',
  /** A daily or long-window quota is spent: pause until `retryAfterMs`, do not hammer. */
  'quota-exhausted',
  /** 401 / invalid grant: refresh once; if that fails, the connection needs re-authorisation. */
  'auth',
  /** 400 with field errors: this record cannot be written as it is; park it with the message. */
  'validation',
  /** The record (or the endpoint) does not exist. */
  'not-found',
  /** 409 / 412 / duplicate value / multiple matches: the vendor refused because of other data. */
  'conflict',
  /** 403 other than quotas: the credentials lack a permission. */
  'permission',
] as const;
export type ErrorClass = (typeof errorClasses)[number];

export interface FieldError {
  field: string;
  message: string;
}

export interface ConnectorErrorDetails {
  provider: CrmProvider;
  errorClass: ErrorClass;
  /** The vendor's message, verbatim, for the operator. */
  message: string;
  /** The vendor's code (`INVALID_SESSION_ID`, `0x80072322`, `VALIDATION_ERROR`…). */
  vendorCode?: string | undefined;
  status?: number | undefined;
  retryAfterMs?: number | undefined;
  fieldErrors?: FieldError[] | undefined;
}

/** Plain data, so it can cross Temporal history (ApplicationFailure details) and be parked. */
export type ConnectorErrorInfo = ConnectorErrorDetails;

export class ConnectorError extends Error {
  readonly provider: CrmProvider;
  readonly errorClass: ErrorClass;
  readonly vendorCode: string | undefined;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly fieldErrors: FieldError[] | undefined;
  /** The vendor's words, verbatim (`message` adds provider, class and code for logs). */
  readonly vendorMessage: string;

  constructor(details: ConnectorErrorDetails, options?: { cause?: unknown }) {
    super(`${details.provider} ${details.errorClass}${details.vendorCode ? ` ${details.vendorCode}` : ''}: ${details.message}`, options);
    this.name = 'ConnectorError';
    this.provider = details.provider;
    this.errorClass = details.errorClass;
    this.vendorCode = details.vendorCode;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.fieldErrors = details.fieldErrors;
    this.vendorMessage = details.message;
  }

  toInfo(): ConnectorErrorInfo {
    return {
      provider: this.provider,
      errorClass: this.errorClass,
      message: this.vendorMessage,
      vendorCode: this.vendorCode,
      status: this.status,
      retryAfterMs: this.retryAfterMs,
      fieldErrors: this.fieldErrors,
    };
  }

  /** Classes an activity should retry (with backoff or after retryAfterMs). */
  get retryable(): boolean {
    return this.errorClass === 'transient' || this.errorClass === 'rate-limited' || this.errorClass === 'quota-exhausted';
  }
}

/**
 * One vendor's classification rules, as data, tried in order: the first rule that matches an HTTP
 * failure decides its class (Airbyte's ordered error handler, typed).
 */
export interface ErrorRule {
  /** Status codes this rule covers; omitted = any. */
  status?: readonly number[];
  /** Vendor codes this rule covers (as extracted by the connector); omitted = any. */
  vendorCodes?: readonly string[];
  /** Wording the vendor's message must match, where one code covers different failures; omitted = any. */
  message?: RegExp;
  errorClass: ErrorClass;
}

function matches(rule: ErrorRule, failure: HttpFailure): boolean {
  return (
    (!rule.status || rule.status.includes(failure.status)) &&
    (!rule.vendorCodes || (failure.vendorCode !== undefined && rule.vendorCodes.includes(failure.vendorCode))) &&
    (!rule.message || rule.message.test(failure.message))
  );
}

export interface HttpFailure {
  status: number;
  vendorCode?: string | undefined;
  message: string;
  retryAfterMs?: number | undefined;
  fieldErrors?: FieldError[] | undefined;
}

/** Rules every vendor shares after its own: anything unlisted falls back by status. */
const fallbackRules: readonly ErrorRule[] = [
  { status: [401], errorClass: 'auth' },
  { status: [403], errorClass: 'permission' },
  { status: [404], errorClass: 'not-found' },
  { status: [409, 412, 300], errorClass: 'conflict' },
  { status: [429], errorClass: 'rate-limited' },
  { status: [400, 422], errorClass: 'validation' },
];

export function classifyHttpFailure(provider: CrmProvider, rules: readonly ErrorRule[], failure: HttpFailure): ConnectorError {
  const rule = [...rules, ...fallbackRules].find((candidate) => matches(candidate, failure));
  const errorClass: ErrorClass = rule?.errorClass ?? (failure.status >= 500 ? 'transient' : 'validation');
  return new ConnectorError({ provider, errorClass, ...failure });
}

/**
 * Rules every token endpoint shares after the vendor's own. Throttling and outages at the token
 * endpoint are passing, exactly as at the API: a connection must never be sent to re-authorise
 * (nor a batch parked) because the vendor's OAuth server was busy. `temporarily_unavailable` and
 * `server_error` are OAuth's own words for that (RFC 6749 §4.1.2.1; Entra documents
 * `temporarily_unavailable` for its token endpoint).
 */
const tokenFallbackRules: readonly ErrorRule[] = [
  { status: [429], errorClass: 'rate-limited' },
  { status: [408], errorClass: 'transient' },
  { vendorCodes: ['temporarily_unavailable', 'server_error'], errorClass: 'transient' },
];

/**
 * The one classification of a token endpoint's answer (refresh grant, client credentials): the
 * vendor's rules first (`spec.tokenErrorRules`), then 429 -> rate-limited (with the vendor's
 * Retry-After), 408 / 5xx -> transient, and an answer that is neither a token nor a refusal (a 2xx
 * without an error code: a proxy page, an empty body) -> transient. Only what is left, a 4xx or an
 * OAuth error code (`invalid_grant`, `invalid_client`, `unauthorized_client`…), is 'auth': the
 * grant itself was refused. A request that got no answer at all is `networkFailure`.
 */
export function classifyTokenFailure(provider: CrmProvider, rules: readonly ErrorRule[], failure: HttpFailure, options?: { cause?: unknown }): ConnectorError {
  const rule = [...rules, ...tokenFallbackRules].find((candidate) => matches(candidate, failure));
  const unusable = failure.status < 400 && failure.vendorCode === undefined;
  const errorClass: ErrorClass = rule?.errorClass ?? (failure.status >= 500 || unusable ? 'transient' : 'auth');
  return new ConnectorError({ provider, errorClass, ...failure, message: `token request failed: ${failure.message}` }, options);
}

/** A network failure (refused, reset, timeout) is transient for every vendor. */
export function networkFailure(provider: CrmProvider, error: unknown): ConnectorError {
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectorError({ provider, errorClass: 'transient', message: `network: ${message}` }, { cause: error });
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

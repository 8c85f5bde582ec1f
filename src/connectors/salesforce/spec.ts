import type { ErrorRule } from '../errors';
import type { RateWindowPolicy } from '../rate-budget';

/**
 * The Salesforce connector as data: versions, batch sizes, budget windows and error rules. What
 * does not fit here is an escape hatch in its own file, with the reason in BEHAVIOR.md.
 */

/** The one pinned REST / Bulk 2.0 version (v46+ answers upserts with `created`, collections upsert exists). */
export const SALESFORCE_API_VERSION = '62.0';

/** The external-id field the canonical sync id is written to, on every object. */
export const SYNC_ID_FIELD = 'Sync_Id__c';

export const salesforceSpec = {
  apiVersion: SALESFORCE_API_VERSION,
  syncIdField: SYNC_ID_FIELD,
  batch: {
    /** sObject Collections take at most 200 records per call [S16]. */
    collectionSize: 200,
    /** The Composite resource takes at most 25 subrequests per call [S46]. */
    compositeSize: 25,
    /** Records per readRecords SOQL (`Id IN (...)` stays well under the 100,000-character SOQL limit). */
    readSize: 200,
    /** Above this many records, upserts go through Bulk API 2.0 instead of collections (architecture §2). */
    bulkThreshold: 5_000,
    /** SOQL returns at most 2,000 rows per batch [S18]; a change page never asks for more. */
    maxQueryPage: 2_000,
    defaultQueryPage: 2_000,
    /** Rows per Bulk 2.0 query results page (`maxRecords`). */
    exportPageSize: 10_000,
  },
  bulk: {
    /** How often a job's state is checked. */
    pollIntervalMs: 250,
    /** Longest one activity step waits for a job; past it the step fails transient and is retried. */
    pollTimeoutMs: 120_000,
  },
  /** How far back the Recycle Bin log reaches (getDeleted: 15 days [S23]). */
  deletedLogDays: 15,
  /**
   * A Salesforce org's daily allocation is a rolling 24 h [S33]; the reserve leaves room for people
   * and other integrations. `quota`: spent = pause the connection, never wait inside a call.
   */
  rateWindows: [{ name: 'daily', limit: 100_000, windowMs: 24 * 60 * 60_000, reserve: 0.1, quota: true }] as const satisfies readonly RateWindowPolicy[],
  /** Salesforce sends no Retry-After on REQUEST_LIMIT_EXCEEDED [S37]: pause this long, then probe. */
  quotaRetryAfterMs: 15 * 60_000,
  /**
   * Ordered rules over the vendor's `errorCode` [S17]; the shared fallbacks (by status) follow.
   * Several Salesforce codes arrive as 400 but are not the record's fault, so codes come first.
   */
  errorRules: [
    { vendorCodes: ['INVALID_SESSION_ID'], errorClass: 'auth' },
    // The daily allocation and the concurrent long-request limit share this code, as a 403 [S34][S35].
    { vendorCodes: ['REQUEST_LIMIT_EXCEEDED', 'TXN_SECURITY_METERING_ERROR'], errorClass: 'quota-exhausted' },
    // Record locks and server hiccups are answered as 400/503 but clear up on retry.
    { vendorCodes: ['UNABLE_TO_LOCK_ROW', 'UNKNOWN_EXCEPTION', 'SERVER_UNAVAILABLE', 'QUERY_TIMEOUT'], errorClass: 'transient' },
    { vendorCodes: ['NOT_FOUND', 'ENTITY_IS_DELETED', 'INVALID_TYPE'], errorClass: 'not-found' },
    { vendorCodes: ['DUPLICATE_VALUE', 'DUPLICATE_EXTERNAL_ID', 'MULTIPLE_CHOICES', 'DUPLICATES_DETECTED'], errorClass: 'conflict' },
    {
      vendorCodes: ['INSUFFICIENT_ACCESS_OR_READONLY', 'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY', 'API_DISABLED_FOR_ORG', 'FUNCTIONALITY_NOT_ENABLED'],
      errorClass: 'permission',
    },
    { status: [500, 502, 503, 504], errorClass: 'transient' },
  ] as const satisfies readonly ErrorRule[],
  /**
   * The token endpoint's answers [S3] before the shared ones (classifyTokenFailure: 429 / 5xx
   * passing, OAuth refusals auth). Since Winter '25 a refresh-token grant made while another with
   * the same refresh token is in flight (two workers on one connection) is refused as 400
   * `invalid_grant` "token request is already being processed" (release notes
   * rn_security_refresh_token_requests, rn_security_refresh_token_error): a concurrency limit, not
   * a refused grant.
   */
  tokenErrorRules: [
    { vendorCodes: ['invalid_grant'], message: /token request is already being processed/i, errorClass: 'rate-limited' },
    // Salesforce's passing token-endpoint failure, `{"error":"unknown_error","error_description":"retry your request"}`
    // (vendor-facts.md S47): a retry succeeds, so it is no refused grant.
    { vendorCodes: ['unknown_error'], errorClass: 'transient' },
  ] as const satisfies readonly ErrorRule[],
} as const;

export type SalesforceSpec = typeof salesforceSpec;

import type { ObjectType } from '../../model/identifiers';
import type { ErrorRule } from '../errors';
import type { RateWindowPolicy } from '../rate-budget';

/**
 * The Zoho CRM connector as data: API version, modules, sizes, budget and error rules. What does
 * not fit here is in its own file (changes.ts: keyset paging by second with an id-ordered pass for
 * bursts), with the reason in BEHAVIOR.md. Source keys [Zn] refer to
 * docs/vendor-facts.md §4b.
 */

/** The one pinned API generation [Z1]. */
export const ZOHO_API_VERSION = 'v6';

/** A lookup field and the reference slot it carries (lookups are single-valued). */
export interface LookupSpec {
  field: string;
  /** A slot that is many-valued canonically (contacts) carries one id here. */
  many: boolean;
}

export interface ModuleSpec {
  module: string;
  lookups: Readonly<Record<string, LookupSpec>>;
}

export const ZOHO_MODULES = {
  contact: { module: 'Contacts', lookups: { company: { field: 'Account_Name', many: false } } },
  company: { module: 'Accounts', lookups: {} },
  // A deal's other contacts are its Contact Roles, a per-deal related list (contact-roles.ts).
  deal: { module: 'Deals', lookups: { company: { field: 'Account_Name', many: false }, primaryContact: { field: 'Contact_Name', many: false } } },
  // What_Id (deal or company, by `$se_module`) is mapped in record-mapper.ts; Who_Id holds one contact.
  activity: { module: 'Tasks', lookups: { contacts: { field: 'Who_Id', many: true } } },
} as const satisfies Record<ObjectType, ModuleSpec>;

/** The unique custom field holding the canonical sync id, unless the connection names another. */
export const DEFAULT_SYNC_ID_FIELD = 'CRM_Sync_Id';

/** Window names; credits are a rolling-24-h quota, so a spent window pauses the connection. */
export const WINDOW_NAMES = { credits: 'credits' } as const;

export const zohoSpec = {
  provider: 'zoho',
  apiVersion: ZOHO_API_VERSION,
  modules: ZOHO_MODULES,
  systemFields: { modifiedTime: 'Modified_Time', modifiedBy: 'Modified_By' },
  paging: {
    /** `per_page` at most 200 [Z8]. */
    maxPage: 200,
    /** Fields per listing call (the `fields` parameter). */
    maxFields: 50,
    /** Ids per `?ids=` read. */
    readChunk: 100,
    /** Criteria per search call. */
    maxCriteria: 10,
  },
  /** Records per create/update/upsert/delete call (secondary [Z6]). */
  writeBatch: 100,
  /** Write calls in flight at once in bulk.upsert (the concurrency limit still bounds them). */
  bulkConcurrency: 3,
  /** Calls in flight per connection: Standard edition's 10 (secondary [Z11]); Free 5, Professional 15. */
  concurrency: 10,
  /**
   * Credits per rolling 24 h [Z10]: Standard's base 50,000 (editions and users raise it: pass the
   * edition's figure via `rateLimits`), with a 10 % reserve for people and other integrations.
   */
  rateWindows: [{ name: WINDOW_NAMES.credits, limit: 50_000, windowMs: 86_400_000, reserve: 0.1, quota: true }] as const satisfies readonly RateWindowPolicy[],
  /** Usage headers fed to RateBudget.observe() (names UNCONFIRMED). */
  rateHeaders: { limit: 'x-ratelimit-limit', remaining: 'x-ratelimit-remaining' },
  /** Ordered rules over Zoho's `code`; the shared status fallbacks follow. */
  errorRules: [
    // A spent day of credits vs too many calls at once (both 429; codes UNCONFIRMED).
    { status: [429], vendorCodes: ['LIMIT_EXCEEDED'], errorClass: 'quota-exhausted' },
    { status: [429], errorClass: 'rate-limited' },
    { vendorCodes: ['INVALID_TOKEN', 'AUTHENTICATION_FAILURE'], errorClass: 'auth' },
    { vendorCodes: ['OAUTH_SCOPE_MISMATCH', 'NO_PERMISSION', 'FEATURE_NOT_SUPPORTED'], errorClass: 'permission' },
    { vendorCodes: ['DUPLICATE_DATA'], errorClass: 'conflict' },
    { vendorCodes: ['INVALID_MODULE', 'INVALID_URL_PATTERN'], errorClass: 'not-found' },
    { vendorCodes: ['INVALID_DATA', 'MANDATORY_NOT_FOUND', 'REQUIRED_PARAM_MISSING', 'LIMIT_REACHED', 'INVALID_QUERY'], errorClass: 'validation' },
    { status: [500, 502, 503, 504], errorClass: 'transient' },
  ] as const satisfies readonly ErrorRule[],
  /**
   * The accounts server's token answers before the shared token rules (classifyTokenFailure: its
   * refusals, HTTP 200 `{"error":"invalid_code"}`, `invalid_client`… [Z2], are 'auth'). Past 10
   * access tokens per refresh token in 10 minutes it answers "Access Denied" with HTTP 200 (some
   * clients log 400) and `error_description` "You have made too many requests continuously…"
   * (Zoho, "Kaizen #43 - Tokens and Limitations"; CRM "Token Validity"): a throttle, blocking for
   * the rest of the ten minutes, not a refused grant. No Retry-After is sent.
   */
  tokenErrorRules: [
    { vendorCodes: ['Access Denied'], errorClass: 'rate-limited' },
    { message: /too many requests/i, errorClass: 'rate-limited' },
  ] as const satisfies readonly ErrorRule[],
  /** When to ask for a token again after the throttle, which gives no Retry-After: a minute, ten tries within its window at most. */
  tokenThrottleRetryMs: 60_000,
} as const;

export type ZohoSpec = typeof zohoSpec;

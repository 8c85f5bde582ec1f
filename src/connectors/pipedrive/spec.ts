import type { ObjectType } from '../../model/identifiers';
import type { ErrorRule } from '../errors';
import type { RateWindowPolicy } from '../rate-budget';

/**
 * The Pipedrive connector as data: paths, sizes, costs, budget windows and error rules. Source
 * keys [Pn] refer to docs/vendor-facts.md §4a.
 */

/** The one pinned API generation: v2 records and search; v1 only where v2 has nothing (fields, webhooks) [P1]. */
export const PIPEDRIVE_API = {
  version: 'v2',
  recordsPath: '/api/v2',
  fieldsPath: '/v1',
  /** OAuth token endpoint [P1]. */
  defaultTokenUrl: 'https://oauth.pipedrive.com/oauth/token',
} as const;

/** The custom field (by name) that holds the canonical sync id when no key is configured. */
export const DEFAULT_SYNC_ID_FIELD_NAME = 'crm_sync_id';

/** A Pipedrive custom field key: a 40-character hex hash, per company and entity. */
export const CUSTOM_FIELD_KEY = /^[0-9a-f]{40}$/;

export type PipedriveEntity = 'persons' | 'organizations' | 'deals' | 'activities';

/**
 * Per canonical object: the v2 entity, its singular (field endpoints), whether v2 has a search
 * endpoint for it (activities have none) and how its deleted records are listed: deals by
 * `status=deleted` [P1]; the others by `is_deleted=true` (UNCONFIRMED, BEHAVIOR.md).
 */
export const PIPEDRIVE_OBJECTS = {
  contact: { entity: 'persons', singular: 'person', searchable: true, deletedFilter: { is_deleted: 'true' } },
  company: { entity: 'organizations', singular: 'organization', searchable: true, deletedFilter: { is_deleted: 'true' } },
  deal: { entity: 'deals', singular: 'deal', searchable: true, deletedFilter: { status: 'deleted' } },
  activity: { entity: 'activities', singular: 'activity', searchable: false, deletedFilter: { is_deleted: 'true' } },
} as const satisfies Record<ObjectType, { entity: PipedriveEntity; singular: string; searchable: boolean; deletedFilter: Record<string, string> }>;

/** Daily-budget token cost per call kind [P3]; `sublist`: a deal's participants (list or changelog), 10 [P13][P15]. */
export const TOKEN_COSTS = { get: 2, list: 20, update: 10, delete: 6, search: 40, sublist: 10 } as const;
export type CallKind = keyof typeof TOKEN_COSTS;

/** Window names the budget routes by: `burst` every call, `search` searches, `daily` every call at its token cost. */
export const WINDOW_NAMES = { burst: 'burst', search: 'search', daily: 'daily-tokens' } as const;

/** Growth plan, one seat: 30,000 x 2 tokens a day; 40 (API token) or 160 (OAuth) per rolling 2 s; search 10 per 2 s [P3]. */
export function defaultRateWindows(authKind: 'api-token' | 'oauth'): RateWindowPolicy[] {
  return [
    // Pipedrive counts a call when it arrives, the budget when it is sent: a call delayed on the
    // way (a loaded machine, the network) lands in the window a later one opens. With the default
    // 100 ms of guard the 150-record write of test/connectors/pipedrive/rate.test.ts drew a 429
    // with both cores saturated; 300 ms (as HubSpot's ten-secondly window) costs a burst 10 %.
    { name: WINDOW_NAMES.burst, limit: authKind === 'oauth' ? 160 : 40, windowMs: 2_000, guardMs: 300 },
    { name: WINDOW_NAMES.search, limit: 10, windowMs: 2_000, guardMs: 300 },
    { name: WINDOW_NAMES.daily, limit: 60_000, windowMs: 86_400_000, reserve: 0.1, quota: true },
  ];
}

export const pipedriveSpec = {
  objects: PIPEDRIVE_OBJECTS,
  paging: {
    /** v2 lists and searches: 100 by default, 500 at most [P1][P2]. */
    maxLimit: 500,
    /** `ids=` takes up to 100 ids per list call. */
    idsPerList: 100,
    /** Up to this many ids are read one GET each (2 tokens) rather than one list (20 tokens). */
    singleReadsUpTo: 10,
    /** More match values than this: one full scan (20 tokens per 500) beats one search per value (40 each). */
    searchesBeforeScan: 20,
  },
  /** Writes in flight per upsertRecords call (live) and per bulk.upsert; the budget still paces them. */
  liveConcurrency: 2,
  bulkConcurrency: 4,
  /**
   * Ordered rules over the vendor code the connector extracts (errors.ts): Pipedrive's 429 does
   * not say which limit refused (body UNCONFIRMED [P3]), so a 429 whose message names the daily
   * budget is a quota; any other 429 is the burst window.
   */
  errorRules: [
    { status: [429], vendorCodes: ['DAILY_BUDGET'], errorClass: 'quota-exhausted' },
    { status: [429], errorClass: 'rate-limited' },
    { status: [401], errorClass: 'auth' },
    // The OAuth endpoint answers a revoked refresh token or wrong client with 400/401 OAuth codes.
    { vendorCodes: ['invalid_grant', 'invalid_client', 'unauthorized_client'], errorClass: 'auth' },
    { status: [403], errorClass: 'permission' },
    { status: [404], errorClass: 'not-found' },
    { status: [409], errorClass: 'conflict' },
    { status: [400, 422], errorClass: 'validation' },
    { status: [500, 502, 503, 504], errorClass: 'transient' },
  ] as const satisfies readonly ErrorRule[],
} as const;

export type PipedriveSpec = typeof pipedriveSpec;

import type { ObjectType } from '../../model/identifiers';
import type { ErrorRule } from '../errors';
import type { RateWindowPolicy } from '../rate-budget';

/**
 * The HubSpot connector as data: paths, sizes, budget windows and error rules. What does not fit
 * here is an escape hatch in its own file (changes.ts: the 10,000-result search cap), with the
 * reason in BEHAVIOR.md. Source keys [Hn] refer to docs/vendor-facts.md §2.
 */

/**
 * The one pinned API generation: CRM v3 objects, v4 associations, OAuth v1 [H9]. Date-versioned
 * paths (`/crm/objects/2026-03/...`) arrive with a later SDK; semantic paths work until
 * September 2027 [H3].
 */
export const HUBSPOT_API = {
  version: 'v3',
  associationsVersion: 'v4',
  defaultBasePath: 'https://api.hubapi.com',
  tokenPath: '/oauth/v1/token',
} as const;

/** The custom unique property the canonical sync id is written to, on every object (upsert idProperty). */
export const SYNC_ID_PROPERTY = 'crm_sync_id';

/**
 * Per canonical object: HubSpot's path name, type id and last-modified property [H11]. For
 * `activity` this is the tasks object, what the mapping and property descriptions speak of; reads
 * and writes cover every activity object (activity-kinds.ts `targetsOf`).
 */
export const HUBSPOT_OBJECTS = {
  contact: { path: 'contacts', typeId: '0-1', modstamp: 'lastmodifieddate' },
  company: { path: 'companies', typeId: '0-2', modstamp: 'hs_lastmodifieddate' },
  deal: { path: 'deals', typeId: '0-3', modstamp: 'hs_lastmodifieddate' },
  activity: { path: 'tasks', typeId: '0-27', modstamp: 'hs_lastmodifieddate' },
} as const satisfies Record<ObjectType, { path: string; typeId: string; modstamp: string }>;

/**
 * Every object path the connector calls: the four above and the activity objects a kind other
 * than task lives in (activity-kinds.ts) [H55].
 */
export type HubSpotObjectPath = (typeof HUBSPOT_OBJECTS)[ObjectType]['path'] | 'calls' | 'emails' | 'meetings';

/** Window names the budget routes by: `search` guards search calls only, `daily` every call, the rest non-search calls. */
export const WINDOW_NAMES = { tenSecondly: 'ten-secondly', search: 'search', daily: 'daily' } as const;

export const hubspotSpec = {
  syncIdProperty: SYNC_ID_PROPERTY,
  /**
   * Longest text a property holds: 65,536 characters (UNCONFIRMED, HubSpot's knowledge base on
   * property field types; the properties API does not describe it).
   */
  stringMaxLength: 65_536,
  objects: HUBSPOT_OBJECTS,
  paging: {
    /** Batch read/create/update/upsert take 100 inputs [H9][H10]. */
    batchSize: 100,
    /** A batch read asking for property histories takes 50 (secondary source [H35]). */
    historyBatchSize: 50,
    /** Search pages hold at most 200 [H12]. */
    searchPage: 200,
    /** Search answers at most 10,000 results per query; following `after` past it is a 400 [H13]. */
    searchResultCap: 10_000,
    /** List (`GET /objects/{type}`) pages hold at most 100. */
    listPage: 100,
    /** A v4 batch association read takes 1,000 ids [H50]. */
    associationReadBatch: 1000,
    /** Pairs per v4 batch association create / archive: HubSpot's limit is UNCONFIRMED; the objects' batch size is kept. */
    associationWriteBatch: 100,
  },
  /** Batch upserts in flight at once in bulk.upsert; the budget still paces them. */
  bulkConcurrency: 4,
  /**
   * Airbyte's HubSpot budget, typed [style.md]: search 5/s, everything else 100 per 10 s
   * (Free/Starter private app; Professional and up pass their own via `rateLimits`) [H15][H16][H33],
   * and the portal's day with a reserve for people and other integrations [H16]. The budget keeps
   * a rolling log, so each window runs close to its full limit (less a bucket and a jitter guard).
   */
  rateWindows: [
    // A backfill spends this window in bursts: a whole window's calls become due together when the
    // last burst ages out, right at the edge, where jitter decides. With 100 ms of guard a
    // backfill on a loaded machine drew three 429s (bench/backfill-ceiling.bench.ts).
    { name: WINDOW_NAMES.tenSecondly, limit: 100, windowMs: 10_000, guardMs: 300 },
    { name: WINDOW_NAMES.search, limit: 5, windowMs: 1_000 },
    { name: WINDOW_NAMES.daily, limit: 250_000, windowMs: 86_400_000, reserve: 0.1, quota: true },
  ] as const satisfies readonly RateWindowPolicy[],
  /**
   * Ordered rules over the vendor's `category` / `policyName` [H8][H20][H21]; the shared fallbacks
   * (by status) follow. HubSpot's 429s differ by policy: only DAILY is a quota.
   */
  errorRules: [
    { status: [429], vendorCodes: ['DAILY'], errorClass: 'quota-exhausted' },
    { status: [429], errorClass: 'rate-limited' },
    { status: [401], errorClass: 'auth' },
    // The OAuth endpoint answers a revoked or unknown refresh token with 400, not 401 [H5].
    { vendorCodes: ['BAD_REFRESH_TOKEN', 'BAD_CLIENT_ID', 'BAD_CLIENT_SECRET', 'BAD_AUTH_CODE'], errorClass: 'auth' },
    { vendorCodes: ['OBJECT_NOT_FOUND'], errorClass: 'not-found' },
    { status: [409], errorClass: 'conflict' },
    { vendorCodes: ['CONFLICT', 'OBJECT_ALREADY_EXISTS'], errorClass: 'conflict' },
    { vendorCodes: ['MISSING_SCOPES'], errorClass: 'permission' },
    // HubSpot answers a locked record (merges, imports in progress) with 423; it clears on retry.
    { status: [423, 500, 502, 503, 504], errorClass: 'transient' },
    { status: [400], vendorCodes: ['VALIDATION_ERROR'], errorClass: 'validation' },
  ] as const satisfies readonly ErrorRule[],
} as const;

export type HubSpotSpec = typeof hubspotSpec;

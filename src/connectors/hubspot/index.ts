import type { ObjectType } from '../../model/identifiers';
import { compileMapping, ownersOnly } from '../../model/mapping';
import type { CrmConnector, FieldDescription } from '../connector';
import { DEFAULT_LOOKBACK_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectorBaseOptions } from '../connector-options';
import type { RateBudgetSnapshot } from '../rate-budget';
import { KIND_MAPPINGS } from './activity-kinds';
import { createApis } from './api';
import { createTokenProvider, type HubSpotAuth } from './auth';
import { createBulkPath } from './bulk';
import { listChanges } from './changes';
import type { HubSpotContext } from './context';
import { deleteRecords } from './deletes';
import { listDeletions } from './deletions';
import { hubspotDefaultMapping } from './default-mapping';
import { hubspotJournalFeed, type JournalSettings } from './journal/feed';
import { JournalClient, type JournalAppCredentials } from './journal/journal-client';
import { fieldEditTimes } from './field-history';
import { findByUniqueKeys, readRecords } from './records';
import { RequestRunner } from './request-runner';
import { HUBSPOT_API, HUBSPOT_OBJECTS, hubspotSpec } from './spec';
import { upsertAll } from './upsert';
import type { ObjectConstraints } from '../../model/field-constraints';
import { writeGuard } from '../write-constraints';
import { createHubSpotSubscriber, type HubSpotWebhookApp } from './webhook-subscriptions';

export { hubspotDefaultMapping } from './default-mapping';
export { hubspotSpec, HUBSPOT_API, HUBSPOT_OBJECTS, SYNC_ID_PROPERTY } from './spec';
export type { HubSpotAuth, HubSpotOAuthAuth, HubSpotPrivateAppAuth } from './auth';
export { classifyHubSpotFailure } from './errors';

export type { HubSpotWebhookApp } from './webhook-subscriptions';

export interface HubSpotConnectorOptions extends ConnectorBaseOptions {
  /** The vendor (`https://api.hubapi.com`, the default) or a sandbox's URL. */
  basePath?: string | undefined;
  auth: HubSpotAuth;
  /**
   * The legacy public app's id and the developer account's API key: with them the connector
   * configures the app's webhooks itself; without, `webhookSubscriptions` answers what to set by hand.
   */
  webhookApp?: HubSpotWebhookApp | undefined;
  /**
   * The webhooks journal (v4) as the change feed: the portal read, and the app whose
   * client-credentials token reads it (by default the OAuth app of `auth`) [H102].
   */
  journal?: (JournalSettings & { app?: JournalAppCredentials | undefined }) | undefined;
}

export interface HubSpotConnector extends CrmConnector {
  readonly provider: 'hubspot';
  /** Calls sent to HubSpot so far, not counting token refreshes (tests and metrics). */
  readonly requestCount: number;
  /** Token refreshes that actually ran (single-flight: concurrent 401s share one). */
  readonly tokenRefreshCount: number;
  fieldEditTimes: NonNullable<CrmConnector['fieldEditTimes']>;
}

/** A upsertRecords call is the live path: a few batches in flight keep latency low without starving bulk work. */
const LIVE_CHUNKS_IN_FLIGHT = 2;

export async function createHubSpotConnector(options: HubSpotConnectorOptions): Promise<HubSpotConnector> {
  const basePath = (options.basePath ?? HUBSPOT_API.defaultBasePath).replace(/\/+$/, '');
  // Validated now, with the path of every bad entry, rather than at the first record.
  const mapping = compileMapping(hubspotDefaultMapping, options.mappingOverride);
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // The token endpoint gets the runner's timeout agent; the closure runs only after the runner exists.
  const tokens = createTokenProvider(options.auth, basePath, () => runner.plainOptions(), { store: options.tokenStore, now: options.tokenClock, onRefreshed: options.onTokenRefreshed });
  const runner: RequestRunner = new RequestRunner({
    connectionId: options.connectionId,
    basePath,
    tokens,
    windows: options.rateLimits ?? hubspotSpec.rateWindows,
    pool: options.pool,
    maxBudgetWaitMs: options.maxBudgetWaitMs,
    requestTimeoutMs,
  });
  const kindMappings = {
    task: mapping,
    call: compileMapping(KIND_MAPPINGS.call, ownersOnly(options.mappingOverride)),
    email: compileMapping(KIND_MAPPINGS.email, ownersOnly(options.mappingOverride)),
    meeting: compileMapping(KIND_MAPPINGS.meeting, ownersOnly(options.mappingOverride)),
  };
  const ctx: HubSpotContext = { apis: createApis(basePath), runner, mapping, kindMappings, lookbackMs: options.lookbackMs ?? DEFAULT_LOOKBACK_MS, now: Date.now };
  // Every write is checked against the property definitions first: what cannot fit is parked, not sent.
  const guarded = writeGuard({ provider: 'hubspot', mapping, describe: (objectType) => describeConstraints(ctx, objectType) });
  const bulk = createBulkPath(ctx);
  const journalApp = options.journal?.app ?? (options.auth.kind === 'oauth' ? { clientId: options.auth.clientId, clientSecret: options.auth.clientSecret } : undefined);
  const changeEvents = options.journal && journalApp ? hubspotJournalFeed(ctx, new JournalClient(basePath, journalApp, options.journal.portalId, requestTimeoutMs)) : undefined;

  return {
    provider: 'hubspot',
    get requestCount() {
      return runner.requestCount;
    },
    get tokenRefreshCount() {
      return tokens.refreshCount;
    },
    listChanges: (objectType, request) => listChanges(ctx, objectType, request),
    readRecords: (objectType, externalIds) => readRecords(ctx, objectType, externalIds),
    fieldEditTimes: (objectType, requests) => fieldEditTimes(ctx, objectType, requests),
    findByUniqueKeys: (objectType, keys) => findByUniqueKeys(ctx, objectType, keys),
    upsertRecords: guarded((objectType, inputs) => upsertAll(ctx, objectType, inputs, LIVE_CHUNKS_IN_FLIGHT)),
    deleteRecords: (objectType, externalIds) => deleteRecords(ctx, objectType, externalIds),
    listDeletions: (objectType, request) => listDeletions(ctx, objectType, request),
    bulk: { ...bulk, upsert: guarded((objectType, inputs) => bulk.upsert(objectType, inputs)) },
    describeFields: (objectType) => describeFields(ctx, objectType),
    rateBudget: (): Promise<RateBudgetSnapshot> => runner.snapshot(),
    webhookSubscriptions: createHubSpotSubscriber({
      basePath,
      app: options.webhookApp,
      oauth: options.auth.kind === 'oauth' ? { clientSecret: options.auth.clientSecret, accessToken: () => tokens.token() } : undefined,
      mappingOf: (target) => (target.kind === undefined ? mapping : kindMappings[target.kind]),
    }),
    changeEvents,
  };
}

/**
 * What HubSpot's property definitions say a written value must fit [H9][H45]: an enumeration's
 * options (not those with `externalOptions`, e.g. pipeline stages, whose values live in the
 * pipelines), and for text the 65,536 characters a property holds (not described by the API:
 * STRING_MAX_LENGTH, UNCONFIRMED). HubSpot requires no property through the API.
 */
async function describeConstraints(ctx: HubSpotContext, objectType: ObjectType): Promise<ObjectConstraints> {
  const path = HUBSPOT_OBJECTS[objectType].path;
  // https://developers.hubspot.com/docs/api/crm/properties (GET /crm/v3/properties/{objectType})
  const response = await ctx.runner.run('standard', (options) => ctx.apis.properties.getAll(path, false, undefined, options));
  const fields = response.results
    .filter((property) => property.modificationMetadata?.readOnlyValue !== true && property.calculated !== true)
    .map((property) => ({
      name: property.name,
      maxLength: property.type === 'string' ? hubspotSpec.stringMaxLength : undefined,
      allowedValues: property.type === 'enumeration' && property.externalOptions !== true && property.options.length > 0 ? property.options.map((option) => option.value) : undefined,
    }));
  return { vendor: 'HubSpot', object: path, fields };
}

async function describeFields(ctx: HubSpotContext, objectType: ObjectType): Promise<FieldDescription[]> {
  const path = HUBSPOT_OBJECTS[objectType].path;
  // https://developers.hubspot.com/docs/api/crm/properties (GET /crm/v3/properties/{objectType})
  const response = await ctx.runner.run('standard', (options) => ctx.apis.properties.getAll(path, false, undefined, options));
  return response.results.map((property) => ({
    name: property.name,
    label: property.label,
    type: property.fieldType === 'select' || property.fieldType === 'radio' ? 'picklist' : property.type,
    custom: property.hubspotDefined !== true,
    externalId: property.hasUniqueValue === true,
    picklistValues: property.options.length > 0 ? property.options.map((option) => option.value) : undefined,
  }));
}

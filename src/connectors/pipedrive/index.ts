import type { ObjectType } from '../../model/identifiers';
import { compileMapping } from '../../model/mapping';
import type { CrmConnector, FieldDescription } from '../connector';
import { DEFAULT_LOOKBACK_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectorBaseOptions } from '../connector-options';
import type { SingleFlightTokenProvider } from '../token-provider';
import { createOAuthTokens, type PipedriveAuth } from './auth';
import { createBulkPath } from './bulk';
import { listChanges, listDeletions } from './changes';
import { FieldDefinitions, SyncIdKeys, type PipedriveContext } from './context';
import { pipedriveDefaultMapping } from './default-mapping';
import { createAgent, PipedriveHttp, type PipedriveCredential } from './http';
import { findByUniqueKeys, readRecords } from './records';
import { CUSTOM_FIELD_KEY, DEFAULT_SYNC_ID_FIELD_NAME, defaultRateWindows, PIPEDRIVE_OBJECTS, pipedriveSpec } from './spec';
import type { FieldConstraint, ObjectConstraints } from '../../model/field-constraints';
import { writeGuard } from '../write-constraints';
import { deleteAll, upsertAll } from './upsert';
import { fieldEditTimes } from './field-history';
import { pipedriveWebhookSubscriber } from './webhook-subscriptions';

export { pipedriveDefaultMapping } from './default-mapping';
export { pipedriveSpec, PIPEDRIVE_API, PIPEDRIVE_OBJECTS, TOKEN_COSTS, defaultRateWindows, DEFAULT_SYNC_ID_FIELD_NAME } from './spec';
export { classifyPipedriveFailure } from './errors';
export type { PipedriveAuth, PipedriveApiTokenAuth, PipedriveOAuthAuth } from './auth';

export interface PipedriveConnectorOptions extends ConnectorBaseOptions {
  /** The company's API domain (`https://<company>.pipedrive.com`, OAuth's `api_domain`) or a sandbox's URL. */
  apiDomain: string;
  auth: PipedriveAuth;
  /** The sync id custom field's key per object; objects left out are found by `syncIdFieldName`. */
  syncIdFieldKeys?: Partial<Record<ObjectType, string>> | undefined;
  /** @default 'crm_sync_id' */
  syncIdFieldName?: string | undefined;
  /** How far back an unlinked activity is looked for by sync id (no activity search at Pipedrive). @default 24 h */
  activityLookupWindowMs?: number | undefined;
}

export interface PipedriveConnector extends CrmConnector {
  readonly provider: 'pipedrive';
  /** Calls sent to Pipedrive so far, not counting token refreshes (tests and metrics). */
  readonly requestCount: number;
  /** Token refreshes that actually ran (single-flight: concurrent 401s share one). */
  readonly tokenRefreshCount: number;
  fieldEditTimes: NonNullable<CrmConnector['fieldEditTimes']>;
  close(): Promise<void>;
}

export async function createPipedriveConnector(options: PipedriveConnectorOptions): Promise<PipedriveConnector> {
  const apiDomain = options.apiDomain.replace(/\/+$/, '');
  // Validated now, with the path of every bad entry, rather than at the first record.
  const mapping = compileMapping(pipedriveDefaultMapping, options.mappingOverride);
  for (const [objectType, key] of Object.entries(options.syncIdFieldKeys ?? {})) {
    if (!CUSTOM_FIELD_KEY.test(key)) throw new Error(`syncIdFieldKeys.${objectType} must be a 40-character custom field key, got "${key}"`);
  }
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const windows = options.rateLimits === false ? [] : (options.rateLimits ?? defaultRateWindows(options.auth.kind));
  const agent = createAgent(timeoutMs);
  const tokens: SingleFlightTokenProvider | undefined = options.auth.kind === 'oauth' ? createOAuthTokens(options.auth, agent, timeoutMs, { store: options.tokenStore, now: options.tokenClock, onRefreshed: options.onTokenRefreshed }) : undefined;
  const credential: PipedriveCredential = options.auth.kind === 'api-token' ? { kind: 'api-token', apiToken: options.auth.apiToken } : { kind: 'oauth', tokens: tokens as SingleFlightTokenProvider };
  const http = new PipedriveHttp({ connectionId: options.connectionId, agent, apiDomain, credential, windows, pool: options.pool, maxBudgetWaitMs: options.maxBudgetWaitMs, timeoutMs });
  const fields = new FieldDefinitions(http);
  const ctx: PipedriveContext = {
    http,
    mapping,
    lookbackMs: options.lookbackMs ?? DEFAULT_LOOKBACK_MS,
    fields,
    syncIdKeys: new SyncIdKeys(fields, options.syncIdFieldKeys ?? {}, options.syncIdFieldName ?? DEFAULT_SYNC_ID_FIELD_NAME),
    activityLookupWindowMs: options.activityLookupWindowMs ?? 86_400_000,
  };

  // Every write is checked against the field definitions first: what cannot fit is parked, not sent.
  const guarded = writeGuard({ provider: 'pipedrive', mapping: ctx.mapping, describe: (objectType, { fresh }) => describeConstraints(ctx, objectType, fresh) });
  const bulk = createBulkPath(ctx);

  return {
    provider: 'pipedrive',
    get requestCount() {
      return http.requestCount;
    },
    get tokenRefreshCount() {
      return tokens?.refreshCount ?? 0;
    },
    listChanges: (objectType, request) => listChanges(ctx, objectType, request),
    readRecords: (objectType, externalIds) => readRecords(ctx, objectType, externalIds),
    fieldEditTimes: (objectType, requests) => fieldEditTimes(ctx, objectType, requests),
    findByUniqueKeys: (objectType, keys) => findByUniqueKeys(ctx, objectType, keys),
    upsertRecords: guarded((objectType, inputs) => upsertAll(ctx, objectType, inputs, pipedriveSpec.liveConcurrency)),
    deleteRecords: (objectType, externalIds) => deleteAll(ctx, objectType, externalIds, pipedriveSpec.liveConcurrency),
    listDeletions: (objectType, request) => listDeletions(ctx, objectType, request),
    bulk: { ...bulk, upsert: guarded((objectType, inputs) => bulk.upsert(objectType, inputs)) },
    describeFields: (objectType) => describeFields(ctx, objectType),
    rateBudget: () => http.snapshot(),
    webhookSubscriptions: pipedriveWebhookSubscriber(http),
    // Idempotent: a replaced connector may be closed by more than one owner.
    close: async () => {
      if (!http.agent.closed && !http.agent.destroyed) await http.agent.close();
    },
  };
}

/** Longest text per field type: "Text (up to 255 characters)", "Long text (up to 65k characters)" [P7]. */
const MAX_LENGTH: Record<string, number> = { varchar: 255, varchar_auto: 255, phone: 255, text: 65_535 };

/**
 * What a v2 create refuses to do without: the request bodies' required parameters [P9]. Not
 * `mandatory_flag`: required-field settings are for Pipedrive's web UI, the API creates a person
 * without a name (and with a UI-mandatory custom field empty).
 */
const REQUIRED_ON_CREATE: Partial<Record<string, string>> = { organizations: 'name', deals: 'title' };

/**
 * What Pipedrive's field definitions say a written value must fit [P7]: the length the field type
 * implies (the definitions carry none), an `enum`'s option ids, and on create the request's
 * required parameter [P9].
 */
async function describeConstraints(ctx: PipedriveContext, objectType: ObjectType, fresh: boolean): Promise<ObjectConstraints> {
  const entity = PIPEDRIVE_OBJECTS[objectType].entity;
  const fields = (await ctx.fields.of(objectType, { fresh })).map(
    (field): FieldConstraint => ({
      name: field.key,
      maxLength: MAX_LENGTH[field.field_type],
      requiredOnCreate: REQUIRED_ON_CREATE[entity] === field.key,
      allowedValues: field.field_type === 'enum' && field.options && field.options.length > 0 ? field.options.map((option) => String(option.id)) : undefined,
    }),
  );
  return { vendor: 'Pipedrive', object: entity, fields };
}

/** Field definitions (`GET /v1/{singular}Fields`): custom fields have 40-hex keys; the sync id field is the external id. */
async function describeFields(ctx: PipedriveContext, objectType: ObjectType): Promise<FieldDescription[]> {
  // Read again: someone asking for the field list may just have added one.
  const [fields, syncIdKey] = await Promise.all([ctx.fields.of(objectType, { fresh: true }), ctx.syncIdKeys.keyFor(objectType)]);
  return fields.map((field) => ({
    name: field.key,
    label: field.name,
    type: field.field_type,
    custom: CUSTOM_FIELD_KEY.test(field.key),
    externalId: field.key === syncIdKey,
    picklistValues: field.options && field.options.length > 0 ? field.options.map((option) => String(option.id)) : undefined,
  }));
}

import type { ObjectType } from '../../model/identifiers';
import { compileMapping, MappingValueError, type CompiledMapping } from '../../model/mapping';
import type { BulkPath, ChangePage, ChangesRequest, CrmConnector, DeleteOutcome, DeletionPage, ExternalRecord, FieldDescription, UniqueKeyQuery, UpsertInput, UpsertOutcome } from '../connector';
import { DEFAULT_LOOKBACK_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectorBaseOptions } from '../connector-options';
import { ConnectorError } from '../errors';
import type { RateBudgetSnapshot } from '../rate-budget';
import type { SalesforceGrant } from './auth';
import { deleteActivities, listActivityDeletions, readActivities, upsertActivities, type ActivityMappings, type ActivityWrite } from './activities';
import { listActivityChanges } from './activity-changes';
import { compileEventMapping } from './activity-objects';
import { bulkUpsert, readExportPage, startExport, type BulkSettings } from './bulk';
import { listChanges } from './changes';
import { listDealChanges } from './deal-changes';
import { salesforceDefaultMapping } from './default-mapping';
import { listDeletions } from './deletions';
import { deleteRecords, describeConstraints, describeFields, findByUniqueKeys, readRecords, upsertViaCollections } from './records';
import { writeGuard } from '../write-constraints';
import { attachRoles, RoleIndex, writeDealRoles } from './roles';
import { createBudget, SalesforceSession } from './session';
import { salesforceSpec } from './spec';
import { salesforceChangeEvents, type PubSubSettings } from './change-events/feed';
import { changeDataCaptureSubscriber, outboundMessageSubscriber } from './change-events/selection';

export { salesforceDefaultMapping } from './default-mapping';
export { salesforceSpec, SALESFORCE_API_VERSION, SYNC_ID_FIELD } from './spec';
export type { SalesforceGrant } from './auth';

export interface SalesforceConnectorOptions extends ConnectorBaseOptions {
  /** The org's instance, e.g. `https://acme.my.salesforce.com` (updated from each token answer). */
  instanceUrl: string;
  /** Token endpoint host. @default 'https://login.salesforce.com' */
  loginUrl?: string;
  credentials: SalesforceGrant;
  /** A still-valid access token from an earlier run. */
  accessToken?: string | undefined;
  /** Client id in `Sforce-Call-Options`, so change events show our own writes. @default 'crm-sync' */
  clientName?: string;
  /** Bulk API 2.0 polling and paging. */
  bulk?: Partial<BulkSettings>;
  /** Change Data Capture over the Pub/Sub API; absent = no change feed (webhooks and polling only). */
  pubSub?: PubSubSettings | undefined;
  /**
   * The connection hears changes through Change Data Capture (settings `sync.changeEvents: 'cdc'`):
   * subscribing selects the synced objects on the ChangeEvents channel. Otherwise subscribing
   * answers the Outbound Message set-up an admin does in Setup.
   */
  changeDataCapture?: boolean | undefined;
}

export interface SalesforceConnector extends CrmConnector {
  readonly provider: 'salesforce';
  /** Token refreshes this connector ran (metrics, tests). */
  readonly tokenRefreshes: number;
  /** The vendor's last reported daily usage (`Sforce-Limit-Info`). */
  readonly apiUsage: { used: number; limit: number } | undefined;
}

/** A mapping that cannot read or write a value fails as validation, naming the field. */
async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof MappingValueError)) throw error;
    throw new ConnectorError({ provider: 'salesforce', errorClass: 'validation', message: error.message, fieldErrors: [{ field: error.field, message: error.message }] }, { cause: error });
  }
}

/** Builds the Salesforce connector; throws MappingSpecError (with paths) for a bad tenant override. */
export async function createSalesforceConnector(options: SalesforceConnectorOptions): Promise<SalesforceConnector> {
  const mapping: CompiledMapping = compileMapping(salesforceDefaultMapping, options.mappingOverride);
  const lookbackMs = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
  const bulkSettings: BulkSettings = {
    pollIntervalMs: options.bulk?.pollIntervalMs ?? salesforceSpec.bulk.pollIntervalMs,
    pollTimeoutMs: options.bulk?.pollTimeoutMs ?? salesforceSpec.bulk.pollTimeoutMs,
    exportPageSize: options.bulk?.exportPageSize ?? salesforceSpec.batch.exportPageSize,
  };
  const budget = createBudget({ connectionId: options.connectionId, pool: options.pool, rateLimits: options.rateLimits, maxBudgetWaitMs: options.maxBudgetWaitMs });
  const session = new SalesforceSession({
    instanceUrl: options.instanceUrl,
    loginUrl: options.loginUrl ?? 'https://login.salesforce.com',
    credentials: options.credentials,
    accessToken: options.accessToken,
    onRefreshed: options.onTokenRefreshed,
    store: options.tokenStore,
    now: options.tokenClock,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    clientName: options.clientName ?? 'crm-sync',
    budget,
  });

  const roleIndex = new RoleIndex();
  // A deal's contacts are its OpportunityContactRole rows: read with every page of deals, written
  // after the opportunities on every write path (roles.ts).
  const readDeals = async (objectType: ObjectType, records: ExternalRecord[]): Promise<ExternalRecord[]> => (objectType === 'deal' ? await attachRoles(session, roleIndex, records) : records);
  const withRoleWrites =
    (write: (objectType: ObjectType, inputs: readonly UpsertInput[]) => Promise<UpsertOutcome[]>) =>
    async (objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> => {
      const outcomes = await write(objectType, inputs);
      return objectType === 'deal' ? await writeDealRoles(session, roleIndex, inputs, outcomes) : outcomes;
    };

  // Every write is checked against describe first: what cannot fit is parked, not sent.
  const guarded = writeGuard({ provider: 'salesforce', mapping, describe: (objectType) => describeConstraints(session, mapping, objectType) });

  // Activities are Tasks (the tenant's mapping) and Events (meetings: their own table, activities.ts).
  const eventMapping = compileEventMapping(options.mappingOverride);
  const activityMappings: ActivityMappings = { Task: mapping, Event: eventMapping };
  const guardedEvent = writeGuard({ provider: 'salesforce', mapping: eventMapping, describe: (objectType) => describeConstraints(session, eventMapping, objectType) });
  const activityWrite =
    (path: 'live' | 'bulk'): ActivityWrite =>
    (object, inputs) =>
      (object === 'Event' ? guardedEvent : guarded)((objectType, routed) =>
        path === 'bulk' || routed.length > salesforceSpec.batch.bulkThreshold ? bulkUpsert(session, activityMappings[object], objectType, routed, bulkSettings) : upsertViaCollections(session, activityMappings[object], objectType, routed),
      )('activity', inputs);
  const exportMappings = (objectType: ObjectType): CompiledMapping[] => (objectType === 'activity' ? [mapping, eventMapping] : [mapping]);

  const bulk: BulkPath = {
    startExport: (objectType: ObjectType, request?: { since?: string | undefined }): Promise<string> => startExport(session, exportMappings(objectType), objectType, request?.since, bulkSettings),
    readExportPage: (cursor: string) =>
      mapped(async () => {
        const page = await readExportPage(session, (object) => (object === 'Event' ? eventMapping : mapping), cursor, bulkSettings);
        return { records: await readDeals(page.objectType, page.records), nextCursor: page.nextCursor };
      }),
    upsert: (objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> =>
      objectType === 'activity'
        ? upsertActivities(session, inputs, activityWrite('bulk'))
        : guarded(withRoleWrites((type: ObjectType, routed: readonly UpsertInput[]): Promise<UpsertOutcome[]> => bulkUpsert(session, mapping, type, routed, bulkSettings)))(objectType, inputs),
  };

  return {
    provider: 'salesforce',
    bulk,
    changeEvents: options.pubSub ? salesforceChangeEvents(session, options.pubSub) : undefined,
    webhookSubscriptions: options.changeDataCapture ? changeDataCaptureSubscriber(session) : outboundMessageSubscriber,
    get tokenRefreshes() {
      return session.tokens.refreshCount;
    },
    get apiUsage() {
      return session.apiUsage;
    },
    listChanges: (objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> =>
      mapped(() =>
        objectType === 'deal'
          ? listDealChanges(session, mapping, roleIndex, request, lookbackMs)
          : objectType === 'activity'
            ? listActivityChanges(session, activityMappings, request, lookbackMs)
            : listChanges(session, mapping, objectType, request, lookbackMs),
      ),
    readRecords: (objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> =>
      mapped(async () => (objectType === 'activity' ? await readActivities(session, activityMappings, externalIds) : await readDeals(objectType, await readRecords(session, mapping, objectType, externalIds)))),
    findByUniqueKeys: (objectType: ObjectType, keys: UniqueKeyQuery): Promise<ExternalRecord[]> => mapped(() => findByUniqueKeys(session, mapping, objectType, keys)),
    upsertRecords: (objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> =>
      objectType === 'activity'
        ? upsertActivities(session, inputs, activityWrite('live'))
        : guarded(
            withRoleWrites((type: ObjectType, routed: readonly UpsertInput[]): Promise<UpsertOutcome[]> =>
              routed.length > salesforceSpec.batch.bulkThreshold ? bulkUpsert(session, mapping, type, routed, bulkSettings) : upsertViaCollections(session, mapping, type, routed)),
          )(objectType, inputs),
    deleteRecords: (objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> =>
      objectType === 'activity' ? deleteActivities(session, activityMappings, externalIds) : deleteRecords(session, mapping, objectType, externalIds),
    listDeletions: (objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage> =>
      objectType === 'activity' ? listActivityDeletions(session, activityMappings, request, lookbackMs) : listDeletions(session, mapping, objectType, request, lookbackMs),
    describeFields: (objectType: ObjectType): Promise<FieldDescription[]> => describeFields(session, mapping, objectType),
    rateBudget: async (): Promise<RateBudgetSnapshot> => budget ? await budget.snapshot() : { connectionId: options.connectionId, windows: [] },
  };
}

import type { ObjectType } from '../../model/identifiers';
import { compileMapping, type CompiledMapping } from '../../model/mapping';
import type { BulkPath, ChangePage, ChangesRequest, CrmConnector, DeleteOutcome, DeletionPage, ExternalRecord, FieldDescription, UniqueKeyQuery, UpsertInput, UpsertOutcome } from '../connector';
import { DEFAULT_LOOKBACK_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectorBaseOptions } from '../connector-options';
import { RateBudget, type RateBudgetSnapshot } from '../rate-budget';
import { SingleFlightTokenProvider, type AccessToken } from '../token-provider';
import { chunked, keepMatching, nativeKeyField, wantedValues } from '../unique-keys';
import { accountsServerOf, apiDomainOf, createRefresh, ZOHO_REGIONS, type ZohoRegionName, type ZohoSession } from './auth';
import { listChanges, type ReadContext, type ZohoPage } from './changes';
import { withReadVersions } from './read-version';
import { decodeCursor, encodeCursor } from '../cursor';
import { zohoDefaultMapping } from './default-mapping';
import { listDeletions } from './deletions';
import { fieldEditTimes } from './field-history';
import { createAgent, ZohoHttp } from './http';
import { zohoWebhookSubscriber } from './webhook-subscriptions';
import { fieldsToRead, fromRecord } from './record-mapper';
import { DEFAULT_SYNC_ID_FIELD, zohoSpec } from './spec';
import { deleteAll, upsertAll, type WriteContext } from './writes';
import { DefaultContactRole, withDealContacts, writeDealContacts } from './contact-roles';
import type { ObjectConstraints } from '../../model/field-constraints';
import { writeGuard } from '../write-constraints';
import { exportActivityPage, listActivityChanges, listActivityDeletions, readActivities } from './activities';
import { deleteActivities, upsertActivities } from './activity-writes';

export { zohoSpec, ZOHO_API_VERSION, DEFAULT_SYNC_ID_FIELD } from './spec';
export { zohoDefaultMapping } from './default-mapping';
export { ZOHO_REGIONS, accountsServerOf, apiDomainOf, type ZohoRegionName } from './auth';

export interface ZohoCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** A current access token, if the caller holds one (it is used until it expires or is refused). */
  accessToken?: AccessToken | undefined;
}

export interface ZohoConnectorOptions extends ConnectorBaseOptions {
  /** The data centre the account lives in (`location` of the consent redirect) [Z1]. */
  region: ZohoRegionName;
  /** `accounts-server` of the consent redirect; default the region's accounts server. */
  accountsServer?: string | undefined;
  /** The `api_domain` of the last token response; replaced by each refresh. Default the region's API domain. */
  apiDomain?: string | undefined;
  credentials: ZohoCredentials;
  /** API name of the unique custom field holding the sync id. @default `CRM_Sync_Id` */
  syncIdField?: string | undefined;
  /** Calls in flight at once (the edition's concurrency limit, shared by this connector's calls). @default 10 */
  concurrency?: number | undefined;
  /** `per_page` for reads (1-200). @default 200 */
  pageSize?: number | undefined;
  /** How long each notification channel (and each renewal) lasts, at most a week [Z53]. @default just under a week */
  webhookChannelLifetimeMs?: number | undefined;
}

export interface ZohoConnector extends CrmConnector {
  readonly provider: 'zoho';
  /** Token requests made so far (single-flight refreshes). */
  readonly tokenRequests: number;
  /** API requests sent so far. */
  readonly requestCount: number;
  /** Where API calls go now (the token response's `api_domain`). */
  readonly apiDomain: string;
  fieldEditTimes: NonNullable<CrmConnector['fieldEditTimes']>;
  close(): Promise<void>;
}

type ExportCursor = { kind: 'export'; objectType: ObjectType; mode: 'list'; page: number; module?: number | undefined } | { kind: 'export'; objectType: ObjectType; mode: 'changes'; since: string; changes: string | null };

export async function createZohoConnector(options: ZohoConnectorOptions): Promise<ZohoConnector> {
  if (!(options.region in ZOHO_REGIONS)) throw new Error(`unknown Zoho region "${String(options.region)}" (one of ${Object.keys(ZOHO_REGIONS).join(', ')})`);
  const mapping: CompiledMapping = compileMapping(zohoDefaultMapping, options.mappingOverride);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const syncIdField = options.syncIdField ?? DEFAULT_SYNC_ID_FIELD;
  const agent = createAgent(timeoutMs);
  const session: ZohoSession = { apiDomain: (options.apiDomain ?? apiDomainOf(options.region)).replace(/\/+$/, '') };
  const tokens = new SingleFlightTokenProvider({
    provider: 'zoho',
    refresh: createRefresh(options.accountsServer ?? accountsServerOf(options.region), options.credentials, agent, timeoutMs),
    initial: options.credentials.accessToken,
    refreshToken: options.credentials.refreshToken,
    store: options.tokenStore,
    now: options.tokenClock,
    onRefreshed: options.onTokenRefreshed,
    // Calls go to the API domain of the token in use, whichever worker obtained it.
    onToken: (token) => {
      if (token.apiBase) session.apiDomain = token.apiBase;
    },
  });
  const windows = options.rateLimits === false ? [] : (options.rateLimits ?? zohoSpec.rateWindows);
  const budget =
    windows.length === 0
      ? undefined
      : new RateBudget({ provider: 'zoho', connectionId: options.connectionId, windows, pool: options.pool, ...(options.maxBudgetWaitMs !== undefined ? { maxWaitMs: options.maxBudgetWaitMs } : {}) });
  const http = new ZohoHttp({ session, dispatcher: agent, tokens, budget, concurrency: options.concurrency ?? zohoSpec.concurrency, timeoutMs });
  const pageSize = Math.max(1, Math.min(options.pageSize ?? zohoSpec.paging.maxPage, zohoSpec.paging.maxPage));
  const read: ReadContext = { http, mapping, syncIdField, lookbackMs: options.lookbackMs ?? DEFAULT_LOOKBACK_MS, pageSize };
  const write: WriteContext = { http, mapping, syncIdField };
  const toRecord = (objectType: ObjectType) => (row: Record<string, unknown>) => fromRecord(mapping, objectType, syncIdField, row);
  // A deal's contacts are read on every read path: one Contact Roles call per deal read (contact-roles.ts).
  const related = (objectType: ObjectType, records: ExternalRecord[]): Promise<ExternalRecord[]> => (objectType === 'deal' ? withDealContacts(http, records) : Promise.resolve(records));
  const changes = async (objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> => {
    // Activities span Tasks, Calls and Events under one cursor (activities.ts).
    if (objectType === 'activity') return listActivityChanges(read, request);
    const page = await listChanges(read, objectType, request);
    const type = request.cursor ? decodeCursor<{ kind: string; objectType: ObjectType }>('zoho', request.cursor, 'changes').objectType : objectType;
    return { ...page, records: await related(type, page.records) };
  };
  const defaultRole = new DefaultContactRole(http);
  const upsert =
    (callsInFlight: number) =>
    async (objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> => {
      if (objectType === 'activity') return upsertActivities(write, inputs, callsInFlight);
      const outcomes = await upsertAll(write, objectType, inputs, callsInFlight);
      if (objectType === 'deal') await writeDealContacts(http, defaultRole, inputs, outcomes);
      return outcomes;
    };

  const readRecords = async (objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> => {
    if (objectType === 'activity') return readActivities(read, externalIds);
    const module = zohoSpec.modules[objectType].module;
    const ids = [...new Set(externalIds.filter((id) => /^\d+$/.test(id)))];
    const records: ExternalRecord[] = [];
    for (const chunk of chunked(ids, zohoSpec.paging.readChunk)) {
      const query = new URLSearchParams({ ids: chunk.join(','), fields: fieldsToRead(mapping, objectType, syncIdField).join(','), per_page: String(zohoSpec.paging.maxPage) });
      // Get records by ids: GET /{module}?ids=...&fields=... [Z8]
      const response = await http.call<ZohoPage>({ method: 'GET', path: `${module}?${query.toString()}` });
      // The version a later update of these records is conditional on (read-version.ts).
      records.push(...withReadVersions((response.body?.data ?? []).map(toRecord(objectType)), response.headers.date));
    }
    return related(objectType, records);
  };

  /**
   * First-sync matching through the search API's criteria (`equals` / `starts_with`, compared
   * case-insensitively), 10 criteria per call: emails 10 per call; a domain on Website (Zoho keeps
   * no domain) one per call as six `starts_with` prefixes, filtered by host here.
   */
  const findByUniqueKeys = async (objectType: ObjectType, keys: UniqueKeyQuery): Promise<ExternalRecord[]> => {
    const module = zohoSpec.modules[objectType].module;
    const key = nativeKeyField('zoho', mapping, objectType, keys.field);
    const wanted = wantedValues(keys);
    const escape = (value: string): string => value.replace(/[(),\\]/g, (char) => `\\${char}`);
    const criteria: string[] =
      key.via === 'value'
        ? chunked(wanted, zohoSpec.paging.maxCriteria).map((values) => values.map((value) => `(${key.native}:equals:${escape(value)})`).join('or'))
        : wanted.map((domain) => ['', 'www.', 'http://', 'http://www.', 'https://', 'https://www.'].map((prefix) => `(${key.native}:starts_with:${escape(prefix + domain)})`).join('or'));
    const records: ExternalRecord[] = [];
    for (const criterion of criteria) {
      for (let page = 1; ; page += 1) {
        const query = new URLSearchParams({ criteria: criterion, page: String(page), per_page: String(zohoSpec.paging.maxPage) });
        // Search records: GET /{module}/search?criteria=(field:equals:value)or(...)
        const response = await http.call<ZohoPage>({ method: 'GET', path: `${module}/search?${query.toString()}` });
        records.push(...(response.body?.data ?? []).map(toRecord(objectType)));
        if (response.body?.info?.more_records !== true) break;
      }
    }
    return keepMatching(records, keys.field, new Set(wanted));
  };

  /**
   * Zoho's Bulk Read API is an asynchronous CSV job (not emulated by the sandbox); the export pages
   * the records listing instead, 200 per call in id order (everything), or the change scan (since
   * T). Writes are the same 100-record upserts as upsertRecords, several calls in flight.
   */
  // Every write is checked against the field metadata first: what cannot fit is parked, not sent.
  const guarded = writeGuard({ provider: 'zoho', mapping, describe: (objectType) => describeConstraints(http, objectType) });
  const bulk: BulkPath = {
    async startExport(objectType, request = {}) {
      const state: ExportCursor = request.since ? { kind: 'export', objectType, mode: 'changes', since: request.since, changes: null } : { kind: 'export', objectType, mode: 'list', page: 1 };
      return encodeCursor(state);
    },
    async readExportPage(cursor) {
      const state = decodeCursor<ExportCursor>('zoho', cursor, 'export');
      if (state.mode === 'changes') {
        const page = await changes(state.objectType, { since: state.since, cursor: state.changes ?? undefined });
        return { records: page.records, nextCursor: page.nextCursor ? encodeCursor({ ...state, changes: page.nextCursor }) : undefined };
      }
      if (state.objectType === 'activity') {
        const page = await exportActivityPage(read, state.module ?? 0, state.page);
        return { records: page.records, nextCursor: page.next ? encodeCursor({ ...state, module: page.next.module, page: page.next.page }) : undefined };
      }
      const module = zohoSpec.modules[state.objectType].module;
      const query = new URLSearchParams({ fields: fieldsToRead(mapping, state.objectType, syncIdField).join(','), sort_by: 'id', sort_order: 'asc', page: String(state.page), per_page: String(pageSize) });
      const response = await http.call<ZohoPage>({ method: 'GET', path: `${module}?${query.toString()}` });
      const records = await related(state.objectType, (response.body?.data ?? []).map(toRecord(state.objectType)));
      return { records, nextCursor: response.body?.info?.more_records === true ? encodeCursor({ ...state, page: state.page + 1 }) : undefined };
    },
    upsert: guarded(upsert(zohoSpec.bulkConcurrency)),
  };

  return {
    provider: 'zoho',
    bulk,
    get tokenRequests() {
      return tokens.refreshCount;
    },
    get requestCount() {
      return http.requests;
    },
    get apiDomain() {
      return session.apiDomain;
    },
    listChanges: changes,
    listDeletions: (objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage> =>
      objectType === 'activity' ? listActivityDeletions(read, request) : listDeletions(read, objectType, request),
    readRecords,
    findByUniqueKeys,
    upsertRecords: guarded(upsert(1)),
    deleteRecords: (objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> =>
      objectType === 'activity' ? deleteActivities(write, externalIds) : deleteAll(write, objectType, externalIds),
    describeFields: (objectType) => describeFields(http, syncIdField, objectType),
    fieldEditTimes: (objectType, requests) => fieldEditTimes({ http, mapping }, objectType, requests),
    rateBudget: async (): Promise<RateBudgetSnapshot> => budget?.snapshot() ?? { connectionId: options.connectionId, windows: [] },
    webhookSubscriptions: zohoWebhookSubscriber(http, { channelLifetimeMs: options.webhookChannelLifetimeMs }),
    close: () => agent.close(),
  };
}

interface ZohoField {
  api_name: string;
  field_label?: string;
  data_type?: string;
  custom_field?: boolean;
  unique?: { enabled?: boolean };
  pick_list_values?: { actual_value?: string; display_value?: string }[];
  length?: number;
  system_mandatory?: boolean;
  read_only?: boolean;
}

/** A picklist's values as written (`actual_value`), none when the field is not a picklist or lists none. */
function picklistValues(field: ZohoField): string[] | undefined {
  const values = (field.pick_list_values ?? []).map((value) => value.actual_value ?? value.display_value ?? '');
  return field.data_type === 'picklist' && values.length > 0 ? values : undefined;
}

/**
 * What a module's fields must fit, from the field metadata [Z15]: text up to `length`, a
 * picklist's values (refused otherwise, secondary [Z17]), and on create the `system_mandatory`
 * fields. Lookups are ids, not text, so their length is not checked.
 */
async function describeConstraints(http: ZohoHttp, objectType: ObjectType): Promise<ObjectConstraints> {
  const module = zohoSpec.modules[objectType].module;
  // Fields metadata: GET /settings/fields?module= (https://www.zoho.com/crm/developer/docs/api/v6/field-meta.html)
  const response = await http.call<{ fields?: ZohoField[] }>({ method: 'GET', path: `settings/fields?module=${module}` });
  const fields = (response.body?.fields ?? [])
    .filter((field) => field.read_only !== true)
    .map((field) => ({
      name: field.api_name,
      maxLength: field.data_type === 'lookup' ? undefined : field.length,
      requiredOnCreate: field.system_mandatory === true,
      allowedValues: picklistValues(field),
    }));
  return { vendor: 'Zoho CRM', object: module, fields };
}

/** Field metadata: GET /settings/fields?module= . The sync-id field must be unique to hold the key. */
async function describeFields(http: ZohoHttp, syncIdField: string, objectType: ObjectType): Promise<FieldDescription[]> {
  const module = zohoSpec.modules[objectType].module;
  const response = await http.call<{ fields?: ZohoField[] }>({ method: 'GET', path: `settings/fields?module=${module}` });
  return (response.body?.fields ?? []).map((field) => ({
    name: field.api_name,
    label: field.field_label ?? field.api_name,
    type: field.data_type ?? 'text',
    custom: field.custom_field === true,
    ...(field.api_name === syncIdField || field.unique?.enabled === true ? { externalId: field.unique?.enabled === true } : {}),
    ...(picklistValues(field) ? { picklistValues: picklistValues(field) } : {}),
  }));
}

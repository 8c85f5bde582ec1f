import type { Agent } from 'undici';
import type { ObjectType } from '../../model/identifiers';
import { compileMapping, type CompiledMapping } from '../../model/mapping';
import type { BulkPath, ChangePage, ChangesRequest, CrmConnector, DeleteOutcome, DeletionPage, ExternalRecord, FieldDescription, UniqueKeyQuery, UpsertInput, UpsertOutcome } from '../connector';
import { DEFAULT_LOOKBACK_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectorBaseOptions } from '../connector-options';
import { ConnectorError } from '../errors';
import { RateBudget, type RateBudgetSnapshot } from '../rate-budget';
import { SingleFlightTokenProvider } from '../token-provider';
import { chunked, keepMatching, nativeKeyField, wantedValues } from '../unique-keys';
import { createTokenSource } from './auth';
import { deleteThroughBatch, upsertThroughBatch, type WriteContext } from './bulk';
import { listChanges, readByIds, type ODataPage, type ReadContext } from './changes';
import { dynamicsDefaultMapping } from './default-mapping';
import type { ObjectConstraints } from '../../model/field-constraints';
import { writeGuard } from '../write-constraints';
import { listDeletions } from './deletions';
import { fieldEditTimes } from './field-history';
import { readExportPage, startExport } from './export';
import { createAgent, DataverseHttp } from './http';
import { ConnectionSlots } from './connection-slots';
import { activityMappings } from './activity-tables';
import { fromRow, LOOKUP_ANNOTATIONS, selectColumns } from './record-mapper';
import { DATAVERSE_API_VERSION, dynamicsSpec, type DynamicsSpec } from './spec';
import { createDataverseSubscriber } from './webhook-subscriptions';

export { DATAVERSE_API_VERSION, dynamicsSpec } from './spec';
export { dynamicsDefaultMapping } from './default-mapping';

export interface DynamicsCredentials {
  /** Entra ID tenant (directory) id. */
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** @default `${authorityHost}/${tenantId}` */
  authority?: string | undefined;
  /** @default `${orgUrl}/.default` */
  scope?: string | undefined;
}

export interface DynamicsConnectorOptions extends ConnectorBaseOptions {
  /** The environment's URL, e.g. `https://contoso.crm4.dynamics.com`. */
  orgUrl: string;
  /** @default `${orgUrl}/api/data/${DATAVERSE_API_VERSION}` */
  serviceRoot?: string | undefined;
  credentials: DynamicsCredentials;
  /** @default `https://login.microsoftonline.com` (sovereign clouds differ) */
  authorityHost?: string | undefined;
  /**
   * PEM certificate(s) to trust for the API and the authority, e.g. a test server's self-signed
   * certificate. Replaces the default roots for this connection only; omit in production.
   */
  ca?: string | undefined;
  /** Requests per `$batch` (1-1,000). @default 1000 */
  batchSize?: number | undefined;
  /** `odata.maxpagesize` for reads (1-5,000). @default 5000 */
  pageSize?: number | undefined;
}

export interface DynamicsConnector extends CrmConnector {
  readonly provider: 'dynamics';
  /** The Web API's `WhoAmI`: the application user, which stamps this connection's own writes. */
  whoAmI(): Promise<{ userId: string; businessUnitId: string; organizationId: string }>;
  /** Tokens obtained so far (single-flight refreshes), for metrics and tests. */
  readonly tokenRequests: number;
  /** Closes pooled connections. */
  close(): Promise<void>;
  fieldEditTimes: NonNullable<CrmConnector['fieldEditTimes']>;
}

export async function createDynamicsConnector(options: DynamicsConnectorOptions): Promise<DynamicsConnector> {
  const spec: DynamicsSpec = dynamicsSpec;
  const mapping: CompiledMapping = compileMapping(dynamicsDefaultMapping, options.mappingOverride);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const orgUrl = options.orgUrl.replace(/\/+$/, '');
  const serviceRoot = (options.serviceRoot ?? `${orgUrl}/api/data/${DATAVERSE_API_VERSION}`).replace(/\/+$/, '');
  const authority = options.credentials.authority ?? `${(options.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '')}/${options.credentials.tenantId}`;
  const agent: Agent = createAgent({ ca: options.ca, timeoutMs });

  const refresh = createTokenSource(
    { authority, clientId: options.credentials.clientId, clientSecret: options.credentials.clientSecret, scope: options.credentials.scope ?? `${orgUrl}/.default` },
    agent,
    timeoutMs,
  );
  const tokens = new SingleFlightTokenProvider({ provider: 'dynamics', refresh, store: options.tokenStore, now: options.tokenClock, onRefreshed: options.onTokenRefreshed });
  const windows = options.rateLimits === false ? [] : (options.rateLimits ?? spec.rateWindows);
  const budget =
    windows.length === 0
      ? undefined
      : new RateBudget({ provider: 'dynamics', connectionId: options.connectionId, windows, pool: options.pool, ...(options.maxBudgetWaitMs !== undefined ? { maxWaitMs: options.maxBudgetWaitMs } : {}) });
  const observedLimit = windows.find((window) => window.name === spec.rateHeaders.windowName)?.limit;
  const http = new DataverseHttp({ serviceRoot, dispatcher: agent, tokens, budget, observedLimit, timeoutMs });

  const pageSize = Math.max(1, Math.min(options.pageSize ?? spec.paging.defaultPageSize, spec.paging.maxPageSize));
  const links = new ConnectionSlots(http, spec);
  const tableMappings = activityMappings(mapping);
  const read: ReadContext = { http, spec, mapping, lookbackMs: options.lookbackMs ?? DEFAULT_LOOKBACK_MS, pageSize, links, activityMappings: tableMappings };
  const write: WriteContext = { http, spec, mapping, links, read, batchSize: Math.max(1, Math.min(options.batchSize ?? spec.batch.maxRequests, spec.batch.maxRequests)) };

  const readRecords = (objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> => readByIds(read, objectType, externalIds);

  /**
   * First-sync matching: `$filter=emailaddress1 eq 'a@x.com' or ...` (Dataverse compares text
   * case-insensitively), or for a domain on account.websiteurl `contains(websiteurl,'x.com') or
   * ...` filtered by host here; paged through `@odata.nextLink`.
   */
  const findByUniqueKeys = async (objectType: ObjectType, keys: UniqueKeyQuery): Promise<ExternalRecord[]> => {
    const entity = spec.objects[objectType];
    const key = nativeKeyField('dynamics', mapping, objectType, keys.field);
    const wanted = wantedValues(keys);
    const records: ExternalRecord[] = [];
    for (const values of chunked(wanted, spec.batch.readChunk)) {
      const filter = values.map((value) => (key.via === 'value' ? `${key.native} eq ${odataString(value)}` : `contains(${key.native},${odataString(value)})`)).join(' or ');
      let url: string | undefined = `${entity.entitySet}?$select=${selectColumns(spec, mapping, objectType).join(',')}&$filter=${encodeURIComponent(filter)}`;
      while (url) {
        // Query data: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/filter-rows [D10]
        const page: ODataPage = await http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `odata.maxpagesize=${spec.paging.maxPageSize},${LOOKUP_ANNOTATIONS}` } });
        records.push(...page.value.map((row) => fromRow(spec, mapping, objectType, row)));
        url = page['@odata.nextLink'];
      }
    }
    return keepMatching(records, keys.field, new Set(wanted));
  };

  // Every write is checked against the table's attribute metadata first: what cannot fit is parked, not sent.
  const guarded = writeGuard({ provider: 'dynamics', mapping, describe: (objectType) => describeConstraints(http, spec, objectType) });
  const bulk: BulkPath = {
    startExport: async (objectType, request) => startExport(read, objectType, request?.since),
    readExportPage: (cursor) => readExportPage(read, cursor),
    upsert: guarded((objectType, inputs) => upsertThroughBatch(write, objectType, inputs)),
  };

  return {
    provider: 'dynamics',
    bulk,
    get tokenRequests() {
      return tokens.refreshCount;
    },
    listChanges: (objectType: ObjectType, request: ChangesRequest): Promise<ChangePage> => listChanges(read, objectType, request),
    listDeletions: (objectType: ObjectType, request: ChangesRequest): Promise<DeletionPage> => listDeletions(read, objectType, request),
    deleteRecords: (objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> => deleteThroughBatch(write, objectType, externalIds),
    readRecords,
    findByUniqueKeys,
    // The architecture writes through the batch API; Dataverse's is $batch for any size.
    upsertRecords: guarded((objectType: ObjectType, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> => upsertThroughBatch(write, objectType, inputs)),
    describeFields: (objectType) => describeFields(http, spec, mapping, objectType),
    fieldEditTimes: (objectType, requests) => fieldEditTimes({ http, spec, mapping }, objectType, requests),
    webhookSubscriptions: createDataverseSubscriber(http, spec),
    rateBudget: async (): Promise<RateBudgetSnapshot> => budget?.snapshot() ?? { connectionId: options.connectionId, windows: [] },
    whoAmI: async () => {
      // WhoAmI function: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/whoami
      const body = await http.json<{ UserId: string; BusinessUnitId: string; OrganizationId: string }>({ method: 'GET', url: 'WhoAmI' });
      return { userId: body.UserId, businessUnitId: body.BusinessUnitId, organizationId: body.OrganizationId };
    },
    close: () => agent.close(),
  };
}

/** OData string literal: single quotes doubled. */
function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Attribute types whose value the platform fills when a create leaves it out, SystemRequired or not. */
const PLATFORM_FILLED = new Set(['Uniqueidentifier', 'Owner', 'State', 'Status', 'Lookup', 'Customer']);

/**
 * What a table's columns must fit, from the attribute metadata [D27]: text up to `MaxLength`
 * (String and Memo attributes, read through their casts, as the base type has no MaxLength), a
 * choice's option values, and on create the SystemRequired columns the caller must give. Only
 * SystemRequired is enforced by the platform; ApplicationRequired (business required) is a form
 * rule and is not checked.
 */
async function describeConstraints(http: DataverseHttp, spec: DynamicsSpec, objectType: ObjectType): Promise<ObjectConstraints> {
  const entity = spec.objects[objectType];
  const attributes = `EntityDefinitions(LogicalName='${entity.logicalName}')/Attributes`;
  // Query table definitions: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api
  const [base, strings, memos, choices] = await Promise.all([
    http.json<{ value: (AttributeMetadata & { RequiredLevel?: { Value?: string }; IsValidForCreate?: boolean; IsValidForUpdate?: boolean })[] }>({
      method: 'GET',
      url: `${attributes}?$select=LogicalName,AttributeType,RequiredLevel,IsValidForCreate,IsValidForUpdate`,
    }),
    http.json<{ value: { LogicalName: string; MaxLength?: number }[] }>({ method: 'GET', url: `${attributes}/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength` }),
    http.json<{ value: { LogicalName: string; MaxLength?: number }[] }>({ method: 'GET', url: `${attributes}/Microsoft.Dynamics.CRM.MemoAttributeMetadata?$select=LogicalName,MaxLength` }),
    http.json<{ value: { LogicalName: string; OptionSet?: { Options?: { Value: number }[] } }[] }>({
      method: 'GET',
      url: `${attributes}/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)`,
    }),
  ]);
  const maxLengths = new Map([...strings.value, ...memos.value].map((attribute) => [attribute.LogicalName, attribute.MaxLength]));
  const options = new Map(choices.value.map((attribute) => [attribute.LogicalName, (attribute.OptionSet?.Options ?? []).map((option) => String(option.Value))]));
  const fields = base.value
    .filter((attribute) => attribute.IsValidForCreate === true || attribute.IsValidForUpdate === true)
    .map((attribute) => ({
      name: attribute.LogicalName,
      maxLength: maxLengths.get(attribute.LogicalName),
      requiredOnCreate: attribute.RequiredLevel?.Value === 'SystemRequired' && attribute.IsValidForCreate === true && !PLATFORM_FILLED.has(attribute.AttributeType ?? ''),
      allowedValues: options.get(attribute.LogicalName),
    }));
  return { vendor: 'Dynamics 365', object: entity.logicalName, fields };
}

interface AttributeMetadata {
  LogicalName: string;
  AttributeType?: string;
  IsCustomAttribute?: boolean;
  DisplayName?: { UserLocalizedLabel?: { Label?: string } | null };
}

/**
 * Table columns from the metadata API. Where metadata is not served (the sandbox), the mapped
 * columns are described instead, so schema discovery degrades rather than fails.
 */
async function describeFields(http: DataverseHttp, spec: DynamicsSpec, mapping: CompiledMapping, objectType: ObjectType): Promise<FieldDescription[]> {
  const entity = spec.objects[objectType];
  try {
    // Query table definitions: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api
    const attributes = `EntityDefinitions(LogicalName='${entity.logicalName}')/Attributes`;
    const [body, choices] = await Promise.all([
      http.json<{ value: AttributeMetadata[] }>({ method: 'GET', url: `${attributes}?$select=LogicalName,AttributeType,IsCustomAttribute,DisplayName` }),
      http.json<{ value: { LogicalName: string; OptionSet?: { Options?: { Value: number }[] } }[] }>({
        method: 'GET',
        url: `${attributes}/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)`,
      }),
    ]);
    const options = new Map(choices.value.map((attribute) => [attribute.LogicalName, (attribute.OptionSet?.Options ?? []).map((option) => String(option.Value))]));
    return body.value.map((attribute) => ({
      name: attribute.LogicalName,
      label: attribute.DisplayName?.UserLocalizedLabel?.Label ?? attribute.LogicalName,
      type: attribute.AttributeType ?? 'Unknown',
      custom: attribute.IsCustomAttribute ?? false,
      ...(attribute.LogicalName === spec.syncIdColumn ? { externalId: true } : {}),
      ...(options.has(attribute.LogicalName) ? { picklistValues: options.get(attribute.LogicalName) } : {}),
    }));
  } catch (error) {
    if (!(error instanceof ConnectorError) || error.errorClass !== 'not-found') throw error;
    const object = mapping.objects[objectType];
    const fields = [...(object?.reads ?? []), ...(object?.writes ?? [])];
    const unique = new Map(fields.map((field) => [field.native, field]));
    return [
      { name: spec.syncIdColumn, label: 'crm-sync id', type: 'String', custom: true, externalId: true },
      ...[...unique.values()].map((field) => ({
        name: field.native,
        label: field.native,
        type: field.type,
        custom: /^[a-z]+_/.test(field.native) && !field.native.startsWith('address1_'),
        ...(field.values ? { picklistValues: Object.keys(field.values) } : {}),
      })),
    ];
  }
}

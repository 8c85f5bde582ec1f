import { randomUUID } from 'node:crypto';
import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import { lookupLogicalName, type EntitySetDefinition } from './entity-sets';
import type { Row, WriteEvent } from './store';

/**
 * How the service endpoint authenticates to the receiver [D15]: `WebhookKey` appends
 * `?code=<key>` to the URL; `HttpHeader` sends a named header. Dataverse signs nothing (no HMAC).
 */
export type WebhookAuth = { type: 'WebhookKey'; key: string } | { type: 'HttpHeader'; name: string; value: string };

/** A registered service endpoint's authentication [D75]: HttpHeader and HttpQueryString carry key/value pairs. */
export type EndpointAuth =
  | { type: 'WebhookKey'; key: string }
  | { type: 'HttpHeader'; headers: [string, string][] }
  | { type: 'HttpQueryString'; parameters: [string, string][] };

/** The step behind a delivery: its id and name become the context's OwningExtension. */
export interface StepInfo {
  id: string;
  name: string;
  mode: number;
  stage: number;
}

/** A step image: the alias it is keyed by in the context, and the columns it carries. */
export interface ImageSpec {
  alias: string;
  attributes: string[] | 'all';
}

export interface OrganizationInfo {
  organizationId: string;
  organizationName: string;
  /** Sent as `x-ms-dynamics-organization`, e.g. `contoso.crm.dynamics.com`. */
  host: string;
  businessUnitId: string;
}

const CONTRACTS = 'http://schemas.microsoft.com/xrm/2011/Contracts';

/** WCF JSON dates, as the RemoteExecutionContext serializer writes them. */
function wcfDate(iso: string): string {
  return `/Date(${Date.parse(iso)})/`;
}

function attributeValue(definition: EntitySetDefinition, column: string, value: unknown, row: Row): unknown {
  const type = definition.columns[column];
  if (value === null || value === undefined || !type) return value ?? null;
  if (type.type === 'datetime' && typeof value === 'string') return wcfDate(value);
  // A polymorphic lookup (connection record1id, task regarding) names its table as any lookup does.
  const logicalName = lookupLogicalName(definition, row, column);
  if (logicalName && typeof value === 'string') {
    return { __type: `EntityReference:${CONTRACTS}`, Id: value, KeyAttributes: [], LogicalName: logicalName, Name: null, RowVersion: null };
  }
  return value;
}

/** Lookup columns appear in plug-in contexts under their logical name, without `_x_value`. */
function attributeName(column: string): string {
  const match = /^_(.+)_value$/.exec(column);
  return match ? (match[1] as string) : column;
}

function target(event: WriteEvent): Record<string, unknown> {
  const { definition } = event;
  if (event.message === 'Delete') {
    return { __type: `EntityReference:${CONTRACTS}`, Id: event.id, KeyAttributes: [], LogicalName: definition.logicalName, Name: null, RowVersion: null };
  }
  // Update targets carry what the caller sent plus the platform's stamps, as Dataverse's do.
  const attributes: Row = { ...event.attributes, [definition.primaryId]: event.id, modifiedon: event.row.modifiedon, _modifiedby_value: event.row._modifiedby_value };
  if (event.message === 'Create') Object.assign(attributes, { createdon: event.row.createdon, _createdby_value: event.row._createdby_value, _ownerid_value: event.row._ownerid_value });
  return {
    __type: `Entity:${CONTRACTS}`,
    Attributes: Object.entries(attributes).map(([column, value]) => ({ key: attributeName(column), value: attributeValue(definition, column, value, event.row) })),
    EntityState: null,
    FormattedValues: [],
    Id: event.id,
    KeyAttributes: [],
    LogicalName: definition.logicalName,
    RelatedEntities: [],
    RowVersion: String(event.row.versionnumber),
  };
}

/** The row as it was before a delete, as an entity image: the image's attributes, or every column. */
function entityImage(event: WriteEvent, attributes: ImageSpec['attributes']): Record<string, unknown> {
  const { definition } = event;
  const kept = Object.entries(event.row).filter(([column]) => attributes === 'all' || column === definition.primaryId || attributes.includes(attributeName(column)));
  return {
    __type: `Entity:${CONTRACTS}`,
    Attributes: kept.map(([column, value]) => ({ key: attributeName(column), value: attributeValue(definition, column, value, event.row) })),
    EntityState: null,
    FormattedValues: [],
    Id: event.id,
    KeyAttributes: [],
    LogicalName: definition.logicalName,
    RelatedEntities: [],
    RowVersion: String(event.row.versionnumber),
  };
}

/**
 * The `RemoteExecutionContext` a ServiceEndpoint step posts [D16]. Pre-images exist on Delete
 * only here: the store keeps no copy of a row before an update (an Update pre-image is not emulated).
 */
export function remoteExecutionContext(event: WriteEvent, organization: OrganizationInfo, correlationId: string, step: StepInfo, preImages: readonly ImageSpec[]): Record<string, unknown> {
  const operationCreatedOn = wcfDate(String(event.message === 'Delete' ? new Date().toISOString() : event.row.modifiedon));
  return {
    BusinessUnitId: organization.businessUnitId,
    CorrelationId: correlationId,
    Depth: 1,
    InitiatingUserAzureActiveDirectoryObjectId: '00000000-0000-0000-0000-000000000000',
    InitiatingUserId: event.actor.userId,
    InputParameters: [{ key: 'Target', value: target(event) }],
    IsExecutingOffline: false,
    IsInTransaction: false,
    IsOfflinePlayback: false,
    IsolationMode: 1,
    MessageName: event.message,
    Mode: step.mode,
    OperationCreatedOn: operationCreatedOn,
    OperationId: randomUUID(),
    OrganizationId: organization.organizationId,
    OrganizationName: organization.organizationName,
    OutputParameters: event.message === 'Create' ? [{ key: 'id', value: event.id }] : [],
    OwningExtension: { Id: step.id, KeyAttributes: [], LogicalName: 'sdkmessageprocessingstep', Name: step.name, RowVersion: null },
    ParentContext: null,
    PostEntityImages: [],
    // A Delete step's pre-image [D56][D77]: a deleted connection (a stakeholder) still names its deal.
    PreEntityImages: event.message === 'Delete' ? preImages.map((image) => ({ key: image.alias, value: entityImage(event, image.attributes) })) : [],
    PrimaryEntityId: event.id,
    PrimaryEntityName: event.definition.logicalName,
    RequestId: randomUUID(),
    SecondaryEntityName: 'none',
    SharedVariables: [],
    Stage: step.stage,
    UserAzureActiveDirectoryObjectId: '00000000-0000-0000-0000-000000000000',
    UserId: event.actor.userId,
  };
}

function withParameters(url: string, parameters: readonly [string, string][]): string {
  const query = parameters.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  return query === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

/** The legacy admin hook's auth as an endpoint's. */
function asEndpointAuth(auth: WebhookAuth): EndpointAuth {
  return auth.type === 'WebhookKey' ? auth : { type: 'HttpHeader', headers: [[auth.name, auth.value]] };
}

function enqueue(dispatcher: WebhookDispatcher, organization: OrganizationInfo, event: WriteEvent, target: { url?: string; auth: () => EndpointAuth; step: StepInfo; preImages: readonly ImageSpec[] }): void {
  const correlationId = randomUUID();
  const body = JSON.stringify(remoteExecutionContext(event, organization, correlationId, target.step, target.preImages));
  const build = ({ url }: { url: string }): { body: string; headers: Record<string, string>; url?: string } => {
    const auth = target.auth();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-ms-dynamics-organization': organization.host,
      'x-ms-dynamics-entity-name': event.definition.logicalName,
      'x-ms-dynamics-request-name': event.message,
      'x-ms-correlation-request-id': correlationId,
    };
    if (auth.type === 'HttpHeader') return { body, headers: { ...headers, ...Object.fromEntries(auth.headers) } };
    return { body, headers, url: withParameters(url, auth.type === 'WebhookKey' ? [['code', auth.key]] : auth.parameters) };
  };
  if (target.url === undefined) dispatcher.enqueue(build);
  else dispatcher.enqueueTo(target.url, build);
}

/**
 * The admin hook's target (`webhooks.url`, `PUT /__sandbox/webhooks`) stands for a webhook an
 * administrator registered in the Plugin Registration Tool: a step per table and message, with a
 * full pre-image on Delete. It is not listed among the registration tables.
 */
export function publishWrite(dispatcher: WebhookDispatcher, organization: OrganizationInfo, auth: () => WebhookAuth, event: WriteEvent): void {
  if (!dispatcher.target()) return;
  enqueue(dispatcher, organization, event, {
    auth: () => asEndpointAuth(auth()),
    step: { id: ADMIN_STEP_ID, name: `Plugin Registration Tool: ${event.message} of ${event.definition.logicalName}`, mode: 1, stage: 40 },
    preImages: [{ alias: 'PreImage', attributes: 'all' }],
  });
}

/** One asynchronous delivery per step registered through the Web API for this table and message. */
export function publishToSteps(dispatcher: WebhookDispatcher, organization: OrganizationInfo, deliveries: readonly { url: string; auth: EndpointAuth; step: StepInfo; preImages: ImageSpec[] }[], event: WriteEvent): void {
  for (const delivery of deliveries) enqueue(dispatcher, organization, event, { url: delivery.url, auth: () => delivery.auth, step: delivery.step, preImages: delivery.preImages });
}

const ADMIN_STEP_ID = '00000000-0000-0000-0000-00000000a001';

import { randomUUID } from 'node:crypto';
import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import { lookupLogicalName, type EntitySetDefinition } from './entity-sets';
import type { Row, WriteEvent } from './store';

/**
 * How the service endpoint authenticates to the receiver [D15]: `WebhookKey` appends
 * `?code=<key>` to the URL; `HttpHeader` sends a named header. Dataverse signs nothing (no HMAC).
 */
export type WebhookAuth = { type: 'WebhookKey'; key: string } | { type: 'HttpHeader'; name: string; value: string };

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

/** The row as it was before a delete, as an entity image (every column: the step's image names all attributes). */
function entityImage(event: WriteEvent): Record<string, unknown> {
  const { definition } = event;
  return {
    __type: `Entity:${CONTRACTS}`,
    Attributes: Object.entries(event.row).map(([column, value]) => ({ key: attributeName(column), value: attributeValue(definition, column, value, event.row) })),
    EntityState: null,
    FormattedValues: [],
    Id: event.id,
    KeyAttributes: [],
    LogicalName: definition.logicalName,
    RelatedEntities: [],
    RowVersion: String(event.row.versionnumber),
  };
}

/** The `RemoteExecutionContext` a ServiceEndpoint step posts [D16]. */
export function remoteExecutionContext(event: WriteEvent, organization: OrganizationInfo, correlationId: string): Record<string, unknown> {
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
    Mode: 1,
    OperationCreatedOn: operationCreatedOn,
    OperationId: randomUUID(),
    OrganizationId: organization.organizationId,
    OrganizationName: organization.organizationName,
    OutputParameters: event.message === 'Create' ? [{ key: 'id', value: event.id }] : [],
    OwningExtension: { Id: randomUUID(), KeyAttributes: [], LogicalName: 'sdkmessageprocessingstep', Name: `crm-sync: ${event.message} of ${event.definition.logicalName}`, RowVersion: null },
    ParentContext: null,
    PostEntityImages: [],
    // The step crm-sync registers on Delete carries a pre-image of the row [D56]: a deleted
    // connection (a stakeholder) still names the deal it belonged to.
    PreEntityImages: event.message === 'Delete' ? [{ key: 'PreImage', value: entityImage(event) }] : [],
    PrimaryEntityId: event.id,
    PrimaryEntityName: event.definition.logicalName,
    RequestId: randomUUID(),
    SecondaryEntityName: 'none',
    SharedVariables: [],
    Stage: 40,
    UserAzureActiveDirectoryObjectId: '00000000-0000-0000-0000-000000000000',
    UserId: event.actor.userId,
  };
}

function withCode(url: string, key: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}code=${encodeURIComponent(key)}`;
}

/** Publishes each committed write as one asynchronous (Mode 1, Stage 40) webhook delivery. */
export function publishWrite(dispatcher: WebhookDispatcher, organization: OrganizationInfo, auth: () => WebhookAuth, event: WriteEvent): void {
  if (!dispatcher.target()) return;
  const correlationId = randomUUID();
  const body = JSON.stringify(remoteExecutionContext(event, organization, correlationId));
  dispatcher.enqueue(({ url }) => {
    const current = auth();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-ms-dynamics-organization': organization.host,
      'x-ms-dynamics-entity-name': event.definition.logicalName,
      'x-ms-dynamics-request-name': event.message,
      'x-ms-correlation-request-id': correlationId,
    };
    if (current.type === 'HttpHeader') return { body, headers: { ...headers, [current.name]: current.value } };
    return { body, headers, url: withCode(url, current.key) };
  });
}

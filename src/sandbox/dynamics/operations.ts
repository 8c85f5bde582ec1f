import { attributeAuditDetail } from './auditing';
import { ACTIVITY_PARTIES, partyValues, replaceParties, withStatus } from './activities';
import type { DeltaTokens } from './change-tracking';
import { entitySet, type EntitySetDefinition } from './entity-sets';
import { badQuery, DataverseError, duplicateKey, ErrorCodes, keyNotFound, recordNotFound, versionMismatch } from './errors';
import { isMetadataPath, readMetadata } from './metadata';
import { parseSelect } from './odata-query';
import { toColumnValues } from './payload';
import { parsePrefer, wantsLookupNames, type Preferences } from './prefer';
import { countCollection, queryCollection } from './query';
import { contextUrl, entityUrl, etagOf, JSON_CONTENT_TYPE, renderRow, type ODataResponse } from './render';
import { parseResourcePath, type EntityKey } from './resource-path';
import type { Actor, DataverseStore, Row } from './store';

/** One Web API request, whether it came over HTTP or out of a $batch part. */
export interface ODataRequest {
  method: string;
  /** The path after the service root, e.g. `contacts(emailaddress1='a@b.com')`. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: unknown;
}

export interface OperationContext {
  store: DataverseStore;
  deltaTokens: DeltaTokens;
  serviceRoot: string;
  actor: Actor;
  organizationId: string;
  businessUnitId: string;
  /** `$n` -> entity URL for Content-ID references inside a change set. */
  references: ReadonlyMap<string, string>;
}

function findByKey(context: OperationContext, definition: EntitySetDefinition, key: EntityKey): Row | undefined {
  return key.kind === 'id' ? context.store.get(definition, key.id) : context.store.findByKey(definition, key.column, key.value);
}

function missing(definition: EntitySetDefinition, key: EntityKey): DataverseError {
  return key.kind === 'id' ? recordNotFound(definition.logicalName, key.id) : keyNotFound(definition.logicalName);
}

function written(context: OperationContext, definition: EntitySetDefinition, row: Row, prefer: Preferences, created: boolean, select: string[] | undefined): ODataResponse {
  const url = entityUrl(context.serviceRoot, definition, row[definition.primaryId] as string);
  if (!prefer.returnRepresentation) return { status: 204, headers: { 'odata-entityid': url, location: url } };
  return {
    status: created ? 201 : 200,
    headers: { 'content-type': JSON_CONTENT_TYPE, 'preference-applied': 'return=representation', 'odata-entityid': url, etag: etagOf(row) },
    body: { '@odata.context': contextUrl(context.serviceRoot, definition, select, '/$entity'), ...renderRow(row, definition, select) },
  };
}

/** Checks `If-Match: W/"n"` against the stored row version [D8]. */
function checkEtag(header: string | undefined, row: Row): void {
  if (header === undefined || header.trim() === '*') return;
  if (header.trim() !== etagOf(row)) throw versionMismatch();
}

export function executeOperation(context: OperationContext, request: ODataRequest): ODataResponse {
  if (isMetadataPath(request.path)) return readMetadata(context, request);
  const target = parseResourcePath(request.path);
  const prefer = parsePrefer(request.headers.prefer);
  const method = request.method.toUpperCase();
  if (target.kind === 'whoami') {
    if (method !== 'GET') throw methodNotAllowed(method);
    return {
      status: 200,
      headers: { 'content-type': JSON_CONTENT_TYPE },
      body: {
        '@odata.context': `${context.serviceRoot}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: context.businessUnitId,
        UserId: context.actor.userId,
        OrganizationId: context.organizationId,
      },
    };
  }
  if (target.kind === 'auditDetails' || target.kind === 'recordChangeHistory') {
    if (method !== 'GET') throw methodNotAllowed(method);
    return target.kind === 'auditDetails' ? retrieveAuditDetails(context, target.id) : retrieveRecordChangeHistory(context, request.query.get(target.alias));
  }
  if (target.kind === 'count') {
    if (method !== 'GET') throw methodNotAllowed(method);
    return countCollection({ definition: target.definition, params: request.query, serviceRoot: context.serviceRoot, store: context.store });
  }
  if (target.kind === 'navigation') return putParties(context, target.definition, target.key, method, request.body);
  const { definition } = target;
  if ((definition.union || definition.platformWritten) && method !== 'GET') throw methodNotAllowed(method);
  const select = request.query.has('$select') ? parseSelect(request.query.get('$select') ?? '', definition) : undefined;

  if (target.kind === 'collection') {
    if (method === 'GET') {
      return queryCollection({ definition, params: request.query, prefer, serviceRoot: context.serviceRoot, store: context.store, deltaTokens: context.deltaTokens });
    }
    if (method !== 'POST') throw methodNotAllowed(method);
    const { body, parties } = splitParties(context, definition, request.body);
    const row = context.store.create(definition, toColumnValues(definition, body, context.store, context.references), context.actor);
    if (parties) replaceParties(context.store, row[definition.primaryId] as string, parties, context.actor);
    return written(context, definition, row, prefer, true, select);
  }

  const { key } = target;
  const existing = findByKey(context, definition, key);
  switch (method) {
    case 'GET': {
      if (!existing) throw missing(definition, key);
      if (request.headers['if-none-match']?.trim() === etagOf(existing)) return { status: 304, headers: {} };
      return {
        status: 200,
        headers: { 'content-type': JSON_CONTENT_TYPE, etag: etagOf(existing) },
        body: { '@odata.context': contextUrl(context.serviceRoot, definition, select, '/$entity'), ...renderRow(existing, definition, select, wantsLookupNames(prefer)) },
      };
    }
    case 'PATCH': {
      const ifMatch = request.headers['if-match'];
      const ifNoneMatch = request.headers['if-none-match'];
      const { body, parties } = splitParties(context, definition, request.body);
      const values = toColumnValues(definition, body, context.store, context.references);
      if (existing) {
        if (ifNoneMatch?.trim() === '*') throw duplicateKey();
        checkEtag(ifMatch, existing);
        // UNCONFIRMED: deep update of parties; the documented way is a PUT of the collection [D41].
        if (parties) throw badQuery(`Deep update of '${definition.activityParties?.navigation ?? ''}' is not supported; PUT the collection instead.`);
        const row = context.store.update(definition, existing[definition.primaryId] as string, withStatus(definition, values, existing), context.actor);
        return written(context, definition, row, prefer, false, select);
      }
      if (ifMatch !== undefined) throw missing(definition, key);
      const keyValues = key.kind === 'id' ? { [definition.primaryId]: key.id } : { [key.column]: key.value };
      const row = context.store.create(definition, { ...values, ...keyValues }, context.actor);
      if (parties) replaceParties(context.store, row[definition.primaryId] as string, parties, context.actor);
      return written(context, definition, row, prefer, true, select);
    }
    case 'DELETE': {
      if (!existing) throw missing(definition, key);
      checkEtag(request.headers['if-match'], existing);
      context.store.delete(definition, existing[definition.primaryId] as string, context.actor);
      return { status: 204, headers: {} };
    }
    default:
      throw methodNotAllowed(method);
  }
}

/**
 * A create's `<table>_activity_parties` array (deep insert [D41]) taken out of the body and turned
 * into party values, every bind checked before the activity is written so a bad party writes nothing.
 */
function splitParties(context: OperationContext, definition: EntitySetDefinition, body: unknown): { body: unknown; parties?: Row[] } {
  const navigation = definition.activityParties?.navigation;
  if (!navigation || body === null || typeof body !== 'object' || Array.isArray(body) || !(navigation in body)) return { body };
  const { [navigation]: raw, ...rest } = body as Record<string, unknown>;
  return { body: rest, parties: partyValues(definition, raw, (party) => toColumnValues(ACTIVITY_PARTIES, party, context.store, context.references)) };
}

/**
 * `PUT <set>(id)/<table>_activity_parties` with `{"value":[...]}` [D41]: the activity's parties
 * become exactly those given. The activity row is updated too (new modifiedon and version), as its
 * party-list columns (to, from, requiredattendees) changed: UNCONFIRMED.
 */
function putParties(context: OperationContext, definition: EntitySetDefinition, key: EntityKey, method: string, body: unknown): ODataResponse {
  if (method !== 'PUT') throw methodNotAllowed(method);
  const existing = findByKey(context, definition, key);
  if (!existing) throw missing(definition, key);
  const value = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { value?: unknown }).value : undefined;
  const parties = partyValues(definition, value, (party) => toColumnValues(ACTIVITY_PARTIES, party, context.store, context.references));
  const id = existing[definition.primaryId] as string;
  replaceParties(context.store, id, parties, context.actor);
  context.store.update(definition, id, {}, context.actor);
  return { status: 204, headers: {} };
}

/** `RetrieveAuditDetails` [D84]: the AttributeAuditDetail of one audit row. */
function retrieveAuditDetails(context: OperationContext, auditId: string): ODataResponse {
  const change = context.store.auditChange(auditId);
  if (!change) throw recordNotFound('audit', auditId);
  return {
    status: 200,
    headers: { 'content-type': JSON_CONTENT_TYPE },
    body: { '@odata.context': `${context.serviceRoot}/$metadata#Microsoft.Dynamics.CRM.RetrieveAuditDetailsResponse`, AuditDetail: attributeAuditDetail(change) },
  };
}

/**
 * `RetrieveRecordChangeHistory(Target=@target)?@target={'@odata.id':'contacts(<id>)'}` [D85]: the
 * record's AttributeAuditDetails, newest first (order UNCONFIRMED), without `AuditRecord` (so with
 * no time, as documented). `PagingInfo` is accepted and not applied: one page, `MoreRecords` false.
 * With auditing off nothing was recorded and the collection is empty (UNCONFIRMED) [D86].
 */
function retrieveRecordChangeHistory(context: OperationContext, alias: string | null): ODataResponse {
  const reference = /^\{\s*['"]@odata\.id['"]\s*:\s*['"](.+?)['"]\s*\}$/s.exec((alias ?? '').trim());
  if (!reference) throw badQuery('The parameter Target is missing or is not an entity reference.');
  const record = parseResourcePath((reference[1] as string).replace(/^.*\/api\/data\/v9\.2\//, ''));
  if (record.kind !== 'entity' || record.definition.union || record.definition.platformWritten) throw badQuery('The parameter Target is not a reference to a table row.');
  const row = findByKey(context, record.definition, record.key);
  if (!row) throw missing(record.definition, record.key);
  const id = row[record.definition.primaryId] as string;
  const audits = entitySet('audits');
  const entries = audits ? [...context.store.rows(audits)].filter((audit) => audit._objectid_value === id && audit.operation !== 3) : [];
  entries.sort((a, b) => String(b.createdon).localeCompare(String(a.createdon)));
  const details = entries.map((audit) => context.store.auditChange(audit.auditid as string)).filter((change) => change !== undefined);
  return {
    status: 200,
    headers: { 'content-type': JSON_CONTENT_TYPE },
    body: {
      '@odata.context': `${context.serviceRoot}/$metadata#Microsoft.Dynamics.CRM.RetrieveRecordChangeHistoryResponse`,
      AuditDetailCollection: { MoreRecords: false, PagingCookie: '', TotalRecordCount: -1, AuditDetails: details.map(attributeAuditDetail) },
    },
  };
}

function methodNotAllowed(method: string): DataverseError {
  return new DataverseError(405, ErrorCodes.unexpected, `The HTTP method '${method}' is not allowed for this resource.`);
}

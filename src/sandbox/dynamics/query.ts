import type { DeltaTokens } from './change-tracking';
import type { EntitySetDefinition } from './entity-sets';
import { badQuery } from './errors';
import { evaluateFilter, parseFilter, parseOrderBy, parseSelect, type OrderBy } from './odata-query';
import { compareKeys, decodeSkipToken, encodeSkipToken, sortKey, type PageCursor } from './paging';
import { wantsLookupNames, type Preferences } from './prefer';
import { contextUrl, JSON_CONTENT_TYPE, renderRow, type ODataResponse } from './render';
import type { DataverseStore, Row } from './store';

export const MAX_PAGE_SIZE = 5000;
const SUPPORTED_OPTIONS = new Set(['$select', '$filter', '$orderby', '$top', '$count', '$skiptoken', '$deltatoken']);
const REJECTED_WHEN_TRACKING = ['$filter', '$orderby', '$expand', '$top'];

export interface CollectionQuery {
  definition: EntitySetDefinition;
  params: URLSearchParams;
  prefer: Preferences;
  serviceRoot: string;
  store: DataverseStore;
  deltaTokens: DeltaTokens;
}

/** `?$select=a,b` as Dataverse writes links: `$` kept, values percent-encoded. */
function queryString(params: URLSearchParams, extra: Record<string, string>, drop: string[]): string {
  const parts: string[] = [];
  for (const [key, value] of params) if (!drop.includes(key)) parts.push(`${key}=${linkEncode(value)}`);
  for (const [key, value] of Object.entries(extra)) parts.push(`${key}=${value}`);
  return parts.join('&');
}

/** Dataverse leaves OData punctuation readable in the links it writes. */
function linkEncode(value: string): string {
  return encodeURIComponent(value).replace(/%(2C|24|27|28|29)/g, (escape) => decodeURIComponent(escape));
}

/** Delta tokens are written with lower-case escapes, `!` included: `919042%2108%2f22%2f2017...`. */
function tokenEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/!/g, '%21')
    .replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
}

function validateOptions(params: URLSearchParams): void {
  for (const key of params.keys()) {
    if (!key.startsWith('$')) continue;
    if (!SUPPORTED_OPTIONS.has(key)) throw badQuery(`The query parameter ${key} is not supported`);
  }
}

/**
 * `GET set/$count[?$filter=...]`: the number of matching rows as `text/plain`, capped like
 * `@odata.count` at 5,000 [D17] (the cap on `/$count` itself is UNCONFIRMED). `$deltatoken` counts
 * are not emulated (400).
 */
export function countCollection(query: Omit<CollectionQuery, 'prefer' | 'deltaTokens'>): ODataResponse {
  const { definition, params } = query;
  for (const key of params.keys()) if (key.startsWith('$') && key !== '$filter') throw badQuery(`The query parameter ${key} is not supported`);
  const filter = params.has('$filter') ? parseFilter(params.get('$filter') ?? '', definition) : undefined;
  const rows = [...query.store.rows(definition)];
  const total = filter ? rows.filter((row) => evaluateFilter(filter, row, definition)).length : rows.length;
  return { status: 200, headers: { 'content-type': 'text/plain' }, body: String(Math.min(total, MAX_PAGE_SIZE)) };
}

export function queryCollection(query: CollectionQuery): ODataResponse {
  const { definition, params, prefer } = query;
  validateOptions(params);
  query.store.countQuery(definition.setName);
  const lookupNames = wantsLookupNames(prefer);
  const select = params.has('$select') ? parseSelect(params.get('$select') ?? '', definition) : undefined;
  if (prefer.trackChanges || params.has('$deltatoken')) return trackedQuery(query, select);

  const filter = params.has('$filter') ? parseFilter(params.get('$filter') ?? '', definition) : undefined;
  const orderBy = params.has('$orderby') ? parseOrderBy(params.get('$orderby') ?? '', definition) : [];
  const top = params.has('$top') ? parseTop(params.get('$top') ?? '') : undefined;
  const pageSize = Math.min(prefer.maxPageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  // With a maxpagesize preference $top is ignored [D10].
  const limit = prefer.maxPageSize === undefined && top !== undefined ? Math.min(top, MAX_PAGE_SIZE) : undefined;

  let rows = [...query.store.rows(definition)];
  if (filter) rows = rows.filter((row) => evaluateFilter(filter, row, definition));
  const total = rows.length;
  const cursor = params.has('$skiptoken') ? decodeSkipToken(params.get('$skiptoken') ?? '', definition, orderBy) : undefined;
  const page = pageOf(rows, definition, orderBy, cursor, limit ?? pageSize);

  const body: Record<string, unknown> = { '@odata.context': contextUrl(query.serviceRoot, definition, select) };
  if (params.get('$count') === 'true') body['@odata.count'] = Math.min(total, MAX_PAGE_SIZE);
  body.value = page.rows.map((row) => renderRow(row, definition, select, lookupNames));
  if (page.more && limit === undefined) {
    const last = page.rows[page.rows.length - 1] as Row;
    const next: PageCursor = { pageNumber: (cursor?.pageNumber ?? 1) + 1, last: sortKey(last, definition, orderBy), tracking: false };
    const token = encodeURIComponent(encodeSkipToken(next, definition, orderBy));
    body['@odata.nextLink'] = `${query.serviceRoot}/${definition.setName}?${queryString(params, { $skiptoken: token }, ['$skiptoken'])}`;
  }
  return { status: 200, headers: responseHeaders(prefer, pageSize, false), body };
}

function parseTop(text: string): number {
  if (!/^\d+$/.test(text)) throw badQuery(`Invalid value '${text}' for $top query option found. The $top query option requires a non-negative integer value.`);
  return Number(text);
}

function responseHeaders(prefer: Preferences, pageSize: number, tracking: boolean): Record<string, string> {
  const applied: string[] = [];
  if (prefer.maxPageSize !== undefined) applied.push(`odata.maxpagesize=${pageSize}`);
  if (tracking) applied.push('odata.track-changes');
  if (prefer.includeAnnotations.length > 0) applied.push(`odata.include-annotations="${prefer.includeAnnotations.join(',')}"`);
  return { 'content-type': `${JSON_CONTENT_TYPE}; odata.streaming=true`, ...(applied.length > 0 ? { 'preference-applied': applied.join(',') } : {}) };
}

function pageOf(rows: Row[], definition: EntitySetDefinition, orderBy: OrderBy[], cursor: PageCursor | undefined, size: number): { rows: Row[]; more: boolean } {
  const keyed = rows.map((row) => ({ row, key: sortKey(row, definition, orderBy) }));
  const after = cursor ? keyed.filter((entry) => compareKeys(entry.key, cursor.last, orderBy) > 0) : keyed;
  after.sort((a, b) => compareKeys(a.key, b.key, orderBy));
  return { rows: after.slice(0, size).map((entry) => entry.row), more: after.length > size };
}

/** `Prefer: odata.track-changes` [D11]: a full first read ending in a deltaLink, then deltas. */
function trackedQuery(query: CollectionQuery, select: string[] | undefined): ODataResponse {
  const { definition, params, prefer, store } = query;
  // UNCONFIRMED: the activity view is not change-tracking enabled (the connector tracks each table).
  if (definition.union) throw badQuery(`Change tracking is not enabled for the entity '${definition.logicalName}'.`);
  for (const option of REJECTED_WHEN_TRACKING) {
    if (params.has(option)) throw badQuery(`The query option '${option}' is not supported when the odata.track-changes preference is applied.`);
  }
  const pageSize = Math.min(prefer.maxPageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const body: Record<string, unknown> = { '@odata.context': contextUrl(query.serviceRoot, definition, select, '/$delta') };
  const deltaLink = (version: number): string =>
    `${query.serviceRoot}/${definition.setName}?${queryString(params, { $deltatoken: tokenEncode(query.deltaTokens.issue(version)) }, ['$deltatoken', '$skiptoken'])}`;

  if (params.has('$deltatoken')) {
    const since = query.deltaTokens.resolve(params.get('$deltatoken') ?? '');
    const now = store.currentVersion();
    const changed = [...store.rows(definition)].filter((row) => (row.versionnumber as number) > since);
    changed.sort((a, b) => (a.versionnumber as number) - (b.versionnumber as number));
    const removed = [...store.deletions(definition)].filter(([, version]) => version > since).sort((a, b) => a[1] - b[1]);
    body.value = [
      ...changed.map((row) => renderRow(row, definition, select)),
      ...removed.map(([id]) => ({ '@odata.context': `${query.serviceRoot}/$metadata#${definition.setName}/$deletedEntity`, id, reason: 'deleted' })),
    ];
    body['@odata.deltaLink'] = deltaLink(now);
    return { status: 200, headers: responseHeaders(prefer, pageSize, true), body };
  }

  const cursor = params.has('$skiptoken') ? decodeSkipToken(params.get('$skiptoken') ?? '', definition, []) : undefined;
  const version = cursor?.deltaVersion ?? store.currentVersion();
  const page = pageOf([...store.rows(definition)], definition, [], cursor, pageSize);
  body.value = page.rows.map((row) => renderRow(row, definition, select));
  if (page.more) {
    const last = page.rows[page.rows.length - 1] as Row;
    const next: PageCursor = { pageNumber: (cursor?.pageNumber ?? 1) + 1, last: sortKey(last, definition, []), tracking: true, deltaVersion: version };
    body['@odata.nextLink'] = `${query.serviceRoot}/${definition.setName}?${queryString(params, { $skiptoken: encodeURIComponent(encodeSkipToken(next, definition, [])) }, ['$skiptoken'])}`;
  } else {
    body['@odata.deltaLink'] = deltaLink(version);
  }
  return { status: 200, headers: responseHeaders(prefer, pageSize, true), body };
}

import type { FastifyInstance } from 'fastify';
import { validationError } from './errors';
import { parseNameList, toPublicObject } from './public-object';
import { objectTypeParam } from './request-context';
import { SCHEMAS, type HubSpotObjectType, type PropertyKind } from './schema';
import type { RecordStore, StoredRecord } from './store';

export type FilterOperator =
  | 'EQ'
  | 'NEQ'
  | 'LT'
  | 'LTE'
  | 'GT'
  | 'GTE'
  | 'BETWEEN'
  | 'IN'
  | 'NOT_IN'
  | 'HAS_PROPERTY'
  | 'NOT_HAS_PROPERTY'
  | 'CONTAINS_TOKEN'
  | 'NOT_CONTAINS_TOKEN';

const OPERATORS = new Set<string>(['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN']);

type Scalar = string | number | boolean;

interface Filter {
  propertyName?: string;
  operator?: string;
  value?: Scalar;
  highValue?: Scalar;
  values?: Scalar[];
}

interface SearchBody {
  filterGroups?: { filters?: Filter[] }[];
  sorts?: (string | { propertyName?: string; direction?: string })[];
  properties?: string[];
  limit?: number;
  after?: string | number;
  query?: string;
}

/** Search limits: 200 per page [H12], 10,000 results per query [H13], 5 groups / 10 per group / 25 filters [H14]. */
export const SEARCH_LIMITS = { pageMax: 200, defaultLimit: 10, resultCap: 10_000, groups: 5, filtersPerGroup: 10, filtersTotal: 25 };

type Predicate = (record: StoredRecord) => boolean;

function compile(store: RecordStore, type: HubSpotObjectType, filter: Filter): Predicate {
  const name = filter.propertyName === 'id' ? 'hs_object_id' : filter.propertyName;
  const operator = filter.operator ?? '';
  if (!name) throw validationError('filter is missing propertyName');
  if (!OPERATORS.has(operator)) throw validationError(`Invalid operator: ${operator}`);
  const definition = store.property(type, name);
  if (!definition) throw validationError(`There was a problem with the request. Property "${name}" does not exist on ${type}`);
  const key = comparable(definition.kind);
  const get = (record: StoredRecord): string | undefined => record.properties[name];
  if (operator === 'HAS_PROPERTY') return (record) => get(record) !== undefined;
  if (operator === 'NOT_HAS_PROPERTY') return (record) => get(record) === undefined;
  if (operator === 'IN' || operator === 'NOT_IN') {
    const wanted = new Set((filter.values ?? []).map((value) => key(String(value))));
    const inSet = (record: StoredRecord): boolean => {
      const value = get(record);
      return value !== undefined && wanted.has(key(value));
    };
    return operator === 'IN' ? inSet : (record) => !inSet(record);
  }
  if (operator === 'CONTAINS_TOKEN' || operator === 'NOT_CONTAINS_TOKEN') {
    const token = String(filter.value ?? '').toLowerCase();
    const pattern = new RegExp(`^${token.split('*').map(escapeRegExp).join('.*')}$`);
    const contains = (record: StoredRecord): boolean =>
      (get(record) ?? '')
        .toLowerCase()
        .split(/[^a-z0-9@._*-]+/)
        .some((part) => pattern.test(part) || part === token);
    return operator === 'CONTAINS_TOKEN' ? contains : (record) => !contains(record);
  }
  const low = key(String(filter.value ?? ''));
  const high = key(String(filter.highValue ?? ''));
  const compare = (record: StoredRecord, test: (value: number | string) => boolean): boolean => {
    const value = get(record);
    return value !== undefined && test(key(value));
  };
  switch (operator) {
    case 'EQ':
      return (record) => compare(record, (value) => value === low);
    // A record without the property is "not equal" too, as at HubSpot.
    case 'NEQ':
      return (record) => !compare(record, (value) => value === low);
    case 'LT':
      return (record) => compare(record, (value) => value < low);
    case 'LTE':
      return (record) => compare(record, (value) => value <= low);
    case 'GT':
      return (record) => compare(record, (value) => value > low);
    case 'GTE':
      return (record) => compare(record, (value) => value >= low);
    default:
      return (record) => compare(record, (value) => value >= low && value <= high);
  }
}

/** Dates compare as epoch ms whether given ISO or as ms [H12]; numbers numerically; text case-insensitively. */
function comparable(kind: PropertyKind): (text: string) => number | string {
  if (kind === 'datetime') return (text) => (/^-?\d+$/.test(text) ? Number(text) : Date.parse(text));
  if (kind === 'number') return (text) => Number(text);
  return (text) => text.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sorter(store: RecordStore, type: HubSpotObjectType, sorts: SearchBody['sorts']): (a: StoredRecord, b: StoredRecord) => number {
  const byId = (a: StoredRecord, b: StoredRecord): number => Number(a.id) - Number(b.id);
  const first = sorts?.[0];
  if (first === undefined) return byId;
  let name: string | undefined;
  let descending: boolean;
  if (typeof first === 'string') {
    descending = first.startsWith('-');
    name = descending ? first.slice(1) : first;
  } else {
    name = first.propertyName;
    descending = first.direction === 'DESCENDING';
  }
  if (!name) return byId;
  const propertyName = name === 'id' ? 'hs_object_id' : name;
  const key = comparable(store.property(type, propertyName)?.kind ?? 'string');
  const sign = descending ? -1 : 1;
  return (a, b) => {
    const left = a.properties[propertyName];
    const right = b.properties[propertyName];
    // Records without the value sort last either way.
    if (left === undefined || right === undefined) return left === right ? byId(a, b) : left === undefined ? 1 : -1;
    const [x, y] = [key(left), key(right)];
    return x < y ? -sign : x > y ? sign : byId(a, b);
  };
}

/** `POST /crm/v3/objects/{type}/search` [H9][H11][H12]. */
export function registerSearchRoutes(app: FastifyInstance, store: RecordStore): void {
  app.post<{ Params: { type: string }; Body: SearchBody | undefined }>('/crm/v3/objects/:type/search', async (request) => {
    const type = objectTypeParam(request.params.type);
    const body = request.body ?? {};
    const limit = body.limit ?? SEARCH_LIMITS.defaultLimit;
    if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.pageMax) {
      throw validationError(`limit must be an integer between 0 and ${SEARCH_LIMITS.pageMax}, got ${String(limit)}`);
    }
    const after = body.after === undefined || body.after === '' ? 0 : Number(body.after);
    if (!Number.isInteger(after) || after < 0) throw validationError(`Invalid after: ${String(body.after)}`);
    if (after >= SEARCH_LIMITS.resultCap) {
      throw validationError(`Search results are limited to ${SEARCH_LIMITS.resultCap} per query; after=${after} is beyond that. Narrow the filters instead of paging further.`);
    }
    const groups = body.filterGroups ?? [];
    if (groups.length > SEARCH_LIMITS.groups) throw validationError(`Too many filter groups (${groups.length}); the maximum is ${SEARCH_LIMITS.groups}`);
    let total = 0;
    for (const group of groups) {
      const count = group.filters?.length ?? 0;
      total += count;
      if (count > SEARCH_LIMITS.filtersPerGroup) throw validationError(`Too many filters in a group (${count}); the maximum is ${SEARCH_LIMITS.filtersPerGroup}`);
    }
    if (total > SEARCH_LIMITS.filtersTotal) throw validationError(`Too many filters (${total}); the maximum is ${SEARCH_LIMITS.filtersTotal} across all groups`);
    const compiled = groups.map((group) => (group.filters ?? []).map((filter) => compile(store, type, filter)));
    const query = body.query?.trim().toLowerCase();
    const matches: StoredRecord[] = [];
    for (const record of store.all(type)) {
      if (record.archived) continue;
      if (compiled.length > 0 && !compiled.some((filters) => filters.every((test) => test(record)))) continue;
      if (query && !SCHEMAS[type].defaultProperties.some((name) => (record.properties[name] ?? '').toLowerCase().includes(query))) continue;
      matches.push(record);
    }
    matches.sort(sorter(store, type, body.sorts));
    const end = Math.min(after + limit, matches.length, SEARCH_LIMITS.resultCap);
    const properties = parseNameList(body.properties);
    const results = matches.slice(after, end).map((record) => toPublicObject(record, properties));
    // HubSpot still offers a next page at the cap; following it is what returns the 400.
    const paging = end < matches.length ? { paging: { next: { after: String(end) } } } : {};
    return { total: matches.length, results, ...paging };
  });
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SandboxCounters } from '../core/counters';
import { errorBody, invalidModule, invalidParam, requiredParam, tooManyRecords, ZohoError } from './errors';
import { alreadyModified } from './conditional';
import { isModule, type ZohoModule } from './modules';
import type { ZohoNotifications } from './notifications';
import type { RecordStore, StoredRecord, WriteEntry, WriteMode, ZohoUser } from './store';
import { registerTimelineRoute } from './timeline';
import { usersOfType } from './users';

export const API_PREFIX = '/crm/v6';
/**
 * The API versions served. Zoho's official SDKs call `/crm/v7` and `/crm/v8` (the v8 Node SDK
 * builds every path as `/crm/v8/...` [Z13]); the record, search, deleted, upsert, field and watch
 * endpoints emulated here keep one shape across v6-v8 [Z1][Z5][Z12], so each version serves the same routes.
 */
export const API_PREFIXES = [API_PREFIX, '/crm/v7', '/crm/v8'] as const;

/** Whether a request path is an API call (any served version). */
export function isApiPath(url: string): boolean {
  return API_PREFIXES.some((prefix) => url.startsWith(`${prefix}/`));
}
/** Records per write call (secondary [Z6]); records per page (`per_page` max 200 [Z8]). */
export const MAX_WRITE_RECORDS = 100;
export const MAX_PAGE = 200;
const MAX_FIELDS = 50;
const MAX_CRITERIA = 10;

type Query = Record<string, string | undefined>;

export interface RecordRouteDeps {
  store: RecordStore;
  counters: SandboxCounters;
  notifications: ZohoNotifications;
  /** The API user every token acts as (Modified_By of API writes). */
  apiUser: ZohoUser;
}

export function moduleParam(value: string): ZohoModule {
  if (!isModule(value)) throw invalidModule(value);
  return value;
}

/** A record as the API renders it: the asked fields (all when none asked), lookups as `{name, id}`, system fields. */
export function renderRecord(store: RecordStore, record: StoredRecord, fields?: readonly string[]): Record<string, unknown> {
  const schema = store.schemas[record.module];
  const names = fields ?? Object.keys(schema.fields);
  const out: Record<string, unknown> = { id: record.id };
  for (const name of names) {
    if (name === 'Modified_Time') out.Modified_Time = store.render(record.modifiedAt);
    else if (name === 'Created_Time') out.Created_Time = store.render(record.createdAt);
    else if (name === 'Modified_By') out.Modified_By = record.modifiedBy;
    else if (name === 'Created_By') out.Created_By = record.createdBy;
    else if (schema.fields[name]) out[name] = record.values[name] ?? null;
  }
  if (!fields) Object.assign(out, { Modified_Time: store.render(record.modifiedAt), Created_Time: store.render(record.createdAt), Modified_By: record.modifiedBy, Created_By: record.createdBy });
  return out;
}

function pageParams(query: Query): { page: number; perPage: number } {
  const page = query.page === undefined ? 1 : Number(query.page);
  const perPage = query.per_page === undefined ? MAX_PAGE : Number(query.per_page);
  if (!Number.isInteger(page) || page < 1) throw invalidParam('page', 'invalid data');
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PAGE) throw invalidParam('per_page', `per_page must be between 1 and ${MAX_PAGE}`);
  return { page, perPage };
}

/** `If-Modified-Since` [Z7]: records modified after that second. */
function modifiedSince(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new ZohoError(400, errorBody('INVALID_DATA', 'invalid data', { header: 'If-Modified-Since' }));
  return Math.floor(time / 1000);
}

/** `{data, info}` with `more_records` [Z8]; an empty page is 204 No Content. */
function sendPage<T>(reply: FastifyReply, items: readonly T[], page: number, perPage: number, extra: Record<string, unknown> = {}): FastifyReply {
  const slice = items.slice((page - 1) * perPage, page * perPage);
  if (slice.length === 0) return reply.code(204).send();
  return reply.send({ data: slice, info: { per_page: perPage, count: slice.length, page, more_records: page * perPage < items.length, ...extra } });
}

/** Write answers: all succeeded 201 (insert) / 200, all refused 400, mixed 207; the body always lists every entry. */
function sendWrite(reply: FastifyReply, entries: WriteEntry[], created: boolean): FastifyReply {
  const ok = entries.filter((entry) => entry.status === 'success').length;
  const status = ok === entries.length ? (created ? 201 : 200) : ok === 0 ? 400 : 207;
  return reply.code(status).send({ data: entries });
}

function writeInputs(body: unknown): Record<string, unknown>[] {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) throw new ZohoError(400, errorBody('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'data' }));
  if (data.length > MAX_WRITE_RECORDS) throw tooManyRecords(MAX_WRITE_RECORDS);
  if (data.some((entry) => typeof entry !== 'object' || entry === null || Array.isArray(entry))) throw new ZohoError(400, errorBody('INVALID_DATA', 'invalid data', { api_name: 'data' }));
  return data as Record<string, unknown>[];
}

/** `(Email:equals:a@x.com)or(Email:equals:b@x.com)`: one operator kind per query, `\(`, `\)`, `\,` escaped. */
function parseCriteria(text: string): { join: 'or' | 'and'; terms: { field: string; op: string; value: string }[] } {
  const terms: { field: string; op: string; value: string }[] = [];
  const joins = new Set<string>();
  let rest = text.trim();
  while (rest.startsWith('((') && rest.endsWith('))')) rest = rest.slice(1, -1);
  const pattern = /^\(((?:\\.|[^()\\])*)\)\s*(?:(or|and)\s*)?/i;
  while (rest.length > 0) {
    const match = pattern.exec(rest);
    if (!match) throw new ZohoError(400, errorBody('INVALID_QUERY', 'invalid query formed', { reason: 'invalid criteria' }));
    const [field, op, ...valueParts] = (match[1] as string).split(':');
    const value = valueParts.join(':').replace(/\\(.)/g, '$1');
    if (!field || !op || !['equals', 'starts_with'].includes(op)) throw new ZohoError(400, errorBody('INVALID_QUERY', 'invalid query formed', { reason: `unsupported operator ${op ?? ''}` }));
    terms.push({ field, op, value });
    if (match[2]) joins.add(match[2].toLowerCase());
    rest = rest.slice(match[0].length);
  }
  if (terms.length === 0) throw requiredParam('criteria');
  if (terms.length > MAX_CRITERIA) throw new ZohoError(400, errorBody('LIMIT_REACHED', `a maximum of ${MAX_CRITERIA} criteria can be given`, { limit: MAX_CRITERIA }));
  if (joins.size > 1) throw new ZohoError(400, errorBody('INVALID_QUERY', 'invalid query formed', { reason: 'mixed and/or' }));
  return { join: joins.has('and') ? 'and' : 'or', terms };
}

export function registerRecordRoutes(app: FastifyInstance, deps: RecordRouteDeps, prefix: string = API_PREFIX): void {
  const { store, counters, notifications, apiUser } = deps;

  // The organisation's users, by `type` (AllUsers when left out) [Z49].
  app.get<{ Querystring: Query }>(`${prefix}/users`, async (request) => {
    const users = usersOfType(request.query.type);
    if (!users) throw invalidParam('type', 'invalid data');
    return { users, info: { per_page: MAX_PAGE, count: users.length, page: 1, more_records: false } };
  });

  app.get<{ Params: { module: string }; Querystring: Query }>(`${prefix}/:module`, async (request, reply) => {
    const module = moduleParam(request.params.module);
    const { page, perPage } = pageParams(request.query);
    const fieldsParam = request.query.fields;
    if (!fieldsParam) throw requiredParam('fields');
    const fields = fieldsParam.split(',').map((field) => field.trim()).filter(Boolean);
    if (fields.length > MAX_FIELDS) throw invalidParam('fields', `a maximum of ${MAX_FIELDS} fields can be requested`);
    const sortBy = request.query.sort_by ?? 'id';
    const sortOrder = request.query.sort_order ?? 'desc';
    if (!['id', 'Created_Time', 'Modified_Time'].includes(sortBy)) throw invalidParam('sort_by', 'invalid data');
    if (!['asc', 'desc'].includes(sortOrder)) throw invalidParam('sort_order', 'invalid data');
    const since = modifiedSince(request.headers['if-modified-since']);
    const ids = request.query.ids?.split(',').filter(Boolean);
    if (ids && ids.length > MAX_WRITE_RECORDS) throw invalidParam('ids', `a maximum of ${MAX_WRITE_RECORDS} ids can be given`);
    let records = ids ? ids.map((id) => store.get(module, id)).filter((record): record is StoredRecord => record !== undefined) : store.all(module);
    if (since !== undefined) records = records.filter((record) => Math.floor(record.modifiedAt / 1000) > since);
    const key = (record: StoredRecord): number | bigint => (sortBy === 'id' ? BigInt(record.id) : sortBy === 'Created_Time' ? record.createdAt : record.modifiedAt);
    // Ties (equal stamps) fall back to id order, so pages are deterministic.
    records.sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      const order = x < y ? -1 : x > y ? 1 : BigInt(a.id) < BigInt(b.id) ? -1 : 1;
      return sortOrder === 'asc' ? order : -order;
    });
    return sendPage(reply, records.map((record) => renderRecord(store, record, fields)), page, perPage, { sort_by: sortBy, sort_order: sortOrder });
  });

  app.get<{ Params: { module: string }; Querystring: Query }>(`${prefix}/:module/search`, async (request, reply) => {
    const module = moduleParam(request.params.module);
    const { page, perPage } = pageParams(request.query);
    const byValue = request.query.email ?? request.query.phone;
    if (request.query.word !== undefined) throw invalidParam('word', 'word search is not emulated by the sandbox');
    if (byValue !== undefined && request.query.criteria === undefined) {
      // `email` / `phone`: an exact, case-insensitive match in any field of that kind [Z14].
      const kind = request.query.email !== undefined ? 'email' : 'phone';
      const schema = store.schemas[module];
      const wanted = byValue.toLowerCase();
      const hits = store.all(module).filter((record) => Object.entries(schema.fields).some(([name, field]) => field.kind === kind && typeof record.values[name] === 'string' && (record.values[name]).toLowerCase() === wanted));
      return sendPage(reply, hits.map((record) => renderRecord(store, record)), page, perPage);
    }
    if (!request.query.criteria) throw requiredParam('criteria');
    const { join, terms } = parseCriteria(request.query.criteria);
    const matches = (record: StoredRecord): boolean => {
      const results = terms.map(({ field, op, value }) => {
        const stored = record.values[field];
        const text = typeof stored === 'string' ? stored.toLowerCase() : typeof stored === 'number' ? String(stored) : '';
        return op === 'equals' ? text === value.toLowerCase() : text.startsWith(value.toLowerCase());
      });
      return join === 'or' ? results.some(Boolean) : results.every(Boolean);
    };
    const records = store.all(module).filter(matches);
    return sendPage(reply, records.map((record) => renderRecord(store, record)), page, perPage);
  });

  app.get<{ Params: { module: string }; Querystring: Query }>(`${prefix}/:module/deleted`, async (request, reply) => {
    const module = moduleParam(request.params.module);
    const { page, perPage } = pageParams(request.query);
    const type = request.query.type ?? 'all';
    if (!['all', 'recycle', 'permanent'].includes(type)) throw invalidParam('type', 'invalid data');
    const since = modifiedSince(request.headers['if-modified-since']);
    // Newest deletion first (UNCONFIRMED order).
    const entries = store
      .deletions(module)
      .filter((entry) => (type === 'all' || entry.type === type) && (since === undefined || Math.floor(entry.deletedAt / 1000) > since))
      .sort((a, b) => b.deletedAt - a.deletedAt)
      .map((entry) => ({ deleted_by: entry.deletedBy, id: entry.id, display_name: entry.displayName, type: entry.type, created_by: entry.createdBy, deleted_time: store.render(entry.deletedAt) }));
    return sendPage(reply, entries, page, perPage);
  });

  registerTimelineRoute(app, store, moduleParam, prefix);

  app.get<{ Params: { module: string; id: string } }>(`${prefix}/:module/:id`, async (request, reply) => {
    const module = moduleParam(request.params.module);
    const record = store.get(module, request.params.id);
    // A missing record answers 204 like an empty listing (UNCONFIRMED).
    if (!record) return reply.code(204).send();
    return { data: [renderRecord(store, record)] };
  });

  const write = (mode: WriteMode) => async (request: { params: { module: string }; body: unknown; headers: Record<string, string | string[] | undefined> }, reply: FastifyReply) => {
    const module = moduleParam(request.params.module);
    const inputs = writeInputs(request.body);
    if (mode === 'update') {
      const refused = alreadyModified(store, module, request.headers['if-unmodified-since'], inputs);
      if (refused) return reply.code(412).send(refused);
    }
    let duplicateCheck: string[] | undefined;
    if (mode === 'upsert') {
      const given = (request.body as { duplicate_check_fields?: unknown }).duplicate_check_fields;
      if (given !== undefined) {
        const schema = store.schemas[module];
        const allowed = new Set([...schema.systemDuplicateCheck, ...Object.entries(schema.fields).filter(([, field]) => field.unique).map(([name]) => name)]);
        if (!Array.isArray(given) || given.some((field) => typeof field !== 'string' || !allowed.has(field))) {
          throw new ZohoError(400, errorBody('INVALID_DATA', 'invalid data', { api_name: 'duplicate_check_fields' }));
        }
        duplicateCheck = given as string[];
      }
    }
    const entries = store.write(module, inputs, mode, apiUser, duplicateCheck);
    counters.countRecordWrites(module, entries.filter((entry) => entry.status === 'success').length);
    return sendWrite(reply, entries, mode === 'create');
  };
  app.post<{ Params: { module: string } }>(`${prefix}/:module`, write('create'));
  app.put<{ Params: { module: string } }>(`${prefix}/:module`, write('update'));
  app.post<{ Params: { module: string } }>(`${prefix}/:module/upsert`, write('upsert'));

  app.delete<{ Params: { module: string }; Querystring: Query }>(`${prefix}/:module`, async (request, reply) => {
    const module = moduleParam(request.params.module);
    const ids = request.query.ids?.split(',').filter(Boolean) ?? [];
    if (ids.length === 0) throw requiredParam('ids');
    if (ids.length > MAX_WRITE_RECORDS) throw tooManyRecords(MAX_WRITE_RECORDS);
    const entries = store.remove(module, ids, apiUser);
    counters.countRecordWrites(module, entries.filter((entry) => entry.status === 'success').length);
    return sendWrite(reply, entries, false);
  });

  app.get<{ Querystring: Query }>(`${prefix}/settings/fields`, async (request) => {
    const module = moduleParam(request.query.module ?? '');
    const schema = store.schemas[module];
    // [Z1][Z15]: `length`, `system_mandatory`, `pick_list_values` ({display_value, actual_value,
    // sequence_number, type}), `json_type`, `read_only`.
    return {
      fields: Object.entries(schema.fields).map(([apiName, field]) => ({
        api_name: apiName,
        field_label: apiName.replace(/_/g, ' '),
        display_label: apiName.replace(/_/g, ' '),
        data_type: field.kind === 'owner' ? 'ownerlookup' : field.kind,
        json_type: field.kind === 'lookup' ? 'jsonobject' : field.kind === 'integer' ? 'integer' : field.kind === 'double' || field.kind === 'currency' ? 'double' : 'string',
        custom_field: field.custom === true,
        system_mandatory: schema.mandatory.includes(apiName),
        read_only: apiName === 'Full_Name',
        ...(field.length !== undefined ? { length: field.length } : {}),
        pick_list_values: (field.options ?? []).map((value, index) => ({ display_value: value, actual_value: value, sequence_number: index + 1, type: 'used' })),
        unique: { casesensitive: false, enabled: field.unique === true },
        ...(field.lookup ? { lookup: { module: { api_name: field.lookup } } } : {}),
      })),
    };
  });

  app.post(`${prefix}/actions/watch`, async (request) => notifications.watch(request.body));
  app.patch(`${prefix}/actions/watch`, async (request) => notifications.update(request.body));
  app.get(`${prefix}/actions/watch`, async (_request, reply) => {
    const details = notifications.details();
    return details ? details : reply.code(204).send();
  });
  app.delete<{ Querystring: { channel_ids?: string } }>(`${prefix}/actions/watch`, async (request, reply) => {
    const { status, body } = notifications.disable(request.query.channel_ids);
    return reply.code(status).send(body);
  });
}

/** How many records a write call carries (credits are charged per 10). */
export function recordsInCall(method: string, body: unknown, query: Query): number {
  if (method === 'DELETE') return query.ids?.split(',').filter(Boolean).length ?? 0;
  const data = (body as { data?: unknown } | undefined)?.data;
  return Array.isArray(data) ? data.length : 0;
}

export function storedView(store: RecordStore, module: ZohoModule, id: string): Record<string, unknown> | undefined {
  const record = store.get(module, id);
  return record ? renderRecord(store, record) : undefined;
}

import type { FastifyInstance } from 'fastify';
import type { SandboxCounters } from '../core/counters';
import { PIPEDRIVE_USERS } from './users';
import { notFound, validation } from './errors';
import type { CallKind } from './limits';
import { customFieldSelection, listFilter } from './list-filters';
import { page, parseLimit, parseTime, type SortBy } from './paging';
import { DEFAULT_STAGES, entityOf, MANDATORY_IN_UI, SEARCHABLE, SEARCHABLE_CUSTOM_KINDS, SINGULAR, STANDARD_FIELDS, type PipedriveEntity } from './schema';
import type { DealParticipants } from './participants';
import { renderRecord, type RecordStore, type StoredRecord } from './store';

type Query = Record<string, string | undefined>;

/** Which daily-budget cost a route has [P3]. */
export function callKindOf(method: string, routeUrl: string | undefined): CallKind {
  if (routeUrl?.endsWith('/search')) return 'search';
  if (method === 'GET' && (routeUrl?.endsWith('/participants') || routeUrl?.endsWith('/participantsChangelog'))) return 'sublist';
  if (method === 'DELETE') return 'delete';
  if (method === 'POST' || method === 'PATCH' || method === 'PUT') return 'update';
  return routeUrl?.includes(':id') ? 'get' : 'list';
}

function entityParam(segment: string): PipedriveEntity {
  const entity = entityOf(segment);
  if (!entity) throw notFound('Entity');
  return entity;
}

function idParam(entity: PipedriveEntity, raw: string): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw validation(`Validation failed: id: must be a positive integer`);
  void entity;
  return id;
}

function bodyOf(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw validation('Validation failed: body: must be a JSON object');
  return raw as Record<string, unknown>;
}

const ok = (data: unknown, additional?: Record<string, unknown>): Record<string, unknown> => ({ success: true, data, ...(additional ? { additional_data: additional } : {}) });

/**
 * `/api/v2/{persons|organizations|deals|activities}`: create, get, update (PATCH), delete (marks
 * deleted), list with `updated_since` / `updated_until` / `sort_by` / `sort_direction` / `limit` /
 * `cursor` / `ids`, and `/search` for the entities that have it [P1][P2].
 */
export function registerEntityRoutes(app: FastifyInstance, store: RecordStore, counters: SandboxCounters, participants: DealParticipants): void {
  const render = (record: StoredRecord, query: Query): Record<string, unknown> => withIncluded(withCustomFields(renderRecord(record), customFieldSelection(query.custom_fields)), record, includedFields(record.entity, query), participants);
  app.post<{ Params: { entity: string } }>('/api/v2/:entity', async (request, reply) => {
    const entity = entityParam(request.params.entity);
    const record = store.create(entity, bodyOf(request.body), 'api');
    counters.countRecordWrites(entity);
    return reply.code(200).send(ok(renderRecord(record)));
  });

  app.get<{ Params: { entity: string; id: string } }>('/api/v2/:entity/:id', async (request) => {
    const entity = entityParam(request.params.entity);
    return ok(render(store.live(entity, idParam(entity, request.params.id)), request.query as Query));
  });

  app.patch<{ Params: { entity: string; id: string } }>('/api/v2/:entity/:id', async (request) => {
    const entity = entityParam(request.params.entity);
    const record = store.update(entity, idParam(entity, request.params.id), bodyOf(request.body), 'api');
    counters.countRecordWrites(entity);
    return ok(renderRecord(record));
  });

  app.delete<{ Params: { entity: string; id: string } }>('/api/v2/:entity/:id', async (request) => {
    const entity = entityParam(request.params.entity);
    const record = store.delete(entity, idParam(entity, request.params.id), 'api');
    counters.countRecordWrites(entity);
    return ok({ id: record.id });
  });

  app.get<{ Params: { entity: string }; Querystring: Query }>('/api/v2/:entity', async (request) => {
    const entity = entityParam(request.params.entity);
    const query = request.query;
    const sortBy = (query.sort_by ?? 'id') as SortBy;
    if (!['id', 'update_time', 'add_time'].includes(sortBy)) throw validation('Validation failed: sort_by: must be one of id, update_time, add_time');
    const direction = query.sort_direction ?? 'asc';
    if (direction !== 'asc' && direction !== 'desc') throw validation('Validation failed: sort_direction: must be asc or desc');
    const limit = parseLimit(query.limit);
    const since = parseTime('updated_since', query.updated_since);
    const until = parseTime('updated_until', query.updated_until);
    const ids = query.ids ? new Set(query.ids.split(',').map(Number)) : undefined;
    if (ids && ids.size > 100) throw validation('Validation failed: ids: at most 100 ids');
    const deleted = listsDeleted(entity, query);
    const filter = listFilter(entity, query, (dealId) => store.get('deals', dealId), (dealId) => (store.get('deals', dealId) ? participants.list(dealId).map((participant) => participant.personId) : []));
    const candidates = store.all(entity).filter((record) => {
      if (!filter(record)) return false;
      if ((record.deletedAt !== undefined) !== deleted) return false;
      if (entity === 'deals' && query.status && query.status !== 'deleted' && record.fields.status !== query.status) return false;
      const second = Math.floor(record.updateTime / 1000) * 1000;
      if (since !== undefined && second < since) return false;
      if (until !== undefined && second >= until) return false;
      return !ids || ids.has(record.id);
    });
    const { items, next } = page(candidates, { sortBy, direction, limit, cursor: query.cursor });
    return ok(items.map((record) => render(record, query)), { next_cursor: next });
  });

  app.get<{ Params: { entity: string }; Querystring: Query }>('/api/v2/:entity/search', async (request) => {
    const entity = entityParam(request.params.entity);
    const searchable = SEARCHABLE[entity];
    if (!searchable) throw notFound('Entity');
    const query = request.query;
    const exact = query.exact_match === 'true' || query.exact_match === '1';
    const term = (query.term ?? '').trim();
    if (term.length < (exact ? 1 : 2)) throw validation(`Validation failed: term: must be at least ${exact ? 1 : 2} characters`);
    const fields = query.fields ? query.fields.split(',') : searchable;
    for (const field of fields) if (!searchable.includes(field)) throw validation(`Validation failed: fields: "${field}" is not searchable for ${entity}`);
    const limit = parseLimit(query.limit);
    const scope = searchScope(entity, query);
    const matches = store.all(entity).filter((record) => record.deletedAt === undefined && scope(record) && matchedCustom(store, record, fields, term, exact) !== undefined);
    const { items, next } = page(matches, { sortBy: 'id', direction: 'asc', limit, cursor: query.cursor });
    return ok({ items: items.map((record) => ({ result_score: 1, item: searchItem(record, matchedCustom(store, record, fields, term, exact) ?? []) })) }, { next_cursor: next });
  });

  // Field definitions (v1), where custom field keys are discovered [P1].
  for (const entity of ['persons', 'organizations', 'deals', 'activities'] as const) {
    app.get(`/v1/${SINGULAR[entity]}Fields`, async () => ok(fieldList(store, entity), { pagination: { start: 0, limit: 500, more_items_in_collection: false } }));
  }
  // Activity types: GET /v1/activityTypes (cost 20) [P19]; POST adds a custom one.
  app.get('/v1/activityTypes', async () => ok(store.activityTypes.list()));
  app.post('/v1/activityTypes', async (request) => {
    const body = bodyOf(request.body);
    if (typeof body.name !== 'string' || body.name === '') throw validation('Validation failed: name: Parameter \'name\' is required');
    if (typeof body.icon_key !== 'string' || body.icon_key === '') throw validation('Validation failed: icon_key: Parameter \'icon_key\' is required');
    return ok(store.activityTypes.add(body.name, body.icon_key));
  });
  app.get('/v1/users', async () => ok(PIPEDRIVE_USERS));
  app.get('/v1/stages', async () => ok(DEFAULT_STAGES.map((stage) => ({ ...stage, pipeline_id: 1, active_flag: true }))));
}

/**
 * `include_fields`: extra fields v2 adds only when asked [P16]. Of the deal's documented values
 * the sandbox computes `participants_count`; the others are refused (not emulated), never ignored.
 */
const INCLUDABLE: Partial<Record<PipedriveEntity, readonly string[]>> = { deals: ['participants_count'] };

function includedFields(entity: PipedriveEntity, query: Query): readonly string[] {
  if (query.include_fields === undefined || query.include_fields === '') return [];
  const names = query.include_fields.split(',').map((name) => name.trim());
  for (const name of names) if (!(INCLUDABLE[entity] ?? []).includes(name)) throw validation(`Validation failed: include_fields: "${name}" is not emulated by the sandbox for ${entity}`);
  return names;
}

function withIncluded(rendered: Record<string, unknown>, record: StoredRecord, names: readonly string[], participants: DealParticipants): Record<string, unknown> {
  if (names.includes('participants_count')) rendered.participants_count = participants.count(record.id);
  return rendered;
}

function addressValue(address: unknown): string | undefined {
  const value = (address as { value?: unknown } | null | undefined)?.value;
  return typeof value === 'string' ? value : undefined;
}

/** Only the asked custom fields (`custom_fields=` on list and get) [P6]. */
function withCustomFields(rendered: Record<string, unknown>, selection: ReadonlySet<string> | undefined): Record<string, unknown> {
  if (!selection) return rendered;
  const custom = rendered.custom_fields as Record<string, unknown>;
  return { ...rendered, custom_fields: Object.fromEntries(Object.entries(custom).filter(([key]) => selection.has(key))) };
}

/**
 * Search scopes [P6]: persons by `organization_id`; deals by `person_id`, `organization_id` and
 * `status`. Other entities take none (400, not ignored).
 */
function searchScope(entity: PipedriveEntity, query: Query): (record: StoredRecord) => boolean {
  const allowed: Record<string, readonly string[]> = { persons: ['organization_id'], deals: ['person_id', 'organization_id', 'status'] };
  const checks: ((record: StoredRecord) => boolean)[] = [];
  for (const name of ['organization_id', 'person_id', 'status']) {
    const raw = query[name];
    if (raw === undefined || raw === '') continue;
    if (!(allowed[entity] ?? []).includes(name)) throw validation(`Validation failed: ${name}: Parameter '${name}' is not allowed for this request`);
    if (name === 'status') {
      if (!['open', 'won', 'lost'].includes(raw)) throw validation('Validation failed: status: must be one of open, won, lost');
      checks.push((record) => record.fields.status === raw);
      continue;
    }
    const id = Number(raw);
    if (!Number.isInteger(id) || id <= 0) throw validation(`Validation failed: ${name}: must be a positive integer`);
    const field = name === 'organization_id' ? 'org_id' : 'person_id';
    checks.push((record) => record.fields[field] === id);
  }
  return (record) => checks.every((check) => check(record));
}

/**
 * Deleted records stay listable for 30 days [P1]: deals by `status=deleted` (documented), the
 * others by `is_deleted=true` (UNCONFIRMED: the v2 docs name no deleted filter for them; the
 * sandbox offers this one so a connector can list deletions the same way for every entity).
 */
function listsDeleted(entity: PipedriveEntity, query: Query): boolean {
  if (entity === 'deals') return query.status === 'deleted';
  return query.is_deleted === 'true';
}

/**
 * The record's matching values when it matches `term` in one of `fields` (case-insensitive; exact
 * or substring), else undefined. Returns the matched custom field values (search items list them).
 */
function matchedCustom(store: RecordStore, record: StoredRecord, fields: readonly string[], term: string, exact: boolean): string[] | undefined {
  const wanted = term.toLowerCase();
  const hit = (value: unknown): boolean => {
    if (typeof value !== 'string' && typeof value !== 'number') return false;
    const text = String(value).toLowerCase();
    return exact ? text === wanted : text.includes(wanted);
  };
  const custom: string[] = [];
  let matched = false;
  for (const field of fields) {
    if (field === 'custom_fields') {
      for (const [key, value] of Object.entries(record.custom)) {
        const definition = store.customField(record.entity, key);
        if (definition && SEARCHABLE_CUSTOM_KINDS.has(definition.fieldType) && hit(value)) {
          custom.push(String(value));
          matched = true;
        }
      }
    } else if (field === 'email' || field === 'phone') {
      const list = record.fields[field === 'email' ? 'emails' : 'phones'];
      if (Array.isArray(list) && list.some((entry: { value?: unknown }) => hit(entry.value))) matched = true;
    } else if (field === 'address') {
      if (hit(addressValue(record.fields.address))) matched = true;
    } else if (field === 'name' || field === 'title') {
      if (hit(record.fields[field])) matched = true;
    }
  }
  return matched ? custom : undefined;
}

/** A search result item: a summary, not the full record (v2 search shape) [P1]. */
function searchItem(record: StoredRecord, customValues: string[]): Record<string, unknown> {
  const fields = record.fields;
  const common = { id: record.id, type: SINGULAR[record.entity], visible_to: fields.visible_to ?? 3, owner: { id: fields.owner_id ?? 1 }, custom_fields: customValues, notes: [] };
  if (record.entity === 'persons') {
    const values = (list: unknown): string[] => (Array.isArray(list) ? list.map((entry: { value: string }) => entry.value) : []);
    return { ...common, name: fields.name, emails: values(fields.emails), phones: values(fields.phones), organization: typeof fields.org_id === 'number' ? { id: fields.org_id } : null };
  }
  // Search items carry the address as its one-line `value`, not the object records have [P6].
  if (record.entity === 'organizations') return { ...common, name: fields.name, address: addressValue(fields.address) ?? null };
  return {
    ...common,
    title: fields.title,
    value: fields.value,
    currency: fields.currency,
    status: fields.status,
    stage: { id: fields.stage_id, name: DEFAULT_STAGES.find((stage) => stage.id === fields.stage_id)?.name ?? '' },
    person: typeof fields.person_id === 'number' ? { id: fields.person_id } : null,
    organization: typeof fields.org_id === 'number' ? { id: fields.org_id } : null,
  };
}

function fieldList(store: RecordStore, entity: PipedriveEntity): Record<string, unknown>[] {
  let id = 1;
  // `mandatory_flag` on the field the web UI asks for, `options` ({id, label}) on enums, else null [P7].
  const standard = Object.entries(STANDARD_FIELDS[entity]).map(([key, kind]) => ({ id: id++, key, name: key, field_type: kind, edit_flag: false, bulk_edit_allowed: true, mandatory_flag: MANDATORY_IN_UI[entity] === key, options: null }));
  const custom = store.fields(entity).map((field) => ({ id: id++, key: field.key, name: field.name, field_type: field.fieldType, edit_flag: true, bulk_edit_allowed: true, mandatory_flag: false, options: field.options ?? null }));
  return [...standard, ...custom];
}

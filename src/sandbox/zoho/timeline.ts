import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody, invalidParam, ZohoError } from './errors';
import type { ZohoModule } from './modules';
import type { RecordStore, ZohoUser } from './store';
import { ZOHO_UI_USER } from './users';

/**
 * A record's timeline [Z64]: one entry per write that created it or changed any of its fields,
 * API and UI writes alike, each with the second it was audited and, for an update, the fields it
 * changed with their old and new values. A write that changes nothing adds no entry (UNCONFIRMED).
 */
export interface TimelineEntry {
  id: string;
  auditedAt: number;
  action: 'added' | 'updated';
  doneBy: ZohoUser;
  /** `field_history[]`: null on `added` (the sample's created entries carry none [Z64]). */
  changes: { apiName: string; old: unknown; new: unknown }[] | null;
}

/** Entries per page: Zoho lists at most 200 (`__timeline` maxItems) [Z64]; the default is UNCONFIRMED. */
export const TIMELINE_MAX_PAGE = 200;
const TIMELINE_DEFAULT_PAGE = 20;

export class RecordTimelines {
  private readonly entries = new Map<string, TimelineEntry[]>();
  // Entry ids of their own, so that record ids stay as they were before timelines were kept.
  private nextId = 5_843_104_900_000_000_001n;

  record(recordId: string, entry: Omit<TimelineEntry, 'id'>): void {
    const stored = { ...entry, id: String(this.nextId++) };
    const list = this.entries.get(recordId);
    if (list) list.push(stored);
    else this.entries.set(recordId, [stored]);
  }

  of(recordId: string): readonly TimelineEntry[] {
    return this.entries.get(recordId) ?? [];
  }
}

/** `_value.old` / `_value.new` are strings or null [Z64]: a lookup or owner by its name. */
function historyValue(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'object') {
    const name = (value as { name?: unknown }).name;
    return typeof name === 'string' ? name : JSON.stringify(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function renderEntry(store: RecordStore, module: ZohoModule, recordId: string, entry: TimelineEntry): Record<string, unknown> {
  return {
    done_by: entry.doneBy,
    extension: null,
    related_record: null,
    automation_details: null,
    record: { module: { api_name: module, id: null }, name: null, id: recordId },
    audited_time: store.render(entry.auditedAt),
    action: entry.action,
    id: entry.id,
    source: entry.doneBy.id === ZOHO_UI_USER.id ? 'crm_ui' : 'crm_api',
    type: 'timeline',
    field_history: entry.changes?.map((change) => ({ api_name: change.apiName, _value: { new: historyValue(change.new), old: historyValue(change.old) } })) ?? null,
  };
}

/**
 * `GET /crm/v{n}/{module}/{id}/__timeline` [Z64]: `sort_by=audited_time` only, `sort_order`
 * asc|desc (newest first when left out: UNCONFIRMED), `per_page` up to 200, `page`; an unknown
 * record or one without entries answers 204. `page_token`, `filters` and `include_*` are not
 * emulated (400 for a `page_token` the sandbox never issued).
 */
export function registerTimelineRoute(app: FastifyInstance, store: RecordStore, moduleParam: (value: string) => ZohoModule, prefix: string): void {
  app.get<{ Params: { module: string; id: string }; Querystring: Record<string, string | undefined> }>(`${prefix}/:module/:id/__timeline`, async (request, reply: FastifyReply) => {
    const module = moduleParam(request.params.module);
    const { query } = request;
    if (query.sort_by !== undefined && query.sort_by !== 'audited_time') throw invalidParam('sort_by', 'invalid data');
    const order = query.sort_order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw invalidParam('sort_order', 'invalid data');
    if (query.page_token !== undefined) throw new ZohoError(400, errorBody('INVALID_DATA', 'invalid data', { param_name: 'page_token' }));
    const perPage = query.per_page === undefined ? TIMELINE_DEFAULT_PAGE : Number(query.per_page);
    const page = query.page === undefined ? 1 : Number(query.page);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > TIMELINE_MAX_PAGE) throw invalidParam('per_page', 'invalid data');
    if (!Number.isInteger(page) || page < 1) throw invalidParam('page', 'invalid data');
    const record = store.get(module, request.params.id);
    // Written order is audit order; ties keep it.
    const entries = record ? [...store.timelines.of(record.id)] : [];
    if (order === 'desc') entries.reverse();
    const slice = entries.slice((page - 1) * perPage, page * perPage);
    if (slice.length === 0) return reply.code(204).send();
    return {
      __timeline: slice.map((entry) => renderEntry(store, module, request.params.id, entry)),
      info: { next_page_token: null, previous_page_token: null, count: slice.length, more_records: page * perPage < entries.length, page, per_page: perPage },
    };
  });
}

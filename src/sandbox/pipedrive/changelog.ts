import type { FastifyInstance } from 'fastify';
import { notFound, validation } from './errors';
import { entityOf, type PipedriveEntity } from './schema';
import { renderRecord, type RecordChange, type RecordStore } from './store';

/**
 * One entry of `GET /v1/{persons|organizations|deals}/{id}/changelog` [P11]: a field's value before
 * and after one change, who made it, from where and when (`time` in UTC, to the second).
 */
export interface ChangelogEntry {
  field_key: string;
  old_value: string | null;
  new_value: string | null;
  actor_user_id: number;
  time: string;
  change_source: string;
  change_source_user_agent: string | null;
  is_bulk_update_flag: boolean;
}

/** Entities with a changelog endpoint (activities have none) [P11]. */
const LOGGED: readonly PipedriveEntity[] = ['persons', 'organizations', 'deals'];

/** The sandbox's one user: the API token's owner and the person clicking in the web app alike. */
export const SANDBOX_USER_ID = 1;

/** Fields Pipedrive maintains itself; a changelog lists what people and integrations changed. */
const NOT_LOGGED = new Set(['id', 'add_time', 'update_time', 'is_deleted', 'custom_fields', 'name', 'emails', 'phones']);

/**
 * The field values a changelog compares, keyed as the v1 field list keys them: standard fields by
 * name, the primary email and phone as `email` and `phone`, custom fields by their hash key.
 * Values as the changelog shows them: text, numbers as text, objects as JSON, empty as null.
 * (How Pipedrive renders a multi-value email or an address in `old_value` is UNCONFIRMED.)
 */
export function loggedValues(rendered: Readonly<Record<string, unknown>>): Map<string, string | null> {
  const values = new Map<string, string | null>();
  for (const [key, value] of Object.entries(rendered)) if (!NOT_LOGGED.has(key)) values.set(key, text(value));
  if ('emails' in rendered) values.set('email', text(primary(rendered.emails)));
  if ('phones' in rendered) values.set('phone', text(primary(rendered.phones)));
  for (const [key, value] of Object.entries((rendered.custom_fields ?? {}) as Record<string, unknown>)) values.set(key, text(value));
  return values;
}

function primary(list: unknown): unknown {
  if (!Array.isArray(list) || list.length === 0) return null;
  const entries = list as { value?: unknown; primary?: unknown }[];
  return (entries.find((entry) => entry.primary === true) ?? entries[0])?.value ?? null;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `2026-12-05 23:20:24`: the changelog's time, UTC, to the second. */
export function changelogTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Every field change of every logged record, newest last. */
export class Changelog {
  private readonly entries = new Map<string, ChangelogEntry[]>();

  record(change: RecordChange): void {
    if (change.action !== 'change' || !change.before || !LOGGED.includes(change.record.entity)) return;
    const before = loggedValues(change.before);
    const after = loggedValues(renderRecord(change.record));
    const time = changelogTime(change.record.updateTime);
    const log = this.of(change.record.entity, change.record.id);
    for (const [key, value] of after) {
      const old = before.get(key) ?? null;
      if (old === value) continue;
      log.push({
        field_key: key,
        old_value: old,
        new_value: value,
        actor_user_id: SANDBOX_USER_ID,
        time,
        change_source: change.source,
        change_source_user_agent: null,
        is_bulk_update_flag: false,
      });
    }
  }

  /** Newest first, as the endpoint lists them. */
  list(entity: PipedriveEntity, id: number): ChangelogEntry[] {
    return [...this.of(entity, id)].reverse();
  }

  private of(entity: PipedriveEntity, id: number): ChangelogEntry[] {
    const key = `${entity}:${id}`;
    let log = this.entries.get(key);
    if (!log) {
      log = [];
      this.entries.set(key, log);
    }
    return log;
  }
}

/** `GET /v1/{persons|organizations|deals}/{id}/changelog` with `cursor` and `limit` (at most 500) [P11]. */
export function registerChangelogRoutes(app: FastifyInstance, store: RecordStore, changelog: Changelog): void {
  app.get<{ Params: { entity: string; id: string }; Querystring: Record<string, string | undefined> }>('/v1/:entity/:id/changelog', async (request) => {
    const entity = entityOf(request.params.entity);
    if (!entity || !LOGGED.includes(entity)) throw notFound('Entity');
    const id = Number(request.params.id);
    if (!Number.isInteger(id) || id <= 0) throw validation('Validation failed: id: must be a positive integer');
    // A deleted record answers 404, as its GET does (UNCONFIRMED for the changelog).
    store.live(entity, id);
    const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw validation('Validation failed: limit: must be an integer from 1 to 500');
    const start = request.query.cursor === undefined ? 0 : decodeOffset(request.query.cursor);
    const all = changelog.list(entity, id);
    const data = all.slice(start, start + limit);
    const next = start + limit < all.length ? Buffer.from(JSON.stringify({ offset: start + limit })).toString('base64url') : null;
    return { success: true, data, additional_data: { next_cursor: next } };
  });
}

function decodeOffset(cursor: string): number {
  try {
    const { offset } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through to the documented error
  }
  throw validation('Validation failed: cursor: Invalid cursor');
}

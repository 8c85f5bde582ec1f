import { validation } from './errors';
import { rfc3339, type StoredRecord } from './store';

/** v2 list pages hold 100 by default, 500 at most [P1][P2]. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;

export type SortBy = 'id' | 'update_time' | 'add_time';

interface CursorState {
  /** Sort key (epoch seconds for times, the id for `id`) and id of the last record served. */
  k: number;
  id: number;
  s: SortBy;
  d: 'asc' | 'desc';
}

/**
 * The cursor is opaque at Pipedrive (`additional_data.next_cursor`); its inner workings are
 * UNCONFIRMED. The sandbox makes it a keyset position (sort key, id), so a record modified while
 * a scan pages moves behind the position and is served again later, never skipped.
 */
export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, sortBy: SortBy, direction: 'asc' | 'desc'): CursorState {
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorState;
    if (typeof state.k === 'number' && typeof state.id === 'number' && state.s === sortBy && state.d === direction) return state;
  } catch {
    // Falls through to the validation error.
  }
  throw validation('Validation failed: cursor: Invalid cursor');
}

export function parseLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw validation(`Validation failed: limit: must be an integer from 1 to ${MAX_LIMIT}`);
  return limit;
}

/** RFC 3339 with a time zone, as `updated_since` / `updated_until` take it [P1]. */
export function parseTime(name: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(value)) throw validation(`Validation failed: ${name}: must be an RFC 3339 date-time, e.g. 2026-01-01T10:20:00Z`);
  return value;
}

function sortKey(record: StoredRecord, sortBy: SortBy): number {
  if (sortBy === 'id') return record.id;
  // Pipedrive keeps times to the second: records written in one second tie and are ordered by id.
  return Math.floor((sortBy === 'update_time' ? record.updateTime : record.addTime) / 1000);
}

/** Sorts, skips past the cursor and cuts a page; `next` is the cursor after it, or null. */
export function page(records: StoredRecord[], options: { sortBy: SortBy; direction: 'asc' | 'desc'; limit: number; cursor?: string | undefined }): { items: StoredRecord[]; next: string | null } {
  const sign = options.direction === 'asc' ? 1 : -1;
  const compare = (a: StoredRecord, b: StoredRecord): number => sign * (sortKey(a, options.sortBy) - sortKey(b, options.sortBy) || a.id - b.id);
  const sorted = [...records].sort(compare);
  const after = options.cursor ? decodeCursor(options.cursor, options.sortBy, options.direction) : undefined;
  const rest = after ? sorted.filter((record) => sign * (sortKey(record, options.sortBy) - after.k || record.id - after.id) > 0) : sorted;
  const items = rest.slice(0, options.limit);
  const last = items[items.length - 1];
  const next = rest.length > options.limit && last ? encodeCursor({ k: sortKey(last, options.sortBy), id: last.id, s: options.sortBy, d: options.direction }) : null;
  return { items, next };
}

export { rfc3339 };

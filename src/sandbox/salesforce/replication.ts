import type { FastifyInstance } from 'fastify';
import { pathType, type SalesforceContext } from './context';
import { floorToMinute, parseSfDateTime, toSfDateTime } from './dates';
import { SalesforceApiError } from './errors';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_IDS = 600_000;

interface Range {
  start?: string;
  end?: string;
}

/** `sobjects/{T}/updated` and `/deleted`: ids changed in a window [S19][S23]. */
export function registerReplicationRoutes(app: FastifyInstance, context: SalesforceContext): void {
  const window = (query: Range, maxDays: number) => {
    const start = query.start ? parseSfDateTime(query.start) : undefined;
    const end = query.end ? parseSfDateTime(query.end) : undefined;
    if (start === undefined || end === undefined) {
      throw new SalesforceApiError(400, 'INVALID_REPLICATION_DATE', 'start and end must be valid dateTime values');
    }
    if (end < start) throw new SalesforceApiError(400, 'INVALID_REPLICATION_DATE', 'EndDate before StartDate');
    // The org's clock; a stamp handed out ahead of it (many saves in one millisecond) is covered too.
    const now = Math.max(context.now(), context.clock.latest() + 1);
    if (start < now - maxDays * DAY_MS) {
      throw new SalesforceApiError(400, 'INVALID_REPLICATION_DATE', `startDate cannot be more than ${maxDays} days ago`);
    }
    // Nothing after "now" is covered yet; the window is [start, min(end, now)).
    return { start, end: Math.min(end, now) };
  };
  const guard = (count: number) => {
    if (count > MAX_IDS) throw new SalesforceApiError(400, 'EXCEEDED_ID_LIMIT', 'The number of ids exceeds the limit of 600,000');
  };

  const updated = async (request: { params: { version: string; type: string }; query: Range }) => {
    const type = pathType(request.params.type);
    const { start, end } = window(request.query, 30);
    const ids: string[] = [];
    for (const record of context.store.all(type)) {
      if (record.deletedMs === undefined && record.modstampMs >= start && record.modstampMs < end) ids.push(record.id);
    }
    guard(ids.length);
    return { ids, latestDateCovered: toSfDateTime(end) };
  };

  const deleted = async (request: { params: { version: string; type: string }; query: Range }) => {
    const type = pathType(request.params.type);
    const { start, end } = window(request.query, 15);
    const deletedRecords = context.store
      .deletionLog(type)
      .filter((entry) => entry.deletedMs >= start && entry.deletedMs < end)
      .map((entry) => ({ id: entry.id, deletedDate: toSfDateTime(entry.deletedMs) }));
    guard(deletedRecords.length);
    return { deletedRecords, earliestDateAvailable: toSfDateTime(floorToMinute(context.startedMs)), latestDateCovered: toSfDateTime(end) };
  };

  for (const suffix of ['', '/']) {
    app.get<{ Params: { version: string; type: string }; Querystring: Range }>(`/services/data/:version/sobjects/:type/updated${suffix}`, updated);
    app.get<{ Params: { version: string; type: string }; Querystring: Range }>(`/services/data/:version/sobjects/:type/deleted${suffix}`, deleted);
  }
}

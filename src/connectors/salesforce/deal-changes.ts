import type { CompiledMapping } from '../../model/mapping';
import type { ChangePage, ChangesRequest, ExternalRecord } from '../connector';
import { keysetPage } from './changes';
import { decodeCursor, encodeCursor } from './cursor';
import { fromSalesforce, nativeObjectName, selectFields, toIsoInstant, type SalesforceRecord } from './record-mapper';
import { readRecords } from './records';
import { deletedRoles, readRoles, ROLE_OBJECT, withRoles, type RoleIndex } from './roles';
import type { SalesforceSession } from './session';
import { salesforceSpec } from './spec';

/**
 * Deal changes = opportunity saves + contact-role saves + contact-role deletions, because a role
 * change leaves the opportunity's SystemModstamp alone (BEHAVIOR.md). Three streams, read in step:
 * opportunities and roles by keyset on (SystemModstamp, Id) as changes.ts does, role deletions
 * from getDeleted once per scan [S67]. A page covers every event up to the cutoff (the lower of
 * the two keyset pages' last stamps); a deal is returned once all its known events are covered,
 * with `modifiedAt` = the newest of its own and its roles' stamps (removed roles included), so
 * the watermark and staleness checks cover role changes, and the same (id, modifiedAt) is never
 * returned twice in a scan.
 */

interface StreamPosition {
  from: string;
  seenAtFrom: string[];
  done: boolean;
}

interface DealChangeCursor {
  kind: 'deal-changes';
  opportunities: StreamPosition;
  roles: StreamPosition;
  /** Role deletions of the scan's window not yet covered: [deletedAt, opportunityId]. */
  removed: [string, string][];
  /** Deals returned with modifiedAt equal to the last cutoff (they may be met again at it). */
  returnedAtCutoff: string[];
  cutoff: string;
  /** getDeleted's latestDateCovered: role deletions after it are not known to this scan. */
  deletionsCoveredTo: string;
  until?: string | undefined;
  highWatermark: string;
}

function isDealChangeCursor(value: unknown): value is DealChangeCursor {
  return typeof value === 'object' && value !== null && (value as DealChangeCursor).kind === 'deal-changes';
}

/** Above every ISO stamp: a finished stream bounds nothing. */
const END = '9999-12-31T23:59:59.999Z';

/** The position after consuming `rows` (fresh, sorted) of a stream at `position`. */
export function advance(position: StreamPosition, rows: readonly { stamp: string; id: string }[], exhausted: boolean, consumedAll: boolean): StreamPosition {
  const last = rows.at(-1);
  if (!last) return { ...position, done: position.done || (exhausted && consumedAll) };
  const seen = last.stamp === position.from ? [...position.seenAtFrom] : [];
  seen.push(...rows.filter((row) => row.stamp === last.stamp).map((row) => row.id));
  return { from: last.stamp, seenAtFrom: seen, done: exhausted && consumedAll };
}

const stampOf = (row: SalesforceRecord): { stamp: string; id: string } => ({ stamp: toIsoInstant(row.SystemModstamp), id: String(row.Id) });

export async function listDealChanges(
  session: SalesforceSession,
  mapping: CompiledMapping,
  index: RoleIndex,
  request: ChangesRequest,
  lookbackMs: number,
  now: () => number = Date.now,
): Promise<ChangePage> {
  const cursor = request.cursor ? decodeCursor(request.cursor, isDealChangeCursor) : await firstCursor(session, index, request, lookbackMs, now);
  const limit = Math.min(Math.max(1, request.limit ?? salesforceSpec.batch.defaultQueryPage), salesforceSpec.batch.maxQueryPage);
  const objectName = nativeObjectName(mapping, 'deal');
  const empty = { rows: [] as SalesforceRecord[], exhausted: true };
  const opportunityPage = cursor.opportunities.done ? empty : await keysetPage(session, { objectName, fields: selectFields(mapping, 'deal'), ...cursor.opportunities, until: cursor.until, limit });
  const rolePage = cursor.roles.done ? empty : await keysetPage(session, { objectName: ROLE_OBJECT, fields: ['Id', 'OpportunityId', 'SystemModstamp'], ...cursor.roles, until: cursor.until, limit });
  const boundOf = (page: { rows: SalesforceRecord[]; exhausted: boolean }): string => (page.exhausted ? END : stampOf(page.rows.at(-1) as SalesforceRecord).stamp);
  const cutoff = [boundOf(opportunityPage), boundOf(rolePage)].reduce((low, stamp) => (stamp < low ? stamp : low));
  const covered = (row: SalesforceRecord): boolean => stampOf(row).stamp <= cutoff;
  const opportunityRows = opportunityPage.rows.filter(covered);
  const roleRows = rolePage.rows.filter(covered);
  const removedNow = cursor.removed.filter(([stamp]) => stamp <= cutoff);

  // Deals met through a role event are read by id; the opportunity rows already read are used as they are.
  const byId = new Map<string, ExternalRecord>(opportunityRows.map((row) => [String(row.Id), fromSalesforce(mapping, 'deal', row)]));
  const roleOnly = [...new Set([...roleRows.map((row) => String(row.OpportunityId)), ...removedNow.map(([, id]) => id)])].filter((id) => !byId.has(id));
  for (const record of await readRecords(session, mapping, 'deal', roleOnly)) byId.set(record.externalId, { ...record, version: undefined });
  const roles = await readRoles(session, index, [...byId.keys()]);
  const removedOf = (id: string): string[] => cursor.removed.filter(([, opportunityId]) => opportunityId === id).map(([stamp]) => stamp);
  const inScan = (stamp: string): boolean => !cursor.until || stamp < cursor.until;

  const records: ExternalRecord[] = [];
  const returnedAtCutoff = cursor.cutoff === cutoff ? [...cursor.returnedAtCutoff] : [];
  for (const [id, record] of byId) {
    const rows = roles.get(id) ?? [];
    const withSlots = withRoles(record, rows, removedOf(id));
    // Held back while one of its events lies past the cutoff: it is returned when that event is reached.
    const newestInScan = [record.modifiedAt, ...rows.map((row) => row.modifiedAt), ...removedOf(id)].filter(inScan).reduce((high, stamp) => (stamp > high ? stamp : high), '');
    if (newestInScan > cutoff) continue;
    // Met again at the last cutoff (more rows at that very stamp): already returned with this stamp.
    if (withSlots.modifiedAt === cursor.cutoff && cursor.returnedAtCutoff.includes(id)) continue;
    records.push(withSlots);
    if (withSlots.modifiedAt === cutoff) returnedAtCutoff.push(id);
  }
  records.sort((a, b) => a.modifiedAt.localeCompare(b.modifiedAt) || a.externalId.localeCompare(b.externalId));

  // Never past the cutoff: events after it (in either keyset stream) are not covered yet.
  const newest = records.reduce((high, record) => (record.modifiedAt > high ? record.modifiedAt : high), cursor.highWatermark);
  // Nor past the delete log's coverage: a role removed after it is found by the next scan.
  const safe = [newest, cutoff, cursor.deletionsCoveredTo].reduce((low, stamp) => (stamp < low ? stamp : low));
  const highWatermark = safe > cursor.highWatermark ? safe : cursor.highWatermark;
  const next: DealChangeCursor = {
    ...cursor,
    opportunities: advance(cursor.opportunities, opportunityRows.map(stampOf), opportunityPage.exhausted, opportunityRows.length === opportunityPage.rows.length),
    roles: advance(cursor.roles, roleRows.map(stampOf), rolePage.exhausted, roleRows.length === rolePage.rows.length),
    removed: cursor.removed.filter(([stamp]) => stamp > cutoff),
    returnedAtCutoff,
    cutoff,
    highWatermark,
  };
  const finished = next.opportunities.done && next.roles.done && next.removed.length === 0;
  return { records, highWatermark, nextCursor: finished ? undefined : encodeCursor(next) };
}

/**
 * The scan's start, and its role deletions: getDeleted gives bare ids [S67], tied to their
 * opportunity through the roles this connector has read or written (RoleIndex). A role never seen
 * by this process cannot be tied: its removal waits for the next full read of the deal.
 */
async function firstCursor(session: SalesforceSession, index: RoleIndex, request: ChangesRequest, lookbackMs: number, now: () => number): Promise<DealChangeCursor> {
  const from = new Date(Date.parse(request.since) - lookbackMs).toISOString();
  const earliest = now() - salesforceSpec.deletedLogDays * 24 * 60 * 60_000 + 60_000;
  const start = new Date(Math.max(Date.parse(from), earliest));
  const end = new Date(request.until ? Math.min(Date.parse(request.until), now()) : now());
  const removed: [string, string][] = [];
  let deletionsCoveredTo = END;
  if (end.getTime() > start.getTime()) {
    const deletions = await deletedRoles(session, start, end);
    deletionsCoveredTo = deletions.coveredTo;
    for (const [roleId, stamp] of deletions.stamps) {
      const opportunityId = index.opportunityOf(roleId);
      if (opportunityId) removed.push([stamp, opportunityId]);
    }
  }
  removed.sort((a, b) => a[0].localeCompare(b[0]));
  const position: StreamPosition = { from, seenAtFrom: [], done: false };
  return {
    kind: 'deal-changes',
    opportunities: position,
    roles: { ...position },
    removed,
    returnedAtCutoff: [],
    cutoff: from,
    deletionsCoveredTo,
    until: request.until,
    highWatermark: new Date(Date.parse(request.since)).toISOString(),
  };
}

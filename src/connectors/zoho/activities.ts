import type { CanonicalFields } from '../../model/canonical';
import { nativeFieldsOf, nativeFieldsToRead, type CompiledMapping } from '../../model/mapping';
import type { ChangePage, ChangesRequest, DeletionPage, ExternalRecord } from '../connector';
import { decodeCursor, encodeCursor } from '../cursor';
import { chunked } from '../unique-keys';
import {
  ACTIVITY_MODULES,
  dueDateToDueAt,
  externalIdOf,
  KIND_OF_MODULE,
  moduleMapping,
  parseActivityId,
  participantContacts,
  TASK_DUE_FIELD,
  type ActivityModule,
} from './activity-modules';
import { scanChanges, type ModuleSource, type ReadContext, type ZohoPage } from './changes';
import { scanDeletions } from './deletions';
import { withReadVersions } from './read-version';
import { fieldsToRead, fromRecord, type ZohoRecord } from './record-mapper';
import { zohoSpec } from './spec';

/**
 * Activities across Tasks, Calls and Events on every read path: each record says its `kind` (its
 * module), its What_Id slot, its contacts (a task's or call's Who_Id, a meeting's contact
 * Participants) and its `dueAt` (Due_Date, Call_Start_Time, Start_DateTime).
 */

const PARTICIPANTS = 'Participants';

function tenantMapsDueAt(mapping: CompiledMapping): boolean {
  return nativeFieldsOf(mapping, 'activity', ['dueAt']).size > 0;
}

/** The `fields` parameter per module (at most 50). */
export function activityFields(read: Pick<ReadContext, 'mapping' | 'syncIdField'>, module: ActivityModule): string[] {
  const base = [read.syncIdField, zohoSpec.systemFields.modifiedTime, zohoSpec.systemFields.modifiedBy, 'What_Id', '$se_module'];
  const fields =
    module === 'Tasks'
      ? [...fieldsToRead(read.mapping, 'activity', read.syncIdField), ...(tenantMapsDueAt(read.mapping) ? [] : [TASK_DUE_FIELD])]
      : module === 'Calls'
        ? [...base, 'Who_Id', ...nativeFieldsToRead(moduleMapping(read.mapping, 'Calls'), 'activity')]
        : [...base, PARTICIPANTS, 'End_DateTime', ...nativeFieldsToRead(moduleMapping(read.mapping, 'Events'), 'activity')];
  return [...new Set(fields)].slice(0, zohoSpec.paging.maxFields);
}

/** One row of a module as a canonical activity. */
export function activityFromRow(read: Pick<ReadContext, 'mapping' | 'syncIdField'>, module: ActivityModule, row: ZohoRecord): ExternalRecord {
  const mapping = moduleMapping(read.mapping, module);
  const record = fromRecord(mapping, 'activity', read.syncIdField, row);
  const fields: CanonicalFields = { ...record.fields, kind: KIND_OF_MODULE[module] };
  const references = { ...record.references };
  if (module === 'Tasks' && !('dueAt' in fields) && TASK_DUE_FIELD in row) {
    const dueAt = dueDateToDueAt(row[TASK_DUE_FIELD]);
    if (dueAt !== undefined) fields.dueAt = dueAt;
  }
  if (module === 'Events') {
    // A meeting's people are its Participants [Z27]; its Who_Id is not the slot.
    delete references.contacts;
    const contacts = participantContacts(row[PARTICIPANTS]);
    if (contacts !== undefined) references.contacts = contacts;
  }
  return { ...record, externalId: externalIdOf(module, record.externalId), fields, references };
}

const sourceOf = (read: ReadContext, module: ActivityModule): ModuleSource => ({
  module,
  fields: activityFields(read, module),
  toRecord: (row) => activityFromRow(read, module, row),
});

/** readRecords: ids grouped by the module they name, `?ids=` per 100 per module, each with its read version. */
export async function readActivities(read: ReadContext, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const byModule = new Map<ActivityModule, Set<string>>();
  for (const externalId of externalIds) {
    const parsed = parseActivityId(externalId);
    if (!parsed) continue;
    byModule.set(parsed.module, (byModule.get(parsed.module) ?? new Set()).add(parsed.id));
  }
  const records: ExternalRecord[] = [];
  for (const module of ACTIVITY_MODULES) {
    for (const chunk of chunked([...(byModule.get(module) ?? [])], zohoSpec.paging.readChunk)) {
      const query = new URLSearchParams({ ids: chunk.join(','), fields: activityFields(read, module).join(','), per_page: String(zohoSpec.paging.maxPage) });
      const response = await read.http.call<ZohoPage>({ method: 'GET', path: `${module}?${query.toString()}` });
      // The version a later update of these activities is conditional on, as for the other modules.
      records.push(...withReadVersions((response.body?.data ?? []).map((row) => activityFromRow(read, module, row)), response.headers.date));
    }
  }
  return records;
}

/**
 * One scan over the three modules, one module at a time, under one cursor. Each module's scan is
 * the single-module keyset scan (changes.ts); a finished module has been read up to the second
 * before its last call's server time (stamps are whole seconds: a record saved in that very second
 * may postdate the read). The watermark is the lowest of the modules' positions (a module not yet
 * started sits at `since`), so it never passes what one module has not been scanned up to, and a
 * record of a finished module saved mid-scan lies after it: the next scan finds it.
 */
interface ActivityChangesCursor {
  kind: 'activity-changes';
  since: string;
  until?: string | undefined;
  index: number;
  inner: string | null;
  /** The current module's position so far. */
  current: string;
  /** Finished modules: how far each was read. */
  reached: Partial<Record<ActivityModule, string>>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** How far a finished module was read: the second before its server time, never past `until`, never before what it returned. */
function reachOf(high: string, serverTime: number, since: string, until: string | undefined): string {
  const bySecond = Math.floor(serverTime / 1000) * 1000 - 1000;
  const bound = until ? Math.min(bySecond, Date.parse(until) - 1) : bySecond;
  return iso(Math.max(Date.parse(since), Date.parse(high), bound));
}

function lowest(since: string, reached: Partial<Record<ActivityModule, string>>, currentModule: ActivityModule | undefined, current: string): string {
  return ACTIVITY_MODULES.map((module) => reached[module] ?? (module === currentModule ? current : since)).reduce((low, position) => (position < low ? position : low));
}

export async function listActivityChanges(read: ReadContext, request: ChangesRequest): Promise<ChangePage> {
  const state: ActivityChangesCursor = request.cursor
    ? decodeCursor<ActivityChangesCursor>('zoho', request.cursor, 'activity-changes')
    : { kind: 'activity-changes', since: iso(Date.parse(request.since)), until: request.until, index: 0, inner: null, current: iso(Date.parse(request.since)), reached: {} };
  const module = ACTIVITY_MODULES[state.index] as ActivityModule;
  const page = await scanChanges(read, 'activity', { since: state.since, until: state.until, limit: request.limit, cursor: state.inner ?? undefined }, sourceOf(read, module));
  let next: ActivityChangesCursor | undefined;
  if (page.nextCursor) {
    next = { ...state, inner: page.nextCursor, current: page.highWatermark };
  } else {
    const reached = { ...state.reached, [module]: reachOf(page.highWatermark, page.serverTime, state.since, state.until) };
    next = state.index + 1 < ACTIVITY_MODULES.length ? { ...state, index: state.index + 1, inner: null, current: state.since, reached } : undefined;
    if (!next) return { records: page.records, highWatermark: lowest(state.since, reached, undefined, state.since) };
  }
  return { records: page.records, highWatermark: lowest(state.since, next.reached, ACTIVITY_MODULES[next.index], next.current), nextCursor: encodeCursor(next) };
}

/**
 * Deletions across the three modules, one feed after another. A feed is newest first, so a
 * module is covered only once its feed is done, and only up to its first call (a deletion made
 * later lands above the pages already read): in progress it sits at `since`.
 */
interface ActivityDeletionsCursor {
  kind: 'activity-deletions';
  since: string;
  until?: string | undefined;
  index: number;
  inner: string | null;
  firstServerTime: number | null;
  reached: Partial<Record<ActivityModule, string>>;
}

export async function listActivityDeletions(read: ReadContext, request: ChangesRequest): Promise<DeletionPage> {
  const state: ActivityDeletionsCursor = request.cursor
    ? decodeCursor<ActivityDeletionsCursor>('zoho', request.cursor, 'activity-deletions')
    : { kind: 'activity-deletions', since: iso(Date.parse(request.since)), until: request.until, index: 0, inner: null, firstServerTime: null, reached: {} };
  const module = ACTIVITY_MODULES[state.index] as ActivityModule;
  const page = await scanDeletions(read, 'activity', { since: state.since, until: state.until, limit: request.limit, cursor: state.inner ?? undefined }, { module, idOf: (id) => externalIdOf(module, id) });
  const firstServerTime = state.firstServerTime ?? page.serverTime;
  let next: ActivityDeletionsCursor | undefined;
  if (page.nextCursor) {
    next = { ...state, inner: page.nextCursor, firstServerTime };
  } else {
    const reached = { ...state.reached, [module]: reachOf(state.since, firstServerTime, state.since, state.until) };
    next = state.index + 1 < ACTIVITY_MODULES.length ? { ...state, index: state.index + 1, inner: null, firstServerTime: null, reached } : undefined;
    if (!next) return { deletions: page.deletions, highWatermark: lowest(state.since, reached, undefined, state.since) };
  }
  return { deletions: page.deletions, highWatermark: lowest(state.since, next.reached, undefined, state.since), nextCursor: encodeCursor(next) };
}

/** The full export: each module's listing in id order, one module after another. */
export async function exportActivityPage(read: ReadContext, moduleIndex: number, page: number): Promise<{ records: ExternalRecord[]; next?: { module: number; page: number } | undefined }> {
  const module = ACTIVITY_MODULES[moduleIndex] as ActivityModule;
  const query = new URLSearchParams({ fields: activityFields(read, module).join(','), sort_by: 'id', sort_order: 'asc', page: String(page), per_page: String(read.pageSize) });
  const response = await read.http.call<ZohoPage>({ method: 'GET', path: `${module}?${query.toString()}` });
  const records = (response.body?.data ?? []).map((row) => activityFromRow(read, module, row));
  if (response.body?.info?.more_records === true) return { records, next: { module: moduleIndex, page: page + 1 } };
  return { records, next: moduleIndex + 1 < ACTIVITY_MODULES.length ? { module: moduleIndex + 1, page: 1 } : undefined };
}

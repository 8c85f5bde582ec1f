import type { DeleteOutcome, UpsertInput, UpsertOutcome } from '../connector';
import { ACTIVITY_TABLES, activityPayload, mappingOf, partyList, tableOfKind, type ActivityTableSpec } from './activity-tables';
import { readParties, tablesOf } from './activity-reads';
import { failureInfo, notExecuted, notExecutedInfo, outcomeOf, sendBatch, type BatchPart, type WriteContext } from './bulk';
import { dataverseFailureInfo } from './errors';
import type { ODataPage } from './changes';
import { isGuid, regardingBind } from './record-mapper';

/**
 * Activity writes. A record stays in its table (a kind is its table: a task cannot become an
 * appointment), so every write first finds where the record is: linked ids through
 * `activitypointers` (one query per 50 ids), unlinked sync ids through each table's `crm_syncid`
 * (one query per table per 50 ids). A create goes to the table of its kind (none: task). Rows are
 * upserted in one `$batch`; the contacts given are then made exact with one `PUT` of the party
 * collection per record whose contacts differ, in a second `$batch` [D41].
 */

interface Target {
  table: ActivityTableSpec;
  /** The record's id when it exists (or the caller linked it). */
  id?: string | undefined;
  exists: boolean;
}

async function locate(context: WriteContext, inputs: readonly UpsertInput[]): Promise<Target[]> {
  const linked = await tablesOf(context.read, inputs.map((input) => input.externalId ?? '').filter(isGuid));
  const bySyncId = await findBySyncIds(context, inputs.filter((input) => !(input.externalId && isGuid(input.externalId))).map((input) => input.syncId));
  return inputs.map((input) => {
    const id = input.externalId && isGuid(input.externalId) ? input.externalId.toLowerCase() : undefined;
    if (id) {
      const table = linked.get(id);
      // Gone meanwhile: the write goes where its kind would be and If-Match makes it a 404.
      return table ? { table, id, exists: true } : { table: tableOfKind(input.fields.kind ?? 'task'), id, exists: false };
    }
    const found = bySyncId.get(input.syncId.toLowerCase());
    return found ? { table: found.table, id: found.id, exists: true } : { table: tableOfKind(input.fields.kind ?? 'task'), exists: false };
  });
}

async function findBySyncIds(context: WriteContext, syncIds: readonly string[]): Promise<Map<string, { table: ActivityTableSpec; id: string }>> {
  const found = new Map<string, { table: ActivityTableSpec; id: string }>();
  const unique = [...new Set(syncIds)];
  const column = context.spec.syncIdColumn;
  for (const table of ACTIVITY_TABLES) {
    for (let start = 0; start < unique.length; start += context.spec.batch.readChunk) {
      const filter = unique.slice(start, start + context.spec.batch.readChunk).map((id) => `${column} eq '${id.replace(/'/g, "''")}'`).join(' or ');
      let url: string | undefined = `${table.entitySet}?$select=activityid,${column}&$filter=${encodeURIComponent(filter)}`;
      while (url) {
        const page: ODataPage = await context.http.json<ODataPage>({ method: 'GET', url, headers: { prefer: `odata.maxpagesize=${context.spec.paging.maxPageSize}` } });
        for (const row of page.value) if (typeof row[column] === 'string') found.set((row[column]).toLowerCase(), { table, id: String(row.activityid).toLowerCase() });
        url = page['@odata.nextLink'];
      }
    }
  }
  return found;
}

function batchSize(context: WriteContext): number {
  return Math.max(1, Math.min(context.batchSize, context.spec.batch.maxRequests));
}

async function run(context: WriteContext, parts: readonly BatchPart[], settle: (part: BatchPart, response: Awaited<ReturnType<typeof sendBatch>>[number] | undefined) => void): Promise<void> {
  for (let start = 0; start < parts.length; start += batchSize(context)) {
    const chunk = parts.slice(start, start + batchSize(context));
    const responses = await sendBatch(context, chunk);
    const byId = new Map(responses.map((response, position) => [response.contentId ?? String(position + 1), response]));
    chunk.forEach((part, position) => settle(part, byId.get(String(position + 1))));
  }
}

export async function upsertActivities(context: WriteContext, inputs: readonly UpsertInput[]): Promise<UpsertOutcome[]> {
  const { spec } = context;
  const targets = await locate(context, inputs);
  const outcomes: (UpsertOutcome | undefined)[] = new Array<UpsertOutcome | undefined>(inputs.length);
  const parts: BatchPart[] = [];
  inputs.forEach((input, index) => {
    const target = targets[index] as Target;
    try {
      const body = JSON.stringify(activityPayload(spec, mappingOf(context.read.activityMappings, target.table), target.table, input));
      const key = target.id ? `(${target.id})` : `(${spec.syncIdColumn}='${encodeURIComponent(input.syncId.replace(/'/g, "''"))}')`;
      const linked = Boolean(input.externalId && isGuid(input.externalId));
      parts.push({ index, method: 'PATCH', url: `${context.http.serviceRoot}/${target.table.entitySet}${key}?$select=activityid,${spec.systemColumns.modifiedOn}`, body, ifMatch: linked ? (input.ifVersion ?? '*') : undefined });
    } catch (error) {
      outcomes[index] = { syncId: input.syncId, status: 'failed', error: failureInfo('validation', error) };
    }
  });
  await run(context, parts, (part, response) => {
    const input = inputs[part.index] as UpsertInput;
    outcomes[part.index] = response ? outcomeOf(spec, 'activityid', input, response) : notExecuted(input);
  });
  const settled = outcomes.map((outcome, index) => said(outcome ?? notExecuted(inputs[index] as UpsertInput), inputs[index] as UpsertInput, targets[index] as Target));
  return writeParties(context, inputs, targets, settled);
}

/** What the write could not do as asked, said: a kind the record cannot become, a company beside a deal. */
function said(outcome: UpsertOutcome, input: UpsertInput, target: Target): UpsertOutcome {
  if (outcome.status !== 'created' && outcome.status !== 'updated') return outcome;
  const adjusted = regardingBind(target.table.regarding, input.references ?? {}).dropped.map((slot) => `references.${slot}`);
  const kind = input.fields.kind;
  const kindKept = target.exists && kind !== undefined && kind !== null && kind !== target.table.kind;
  if (kindKept) adjusted.unshift('kind');
  if (adjusted.length === 0) return outcome;
  return { ...outcome, adjusted: [...(outcome.adjusted ?? []), ...adjusted], ...(kindKept ? { written: { ...(outcome.written ?? input.fields), kind: target.table.kind } } : {}) };
}

async function writeParties(context: WriteContext, inputs: readonly UpsertInput[], targets: readonly Target[], outcomes: UpsertOutcome[]): Promise<UpsertOutcome[]> {
  const wanted = new Map<string, { index: number; contacts: string[]; table: ActivityTableSpec }>();
  inputs.forEach((input, index) => {
    const contacts = input.references?.contacts;
    const outcome = outcomes[index] as UpsertOutcome;
    const table = (targets[index] as Target).table;
    // A task holds no contact parties [D37]: its contacts slot is neither read nor written.
    if (!Array.isArray(contacts) || !table.parties || (outcome.status !== 'created' && outcome.status !== 'updated')) return;
    wanted.set(outcome.externalId.toLowerCase(), { index, contacts: contacts.filter(isGuid), table });
  });
  if (wanted.size === 0) return outcomes;
  const current = await readParties(context.read, [...wanted.keys()]);
  const parts: (BatchPart & { recordId: string })[] = [];
  for (const [recordId, { contacts, table }] of wanted) {
    const list = partyList(table, current.get(recordId) ?? [], contacts);
    if (!list || !table.parties) continue;
    parts.push({ index: parts.length, recordId, method: 'PUT', url: `${context.http.serviceRoot}/${table.entitySet}(${recordId})/${table.parties.navigation}`, body: JSON.stringify({ value: list }) });
  }
  const result = [...outcomes];
  await run(context, parts, (part, response) => {
    const target = wanted.get((part as BatchPart & { recordId: string }).recordId);
    const outcome = target ? result[target.index] : undefined;
    if (!target || !outcome || (response && response.status >= 200 && response.status < 300)) return;
    result[target.index] = { syncId: outcome.syncId, status: 'failed', error: response ? dataverseFailureInfo(response.status || 500, response.body, response.headers) : notExecutedInfo() };
  });
  return result;
}

/** Deletes by id in the id's own table; an id no activity table holds is `not-found` without a request. */
export async function deleteActivities(context: WriteContext, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  const tables = await tablesOf(context.read, externalIds);
  const outcomes: (DeleteOutcome | undefined)[] = externalIds.map((id) => (tables.has(id.toLowerCase()) ? undefined : { externalId: id, status: 'not-found' }));
  const parts: BatchPart[] = [];
  externalIds.forEach((id, index) => {
    const table = tables.get(id.toLowerCase());
    if (table) parts.push({ index, method: 'DELETE', url: `${context.http.serviceRoot}/${table.entitySet}(${id.toLowerCase()})`, body: '' });
  });
  await run(context, parts, (part, response) => {
    const externalId = externalIds[part.index] as string;
    if (response && response.status >= 200 && response.status < 300) outcomes[part.index] = { externalId, status: 'deleted' };
    else if (response?.status === 404) outcomes[part.index] = { externalId, status: 'not-found' };
    else outcomes[part.index] = { externalId, status: 'failed', error: response ? dataverseFailureInfo(response.status || 500, response.body, response.headers) : notExecutedInfo() };
  });
  return outcomes.map((outcome, index) => outcome ?? { externalId: externalIds[index] as string, status: 'failed', error: notExecutedInfo() });
}

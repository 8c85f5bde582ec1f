import { MappingValueError, nativeFieldsOf, toNative } from '../../model/mapping';
import type { CanonicalFields } from '../../model/canonical';
import type { DeleteOutcome, UpsertInput, UpsertOutcome } from '../connector';
import { mapLimited } from '../map-limited';
import { chunked } from '../unique-keys';
import {
  ACTIVITY_MODULES,
  contactIds,
  DEFAULT_CALL_TYPE,
  DEFAULT_MEETING_MS,
  externalIdOf,
  moduleMapping,
  parseActivityId,
  participantsWrite,
  planActivityWrite,
  TASK_DUE_FIELD,
  type ActivityModule,
} from './activity-modules';
import type { ZohoPage } from './changes';
import { whatIdWrite, type ZohoRecord } from './record-mapper';
import { zohoSpec } from './spec';
import { chunkDistinct, deleteInModule, failed, sendUpdate, toOutcome, updateCalls, WRITE_ANSWERS, type UpdateCall, type WriteContext, type WriteEntry } from './writes';

/**
 * Activity writes. Zoho's upsert does not take Tasks, Calls or Meetings [Z32], so a record not yet
 * linked is inserted (`POST /{module}`) and a linked one updated by id (`PUT /{module}`). The
 * sync-id field is unique: an insert repeated after a lost answer is refused DUPLICATE_DATA naming
 * the record that holds the sync id [Z33], which is then updated instead, so a retry never makes
 * a second record. Updates are conditional on the version read, as the other modules' are
 * (writes.ts, read-version.ts).
 */

interface Item {
  index: number;
  input: UpsertInput;
  module: ActivityModule;
  id: string | undefined;
  fields: CanonicalFields;
  adjusted: string[];
  payload: Record<string, unknown>;
}

const PARTICIPANTS = 'Participants';

/** Events whose write needs what they hold now: a start moved keeps the meeting's length, Participants keep non-contacts. */
async function currentEvents(ctx: WriteContext, ids: readonly string[]): Promise<Map<string, ZohoRecord>> {
  const rows = new Map<string, ZohoRecord>();
  for (const chunk of chunked([...new Set(ids)], zohoSpec.paging.readChunk)) {
    const query = new URLSearchParams({ ids: chunk.join(','), fields: ['Start_DateTime', 'End_DateTime', PARTICIPANTS].join(','), per_page: String(zohoSpec.paging.maxPage) });
    const response = await ctx.http.call<ZohoPage>({ method: 'GET', path: `Events?${query.toString()}` });
    for (const row of response.body?.data ?? []) rows.set(String(row.id), row);
  }
  return rows;
}

function payloadOf(ctx: WriteContext, item: Omit<Item, 'payload'>, current: ZohoRecord | undefined): { payload: Record<string, unknown>; leftOut: string[] } {
  const { module, fields, input } = item;
  const native = { ...fields };
  delete native.kind;
  const mapping = moduleMapping(ctx.mapping, module);
  const body: Record<string, unknown> = toNative(mapping, 'activity', native);
  if (module === 'Tasks' && 'dueAt' in fields && nativeFieldsOf(ctx.mapping, 'activity', ['dueAt']).size === 0) {
    body[TASK_DUE_FIELD] = typeof fields.dueAt === 'string' ? fields.dueAt.slice(0, 10) : null;
  }
  body[ctx.syncIdField] = input.syncId;
  const references = input.references ?? {};
  const what = whatIdWrite(references);
  Object.assign(body, what.fields);
  const leftOut: string[] = [];
  const contacts = contactIds(input.references);
  if (contacts !== undefined) {
    if (module === 'Events') body[PARTICIPANTS] = participantsWrite(contacts, current?.[PARTICIPANTS]);
    else {
      body.Who_Id = contacts[0] ? { id: contacts[0] } : null;
      if (contacts.length > 1) leftOut.push('references.contacts');
    }
  }
  leftOut.push(...what.leftOut);
  if (module === 'Calls' && !item.id) body.Call_Type = DEFAULT_CALL_TYPE;
  if (module === 'Events' && typeof body.Start_DateTime === 'string') {
    const start = Date.parse(body.Start_DateTime);
    const length = current ? Date.parse(String(current.End_DateTime)) - Date.parse(String(current.Start_DateTime)) : Number.NaN;
    body.End_DateTime = new Date(start + (Number.isFinite(length) && length >= 0 ? length : DEFAULT_MEETING_MS)).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  }
  if (item.id) body.id = item.id;
  return { payload: body, leftOut };
}

export async function upsertActivities(ctx: WriteContext, inputs: readonly UpsertInput[], callsInFlight: number): Promise<UpsertOutcome[]> {
  const outcomes = new Array<UpsertOutcome>(inputs.length);
  const planned: Omit<Item, 'payload'>[] = [];
  inputs.forEach((input, index) => {
    const existing = input.externalId ? parseActivityId(input.externalId) : undefined;
    if (input.externalId && !existing) {
      outcomes[index] = failed(input.syncId, { provider: 'zoho', errorClass: 'not-found', message: `"${input.externalId}" names no Zoho activity` });
      return;
    }
    const plan = planActivityWrite(input.fields, existing?.module);
    planned.push({ index, input, module: plan.module, id: existing?.id, fields: plan.fields, adjusted: plan.adjusted });
  });
  const eventIds = planned.filter((item) => item.module === 'Events' && item.id && ('dueAt' in item.fields || contactIds(item.input.references) !== undefined)).map((item) => item.id as string);
  const current = eventIds.length > 0 ? await currentEvents(ctx, eventIds) : new Map<string, ZohoRecord>();
  const items: Item[] = [];
  for (const item of planned) {
    try {
      const { payload, leftOut } = payloadOf(ctx, item, item.id ? current.get(item.id) : undefined);
      items.push({ ...item, adjusted: [...item.adjusted, ...leftOut], payload });
    } catch (error) {
      if (!(error instanceof MappingValueError)) throw error;
      outcomes[item.index] = failed(item.input.syncId, { provider: 'zoho', errorClass: 'validation', message: error.message, fieldErrors: [{ field: error.field, message: error.message }] });
    }
  }
  const settle = (item: Item, outcome: UpsertOutcome): void => {
    outcomes[item.index] = finish(item, outcome);
  };
  const versionChanged = (item: Item): void => {
    outcomes[item.index] = { syncId: item.input.syncId, status: 'version-changed' };
  };
  const idOf = (item: Item): string => item.id as string;
  // Update: PUT /{module} [Z5], conditional on the version read like the other modules' [Z63][Z65].
  const update = async (call: UpdateCall<Item>): Promise<void> => {
    const answered = await sendUpdate(ctx.http, call, { payloadOf: (item) => item.payload, idOf, refused: versionChanged });
    answered?.sent.forEach((item, position) => settle(item, toOutcome(item.input, answered.entries[position], answered.status, 'update')));
  };
  /** Insert: POST /{module} [Z28]; answers the records whose sync id a record already holds [Z33]. */
  const insert = async (group: Item[]): Promise<Item[]> => {
    const module = (group[0] as Item).module;
    const response = await ctx.http.call<{ data?: WriteEntry[] }>({ method: 'POST', path: module, body: { data: group.map((item) => item.payload) }, credits: Math.ceil(group.length / 10), answerStatuses: WRITE_ANSWERS });
    const entries = response.body?.data ?? [];
    const again: Item[] = [];
    group.forEach((item, position) => {
      const entry = entries[position];
      const holder = entry?.code === 'DUPLICATE_DATA' && entry.details?.api_name === ctx.syncIdField ? entry.details.id : undefined;
      if (typeof holder === 'string' || typeof holder === 'number') {
        // The record holding the sync id is ours, from an insert whose answer was lost: read at no version.
        again.push({ ...item, id: String(holder), input: { ...item.input, ifVersion: undefined }, payload: { ...item.payload, id: String(holder) } });
        return;
      }
      const outcome = toOutcome(item.input, entry, response.status, 'upsert');
      settle(item, outcome.status === 'updated' ? { ...outcome, status: 'created' } : outcome);
    });
    return again;
  };
  const moduleOf = (item: Item): ActivityModule => item.module;
  const updates = await updateCalls(items.filter((item) => item.id), { moduleOf, idOf }, versionChanged);
  const inserts = ACTIVITY_MODULES.flatMap((module) => chunkDistinct(items.filter((item) => item.module === module && !item.id), (item) => item.input.syncId));
  const calls = [...inserts.map((group) => ({ kind: 'insert' as const, group })), ...updates.map((call) => ({ kind: 'update' as const, call }))];
  const retries = (await mapLimited(calls, callsInFlight, (call) => (call.kind === 'insert' ? insert(call.group) : update(call.call).then(() => [])))).flat();
  await mapLimited(await updateCalls(retries, { moduleOf, idOf }, versionChanged), callsInFlight, update);
  return outcomes;
}

/** The outcome with the record's prefixed id and what was not written as asked. */
function finish(item: Item, outcome: UpsertOutcome): UpsertOutcome {
  if (outcome.status !== 'created' && outcome.status !== 'updated') return outcome;
  const externalId = externalIdOf(item.module, outcome.externalId.replace(/^(Calls|Events):/, ''));
  if (item.adjusted.length === 0) return { ...outcome, externalId };
  const fieldAdjusted = item.adjusted.some((entry) => !entry.startsWith('references.'));
  return { ...outcome, externalId, adjusted: [...new Set(item.adjusted)], ...(fieldAdjusted ? { written: item.fields } : {}) };
}

export async function deleteActivities(ctx: WriteContext, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  const outcomes = new Array<DeleteOutcome>(externalIds.length);
  const byModule = new Map<ActivityModule, { index: number; id: string }[]>();
  externalIds.forEach((externalId, index) => {
    const parsed = parseActivityId(externalId);
    if (!parsed) outcomes[index] = { externalId, status: 'not-found' };
    else byModule.set(parsed.module, [...(byModule.get(parsed.module) ?? []), { index, id: parsed.id }]);
  });
  for (const [module, entries] of byModule) {
    const results = await deleteInModule(ctx, module, entries.map((entry) => entry.id));
    entries.forEach((entry, position) => {
      outcomes[entry.index] = { ...(results[position] as DeleteOutcome), externalId: externalIds[entry.index] as string };
    });
  }
  return outcomes;
}

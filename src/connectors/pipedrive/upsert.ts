import type { ObjectType } from '../../model/identifiers';
import { MappingValueError } from '../../model/mapping';
import type { DeleteOutcome, UpsertInput, UpsertOutcome } from '../connector';
import { ConnectorError } from '../errors';
import { mapLimited } from '../map-limited';
import { rfc3339, type PipedriveContext } from './context';
import { modstampOf, toPipedriveBody, type PipedriveRecord } from './record-mapper';
import { restoreOverwrittenEdits } from './overwritten-edits';
import { writeDealContacts } from './participants';
import { readRaw, scanAll, searchIds } from './records';
import { idOrNull } from './references';
import { PIPEDRIVE_API, PIPEDRIVE_OBJECTS } from './spec';

/** Failures of the whole call (nothing record-specific): they propagate instead of failing one record. */
const WHOLE_CALL = new Set(['auth', 'rate-limited', 'quota-exhausted', 'transient']);

const recordsPath = (objectType: ObjectType): string => `${PIPEDRIVE_API.recordsPath}/${PIPEDRIVE_OBJECTS[objectType].entity}`;

/**
 * Pipedrive has no upsert by external id [P1]. Each input is written as: linked (externalId) ->
 * PATCH; else look the sync id up in its custom field (search, or for activities a scan of recent
 * ones) -> PATCH the holder, or POST a new record carrying the sync id. Safe under retries: a
 * retried call searches again before creating, and a create whose answer was lost (network
 * failure, 5xx) is looked for among records changed since just before it, so the record it made
 * is reported rather than made twice.
 */
export async function upsertAll(ctx: PipedriveContext, objectType: ObjectType, inputs: readonly UpsertInput[], concurrency: number): Promise<UpsertOutcome[]> {
  const syncIdKey = await ctx.syncIdKeys.keyFor(objectType);
  const unlinked = inputs.filter((input) => !input.externalId).map((input) => input.syncId);
  // Activities have no search endpoint: one scan of recent activities answers every lookup.
  const activityHolders = objectType === 'activity' && unlinked.length > 0 ? await recentHolders(ctx, objectType, syncIdKey, Date.now() - ctx.activityLookupWindowMs) : undefined;

  return mapLimited(inputs, concurrency, async (input): Promise<UpsertOutcome> => {
    let body: Record<string, unknown>;
    try {
      body = toPipedriveBody(ctx.mapping, objectType, input.fields, input.references);
    } catch (error) {
      if (!(error instanceof MappingValueError)) throw error;
      return { syncId: input.syncId, status: 'failed', error: { provider: 'pipedrive', errorClass: 'validation', message: error.message, fieldErrors: [{ field: error.field, message: error.message }] } };
    }
    body.custom_fields = { ...(body.custom_fields as Record<string, unknown> | undefined), [syncIdKey]: input.syncId };
    try {
      const existing = input.externalId ?? (activityHolders ? activityHolders.get(input.syncId) : await holderOf(ctx, objectType, syncIdKey, input.syncId));
      if (existing) {
        // https://developers.pipedrive.com/docs/api/v2/Persons#updatePerson (PATCH /api/v2/{entity}/{id})
        const updated = await ctx.http.json<PipedriveRecord>({ method: 'PATCH', path: `${recordsPath(objectType)}/${existing}`, body, kind: 'update' });
        const writtenAt = modstampOf(updated.data);
        await writeContacts(ctx, objectType, input, updated.data, false);
        if (input.ifVersion !== undefined) {
          const fieldEditTimes = await restoreOverwrittenEdits(ctx, objectType, { id: String(updated.data.id), fields: input.fields, readVersion: input.ifVersion, writtenAt });
          if (fieldEditTimes) return { syncId: input.syncId, status: 'version-changed', fieldEditTimes };
        }
        return withLeftOutKind(objectType, input, { syncId: input.syncId, status: 'updated', externalId: String(updated.data.id), modifiedAt: writtenAt });
      }
      const { outcome, record } = await create(ctx, objectType, syncIdKey, input.syncId, body);
      // A create whose answer was lost is not known to be bare: its participants are listed first.
      if (outcome.status === 'created') await writeContacts(ctx, objectType, input, record ?? outcome.externalId, record !== undefined);
      return withLeftOutKind(objectType, input, outcome);
    } catch (error) {
      if (!(error instanceof ConnectorError) || WHOLE_CALL.has(error.errorClass)) throw error;
      return { syncId: input.syncId, status: 'failed', error: error.toInfo() };
    }
  });
}

/**
 * Every activity has a type at Pipedrive: a kind of null cannot be written, so the type is left as
 * it is (on a create, the company's default) and the outcome says so, with the fields as written.
 */
function withLeftOutKind(objectType: ObjectType, input: UpsertInput, outcome: UpsertOutcome): UpsertOutcome {
  if (objectType !== 'activity' || input.fields.kind !== null || (outcome.status !== 'created' && outcome.status !== 'updated')) return outcome;
  const written = { ...input.fields };
  delete written.kind;
  return { ...outcome, adjusted: [...(outcome.adjusted ?? []), 'kind'], written };
}

async function create(ctx: PipedriveContext, objectType: ObjectType, syncIdKey: string, syncId: string, body: Record<string, unknown>): Promise<{ outcome: UpsertOutcome; record?: PipedriveRecord }> {
  const startedAt = Date.now();
  try {
    // https://developers.pipedrive.com/docs/api/v2/Persons#addPerson (POST /api/v2/{entity})
    const created = await ctx.http.json<PipedriveRecord>({ method: 'POST', path: recordsPath(objectType), body, kind: 'update' });
    return { outcome: { syncId, status: 'created', externalId: String(created.data.id), modifiedAt: modstampOf(created.data) }, record: created.data };
  } catch (error) {
    if (!(error instanceof ConnectorError) || error.errorClass !== 'transient') throw error;
    // The answer may be lost after Pipedrive wrote the record: look among records changed since
    // just before the POST (the list reads what was written; search may lag).
    const holders = await recentHolders(ctx, objectType, syncIdKey, startedAt - 2_000);
    const id = holders.get(syncId);
    if (id === undefined) throw error;
    return { outcome: { syncId, status: 'created', externalId: id } };
  }
}

/**
 * A deal's contacts are its person and its participants: once the record is written (its
 * `person_id` set by `primaryContact` if that slot was written), the participants are made to match
 * the `contacts` slot (participants.ts). `record` is the answer, or only the id when the answer was lost.
 */
async function writeContacts(ctx: PipedriveContext, objectType: ObjectType, input: UpsertInput, record: PipedriveRecord | string, created: boolean): Promise<void> {
  const contacts = input.references?.contacts;
  if (objectType !== 'deal' || contacts === undefined) return;
  const id = typeof record === 'string' ? record : String(record.id);
  const written = typeof record === 'string' ? (await readRaw(ctx, objectType, [id]))[0] : record;
  if (!written) return;
  const wanted = Array.isArray(contacts) ? contacts : contacts === null ? [] : [contacts];
  await writeDealContacts(ctx, id, wanted, idOrNull(written.person_id), created);
}

/** The record holding `syncId` in its sync id field (lowest id if several), via search then a read to confirm the field. */
async function holderOf(ctx: PipedriveContext, objectType: ObjectType, syncIdKey: string, syncId: string): Promise<string | undefined> {
  const candidates = await searchIds(ctx, objectType, syncId, 'custom_fields');
  if (candidates.length === 0) return undefined;
  // Search matches any searchable custom field: confirm it is the sync id field.
  const records = await readRaw(ctx, objectType, candidates);
  const holders = records.filter((record) => record.custom_fields?.[syncIdKey] === syncId).map((record) => record.id);
  return holders.length === 0 ? undefined : String(Math.min(...holders));
}

/** Sync id -> record id over the records changed since `sinceMs` (lowest id wins). */
async function recentHolders(ctx: PipedriveContext, objectType: ObjectType, syncIdKey: string, sinceMs: number): Promise<Map<string, string>> {
  const holders = new Map<string, string>();
  const records = (await scanAll(ctx, objectType, rfc3339(sinceMs))).sort((a, b) => a.id - b.id);
  for (const record of records) {
    const value = record.custom_fields?.[syncIdKey];
    if (typeof value === 'string' && !holders.has(value)) holders.set(value, String(record.id));
  }
  return holders;
}

/** `DELETE /api/v2/{entity}/{id}` each (Pipedrive marks, then purges after 30 days); 404 = already gone. */
export async function deleteAll(ctx: PipedriveContext, objectType: ObjectType, externalIds: readonly string[], concurrency: number): Promise<DeleteOutcome[]> {
  return mapLimited(externalIds, concurrency, async (externalId): Promise<DeleteOutcome> => {
    if (!/^\d+$/.test(externalId)) return { externalId, status: 'not-found' };
    try {
      // https://developers.pipedrive.com/docs/api/v2/Persons#deletePerson
      await ctx.http.json<{ id: number }>({ method: 'DELETE', path: `${recordsPath(objectType)}/${externalId}`, kind: 'delete' });
      return { externalId, status: 'deleted' };
    } catch (error) {
      if (!(error instanceof ConnectorError) || WHOLE_CALL.has(error.errorClass)) throw error;
      if (error.errorClass === 'not-found') return { externalId, status: 'not-found' };
      return { externalId, status: 'failed', error: error.toInfo() };
    }
  });
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectType } from '../../model/identifiers';
import { MappingValueError, type CompiledMapping } from '../../model/mapping';
import type { DeleteOutcome, UpsertInput, UpsertOutcome } from '../connector';
import type { ConnectorErrorInfo } from '../errors';
import { mapLimited } from '../map-limited';
import { entryFailure, type ZohoEntryError } from './errors';
import type { ZohoHttp } from './http';
import { leftOutReferences, normalizeTimestamp, toPayload } from './record-mapper';
import { isUnsettled } from './read-version';
import { zohoSpec } from './spec';

export interface WriteContext {
  http: ZohoHttp;
  mapping: CompiledMapping;
  syncIdField: string;
}

/** One `data[]` entry of a write answer [Z5]. */
export interface WriteEntry extends ZohoEntryError {
  details?: { id?: unknown; Modified_Time?: unknown } & Record<string, unknown>;
  action?: 'insert' | 'update';
}

interface Prepared {
  index: number;
  input: UpsertInput;
  payload: Record<string, unknown>;
}

/** Every write answers `data[]` in input order; a refused record makes the call 207 (mixed) or 400 (all). */
export const WRITE_ANSWERS = [400, 207] as const;
/** An update refused by its `If-Unmodified-Since`: `data[]` names the records edited since [Z63]. */
const ALREADY_MODIFIED_STATUS = 412;
/** How long a write against an unsettled version waits: Zoho's clock is then past that second. */
const SECOND_MS = 1_000;

/**
 * Upserts in calls of 100: by the sync-id field (`/upsert` with `duplicate_check_fields` naming
 * only that field, so Zoho never matches a record by its system duplicate check, e.g. an
 * account's name), or, when the record is already linked, an update by Zoho id (a record created
 * before the sync has no sync id to match on). One outcome per input, in input order.
 */
export async function upsertAll(ctx: WriteContext, objectType: ObjectType, inputs: readonly UpsertInput[], callsInFlight: number): Promise<UpsertOutcome[]> {
  const outcomes = new Array<UpsertOutcome>(inputs.length);
  const bySyncId: Prepared[] = [];
  const byId: Prepared[] = [];
  inputs.forEach((input, index) => {
    try {
      const payload = toPayload(ctx.mapping, objectType, ctx.syncIdField, input);
      (input.externalId ? byId : bySyncId).push({ index, input, payload });
    } catch (error) {
      if (!(error instanceof MappingValueError)) throw error;
      outcomes[index] = failed(input.syncId, { provider: 'zoho', errorClass: 'validation', message: error.message, fieldErrors: [{ field: error.field, message: error.message }] });
    }
  });
  const module = zohoSpec.modules[objectType].module;
  const settle = (item: Prepared, outcome: UpsertOutcome): void => {
    const leftOut = leftOutReferences(objectType, item.input.references);
    outcomes[item.index] = leftOut.length > 0 && (outcome.status === 'created' || outcome.status === 'updated') ? { ...outcome, adjusted: [...(outcome.adjusted ?? []), ...leftOut] } : outcome;
  };
  const versionChanged = (item: Prepared): void => {
    outcomes[item.index] = { syncId: item.input.syncId, status: 'version-changed' };
  };
  const idOf = (item: Prepared): string => item.input.externalId as string;
  const updates = await updateCalls(byId, { moduleOf: () => module, idOf }, versionChanged);
  const calls = [...chunkDistinct(bySyncId, (item) => item.input.syncId).map((group) => ({ kind: 'upsert' as const, group })), ...updates.map((call) => ({ kind: 'update' as const, call }))];
  await mapLimited(calls, callsInFlight, async (call) => {
    if (call.kind === 'update') {
      const answered = await sendUpdate(ctx.http, call.call, { payloadOf: (item) => item.payload, idOf, refused: versionChanged });
      answered?.sent.forEach((item, position) => settle(item, toOutcome(item.input, answered.entries[position], answered.status, 'update')));
      return;
    }
    // Upsert: POST /{module}/upsert [Z5].
    const response = await ctx.http.call<{ data?: WriteEntry[] }>({
      method: 'POST',
      path: `${module}/upsert`,
      body: { data: call.group.map((item) => item.payload), duplicate_check_fields: [ctx.syncIdField] },
      credits: Math.ceil(call.group.length / 10),
      answerStatuses: WRITE_ANSWERS,
    });
    const entries = response.body?.data ?? [];
    call.group.forEach((item, position) => settle(item, toOutcome(item.input, entries[position], response.status, 'upsert')));
  });
  return outcomes;
}

/** Updates of one module read at one version: the call carries it as `If-Unmodified-Since` [Z63]. */
export interface UpdateCall<T> {
  module: string;
  group: T[];
  unmodifiedSince: string | undefined;
}

/**
 * The update calls for records whose inputs carry the version they were read at (`ifVersion`): one
 * call per module and version, at most 100 records, no record twice. A record read in the second of
 * its last save (an unsettled version) is held back: `heldBack` is told (the record goes round
 * again), and the calls wait that second out first, so the record read again is settled.
 */
export async function updateCalls<T extends { input: UpsertInput }>(items: readonly T[], target: { moduleOf: (item: T) => string; idOf: (item: T) => string }, heldBack: (item: T) => void): Promise<UpdateCall<T>[]> {
  const isHeldBack = (item: T): boolean => item.input.ifVersion !== undefined && isUnsettled(item.input.ifVersion);
  const sent = items.filter((item) => !isHeldBack(item));
  if (sent.length < items.length) {
    items.filter(isHeldBack).forEach(heldBack);
    await sleep(SECOND_MS);
  }
  return groupBy(sent, target.moduleOf).flatMap(([module, ofModule]) =>
    groupBy(ofModule, (item) => item.input.ifVersion ?? '').flatMap(([version, ofVersion]) =>
      chunkDistinct(ofVersion, target.idOf).map((group) => ({ module, group, unmodifiedSince: version === '' ? undefined : version })),
    ),
  );
}

/**
 * One update call: PUT /{module} [Z5], conditional on the version read [Z63]. Zoho refuses a
 * conditional call whole (412) when records it names were edited after our read: those are
 * `refused` (they go round again: read, merged, written) and the others are sent again. Answers
 * the call that went through, with the records it carried (none left: undefined).
 */
export async function sendUpdate<T>(
  http: ZohoHttp,
  call: UpdateCall<T>,
  parts: { payloadOf: (item: T) => Record<string, unknown>; idOf: (item: T) => string; refused: (item: T) => void },
): Promise<{ sent: T[]; status: number; entries: WriteEntry[] } | undefined> {
  let remaining = call.group;
  while (remaining.length > 0) {
    const response = await http.call<{ data?: WriteEntry[] }>({
      method: 'PUT',
      path: call.module,
      body: { data: remaining.map(parts.payloadOf) },
      ...(call.unmodifiedSince !== undefined ? { headers: { 'If-Unmodified-Since': call.unmodifiedSince } } : {}),
      credits: Math.ceil(remaining.length / 10),
      answerStatuses: call.unmodifiedSince !== undefined ? [...WRITE_ANSWERS, ALREADY_MODIFIED_STATUS] : WRITE_ANSWERS,
    });
    const entries = response.body?.data ?? [];
    if (response.status !== ALREADY_MODIFIED_STATUS) return { sent: remaining, status: response.status, entries };
    // Nothing of the call was written; the records named were edited after our read (UNCONFIRMED
    // whether Zoho writes the others: sent again, they are refused too if it did, and read again).
    const modified = new Set(entries.flatMap((entry) => (entry.code === 'ALREADY_MODIFIED' && entry.details?.id !== undefined ? [String(entry.details.id as string | number)] : [])));
    const isRefused = (item: T): boolean => modified.size === 0 || modified.has(parts.idOf(item));
    remaining.filter(isRefused).forEach(parts.refused);
    remaining = remaining.filter((item) => !isRefused(item));
  }
  return undefined;
}

export function toOutcome(input: UpsertInput, entry: WriteEntry | undefined, status: number, kind: 'upsert' | 'update'): UpsertOutcome {
  if (!entry) return failed(input.syncId, { provider: 'zoho', errorClass: 'transient', message: 'Zoho answered the call without an entry for this record' });
  if (entry.status !== 'success') {
    const error = entryFailure(status, entry);
    // Updating by an id Zoho does not know: the linked record is gone.
    const missing = kind === 'update' && entry.code === 'INVALID_DATA' && entry.details?.id !== undefined && entry.details.api_name === undefined;
    return failed(input.syncId, missing ? { ...error, errorClass: 'not-found' } : error);
  }
  const id = entry.details?.id;
  const externalId = typeof id === 'string' || typeof id === 'number' ? String(id) : (input.externalId ?? '');
  const created = kind === 'upsert' && entry.action === 'insert';
  return { syncId: input.syncId, status: created ? 'created' : 'updated', externalId, modifiedAt: normalizeTimestamp(entry.details?.Modified_Time) };
}

/** Deletes in calls of 100 [Z9]; an id Zoho does not know (already deleted, never existed) is `not-found`. */
export async function deleteAll(ctx: WriteContext, objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  return deleteInModule(ctx, zohoSpec.modules[objectType].module, externalIds);
}

/** Deletes by Zoho id in one module (activities name theirs per id). */
export async function deleteInModule(ctx: WriteContext, module: string, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  const outcomes = new Array<DeleteOutcome>(externalIds.length);
  const indexed = externalIds.map((externalId, index) => ({ externalId, index }));
  // Zoho ids are digits; anything else cannot name a record and never reaches the API.
  for (const item of indexed) if (!/^\d+$/.test(item.externalId)) outcomes[item.index] = { externalId: item.externalId, status: 'not-found' };
  for (const group of chunkDistinct(indexed.filter((item) => outcomes[item.index] === undefined), (item) => item.externalId)) {
    // Delete records: DELETE /{module}?ids=... (to the recycle bin) [Z9]
    const response = await ctx.http.call<{ data?: WriteEntry[] }>({
      method: 'DELETE',
      path: `${module}?ids=${group.map((item) => item.externalId).join(',')}`,
      credits: Math.ceil(group.length / 10),
      answerStatuses: WRITE_ANSWERS,
    });
    const entries = response.body?.data ?? [];
    group.forEach((item, position) => {
      const entry = entries[position];
      if (entry?.status === 'success') outcomes[item.index] = { externalId: item.externalId, status: 'deleted' };
      else if (entry?.code === 'INVALID_DATA') outcomes[item.index] = { externalId: item.externalId, status: 'not-found' };
      else outcomes[item.index] = { externalId: item.externalId, status: 'failed', error: entry ? entryFailure(response.status, entry) : { provider: 'zoho', errorClass: 'transient', message: 'no entry for this id' } };
    });
  }
  return outcomes;
}

/** Items by key, in the order each key first appears. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.entries()];
}

/** Calls of at most 100 with no key twice in one call (Zoho would write one record twice). */
export function chunkDistinct<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups: { items: T[]; keys: Set<string> }[] = [];
  for (const item of items) {
    const k = key(item);
    let target = groups.find((group) => group.items.length < zohoSpec.writeBatch && !group.keys.has(k));
    if (!target) {
      target = { items: [], keys: new Set() };
      groups.push(target);
    }
    target.items.push(item);
    target.keys.add(k);
  }
  return groups.map((group) => group.items);
}

export function failed(syncId: string, error: ConnectorErrorInfo): UpsertOutcome {
  return { syncId, status: 'failed', error };
}


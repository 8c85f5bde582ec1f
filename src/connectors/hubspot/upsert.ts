import type { ObjectType } from '../../model/identifiers';
import { MappingValueError } from '../../model/mapping';
import type { UpsertInput, UpsertOutcome } from '../connector';
import { ConnectorError, type ConnectorErrorInfo } from '../errors';
import { mapLimited } from '../map-limited';
import { mappingOf, type HubSpotContext } from './context';
import { batchErrorInfo, existingIdOf, type HubSpotErrorBody } from './errors';
import { writeLinks } from './associations';
import { modstampOf, toHubSpotProperties, type HubSpotObject } from './record-mapper';
import type { CanonicalFields } from '../../model/canonical';
import { derivedProperties, externalIdOf, parseExternalId, primaryTarget, targetForKind, UNHELD_FIELDS, type HubSpotTarget } from './activity-kinds';
import { restoreOverwrittenEdits } from './overwritten-edits';
import { hubspotSpec, SYNC_ID_PROPERTY } from './spec';

/** One input ready for the wire: by sync id (batch upsert) or, when already linked, by HubSpot id (batch update). */
interface Prepared {
  index: number;
  input: UpsertInput;
  by: 'sync-id' | 'id';
  key: string;
  /** The object written: an activity's kind picks it on a create; an update stays on the record's own. */
  target: HubSpotTarget;
  properties: Record<string, string>;
  /** Canonical fields not written as asked (a kind the object cannot become, a field it has no property for, a derived hs_timestamp). */
  adjusted: string[];
  written: CanonicalFields;
}

interface BatchAnswer {
  results: (HubSpotObject & { _new?: boolean })[];
  errors?: HubSpotErrorBody[];
}

/**
 * Upserts through HubSpot's batch API (100 per call, `chunksInFlight` calls at once, each paced
 * by the budget). One outcome per input, in input order. A record HubSpot refuses never fails the
 * others: 207 multi-status errors map to their inputs, and a batch refused whole (HubSpot fails a
 * batch for one unknown property or bad value) is split until the refused inputs stand alone.
 */
export async function upsertAll(ctx: HubSpotContext, objectType: ObjectType, inputs: readonly UpsertInput[], chunksInFlight: number): Promise<UpsertOutcome[]> {
  const outcomes = new Array<UpsertOutcome>(inputs.length);
  const prepared: Prepared[] = [];
  const nowIso = new Date(ctx.now()).toISOString();
  inputs.forEach((input, index) => {
    try {
      const item = prepare(ctx, objectType, input, index, nowIso);
      if ('error' in item) outcomes[index] = failed(input.syncId, item.error);
      else prepared.push(item);
    } catch (error) {
      if (!(error instanceof MappingValueError)) throw error;
      outcomes[index] = failed(input.syncId, { provider: 'hubspot', errorClass: 'validation', message: error.message, fieldErrors: [{ field: error.field, message: error.message }] });
    }
  });
  const chunks = chunk(prepared);
  const answered = await mapLimited(chunks, chunksInFlight, (group) => submit(ctx, group));
  for (const group of answered) for (const [index, outcome] of group) outcomes[index] = outcome;
  return outcomes;
}

/**
 * Picks the object (activity-kinds.ts): a linked record is updated where it lives, whatever kind
 * is asked (HubSpot cannot move a task into meetings: said in `adjusted`); a create goes to its
 * kind's object, a task when none is given. Then maps the fields by that object's table and adds
 * what the object requires that no field gives.
 */
function prepare(ctx: HubSpotContext, objectType: ObjectType, input: UpsertInput, index: number, nowIso: string): Prepared | { error: ConnectorErrorInfo } {
  const parsed = input.externalId ? parseExternalId(objectType, input.externalId) : undefined;
  if (input.externalId && !parsed) return { error: { provider: 'hubspot', errorClass: 'not-found', message: `${input.externalId} is not the id of a HubSpot ${objectType}` } };
  const target = parsed?.target ?? (objectType === 'activity' ? targetForKind(input.fields.kind) : primaryTarget(objectType));
  const adjusted: string[] = [];
  const written: CanonicalFields = { ...input.fields };
  if (target.kind !== undefined) {
    if ('kind' in input.fields && input.fields.kind !== target.kind) adjusted.push('kind');
    if ('kind' in input.fields) written.kind = target.kind;
    for (const field of UNHELD_FIELDS[target.kind]) {
      if (written[field] === undefined) continue;
      if (written[field] !== null) adjusted.push(field);
      delete written[field];
    }
  }
  let properties = toHubSpotProperties(mappingOf(ctx, target), target, written);
  if (target.kind !== undefined) {
    const derived = derivedProperties(target.kind, properties, !parsed, nowIso);
    properties = derived.properties;
    if (derived.timestampDerived) {
      adjusted.push('dueAt');
      written.dueAt = nowIso;
    }
  }
  // The sync id rides in the properties too, so every result echoes the key it answers.
  const withKey = { ...properties, [SYNC_ID_PROPERTY]: input.syncId };
  return parsed
    ? { index, input, by: 'id', key: parsed.id, target, properties: withKey, adjusted, written }
    : { index, input, by: 'sync-id', key: input.syncId, target, properties: withKey, adjusted, written };
}

/** 100 per call, one object and one kind of write per call, and no key twice in a call (HubSpot refuses duplicate ids). */
function chunk(prepared: Prepared[]): Prepared[][] {
  const chunks: Prepared[][] = [];
  const paths = [...new Set(prepared.map((item) => item.target.path))];
  for (const [by, path] of (['sync-id', 'id'] as const).flatMap((mode) => paths.map((candidate) => [mode, candidate] as const))) {
    const open: { items: Prepared[]; keys: Set<string> }[] = [];
    for (const item of prepared.filter((candidate) => candidate.by === by && candidate.target.path === path)) {
      let target = open.find((group) => group.items.length < hubspotSpec.paging.batchSize && !group.keys.has(item.key));
      if (!target) {
        target = { items: [], keys: new Set() };
        open.push(target);
      }
      target.items.push(item);
      target.keys.add(item.key);
    }
    chunks.push(...open.map((group) => group.items));
  }
  return chunks;
}

async function submit(ctx: HubSpotContext, group: Prepared[]): Promise<[number, UpsertOutcome][]> {
  if (group.length === 0) return [];
  let answer: BatchAnswer;
  try {
    answer = await send(ctx, group);
  } catch (error) {
    if (!(error instanceof ConnectorError) || (error.errorClass !== 'validation' && error.errorClass !== 'conflict')) throw error;
    if (group.length === 1) return [[(group[0] as Prepared).index, refused(group[0] as Prepared, error.toInfo())]];
    return [...(await split(ctx, group, error)).flat()];
  }
  return settle(ctx, group, answer);
}

/**
 * A batch refused whole: the inputs carrying a property the vendor named are the suspects; the
 * rest go again together, the suspects in halves until each refused one stands alone.
 */
async function split(ctx: HubSpotContext, group: Prepared[], error: ConnectorError): Promise<[number, UpsertOutcome][][]> {
  const named = new Set((error.fieldErrors ?? []).map((fieldError) => fieldError.field));
  const suspects = group.filter((item) => Object.keys(item.properties).some((name) => named.has(name)));
  if (suspects.length > 0 && suspects.length < group.length) {
    const clean = group.filter((item) => !suspects.includes(item));
    return Promise.all([submit(ctx, clean), submit(ctx, suspects)]);
  }
  const middle = Math.ceil(group.length / 2);
  return Promise.all([submit(ctx, group.slice(0, middle)), submit(ctx, group.slice(middle))]);
}

async function send(ctx: HubSpotContext, group: Prepared[]): Promise<BatchAnswer> {
  const path = (group[0] as Prepared).target.path;
  if ((group[0] as Prepared).by === 'sync-id') {
    const inputs = group.map((item) => ({ id: item.key, idProperty: SYNC_ID_PROPERTY, properties: item.properties }));
    // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/upsert, idProperty = unique property)
    return ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.upsert(path, { inputs }, options));
  }
  const inputs = group.map((item) => ({ id: item.key, properties: item.properties }));
  // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/update)
  return ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.update(path, { inputs }, options));
}

/** Matches results and 207 errors to inputs (HubSpot does not promise result order), then writes references. */
async function settle(ctx: HubSpotContext, group: Prepared[], answer: BatchAnswer): Promise<[number, UpsertOutcome][]> {
  const target = (group[0] as Prepared).target;
  const byKey = new Map(group.map((item) => [item.key, item]));
  const outcomes = new Map<number, UpsertOutcome>();
  for (const entry of answer.errors ?? []) {
    const { ids, error } = batchErrorInfo(entry);
    for (const id of ids) {
      const item = byKey.get(id);
      if (item) outcomes.set(item.index, refused(item, error));
    }
  }
  const written: { item: Prepared; id: string; created: boolean }[] = [];
  answer.results.forEach((result, position) => {
    const key = (group[0] as Prepared).by === 'id' ? result.id : (result.properties[SYNC_ID_PROPERTY] ?? undefined);
    // Without the key echoed back, results can only be matched by position (complete answers only).
    const item = key !== undefined ? byKey.get(key) : answer.results.length === group.length ? group[position] : undefined;
    if (!item) return;
    const status = item.by === 'sync-id' && result._new === true ? 'created' : 'updated';
    const adjustedBy = item.adjusted.length > 0 ? { adjusted: item.adjusted, written: item.written } : {};
    outcomes.set(item.index, { syncId: item.input.syncId, status, externalId: externalIdOf(target, result.id), modifiedAt: modstampOf(target, result), ...adjustedBy });
    written.push({ item, id: result.id, created: status === 'created' });
  });
  const restored = await restoreOverwrittenEdits(
    ctx,
    target,
    written.flatMap(({ item, id, created }) => {
      // Only versioned updates are checked: the answer is searched for those alone (a batch of creates searched it per record).
      if (created || item.input.ifVersion === undefined) return [];
      const result = answer.results.find((candidate) => candidate.id === id);
      if (!result) return [];
      const stored = Object.fromEntries(Object.keys(item.properties).map((name) => [name, result.properties[name] ?? item.properties[name] ?? '']));
      return [{ index: item.index, id, readVersion: item.input.ifVersion, written: stored, writtenAt: modstampOf(target, result) }];
    }),
  );
  for (const index of restored) outcomes.set(index, { syncId: (group.find((item) => item.index === index) as Prepared).input.syncId, status: 'version-changed' });
  for (const item of group) {
    if (!outcomes.has(item.index)) {
      outcomes.set(item.index, failed(item.input.syncId, { provider: 'hubspot', errorClass: 'transient', message: 'HubSpot answered the batch without a result for this input' }));
    }
  }
  const linkWrites = written.flatMap(({ item, id, created }) =>
    item.input.references && !restored.has(item.index) && outcomes.get(item.index)?.status !== 'failed' ? [{ index: item.index, id, created, references: item.input.references }] : [],
  );
  const linksRefused = await writeLinks(ctx, target, linkWrites);
  // The record is written; its references are not: it is not reported written, so the engine retries it (or parks a dependency).
  for (const [index, error] of linksRefused) outcomes.set(index, failed((group.find((item) => item.index === index) as Prepared).input.syncId, error));
  return [...outcomes];
}

/**
 * A refused input. A create (upsert by sync id) refused because another contact holds its email is
 * `exists`, naming that contact: someone created it after the engine looked for it, and the engine
 * links it rather than parking the record. An update by id that meets the same conflict (a linked
 * contact's email changed to one another contact holds) is two HubSpot contacts for one person:
 * failed, for a person to merge them.
 */
function refused(item: Prepared, error: ConnectorErrorInfo): UpsertOutcome {
  const existingId = item.by === 'sync-id' ? existingIdOf(error) : undefined;
  return existingId ? { syncId: item.input.syncId, status: 'exists', externalId: existingId, error } : failed(item.input.syncId, error);
}

function failed(syncId: string, error: ConnectorErrorInfo): UpsertOutcome {
  return { syncId, status: 'failed', error };
}

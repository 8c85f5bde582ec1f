import type { CompiledMapping } from '../../model/mapping';
import type { ChangesRequest, DeleteOutcome, DeletionPage, ExternalRecord, UpsertInput, UpsertOutcome } from '../connector';
import { kindOfTaskSubtype, objectOfId, objectOfKind, planActivityWrite, TASK_KIND_FIELD, type ActivityObject, type ExistingActivity } from './activity-objects';
import { listDeletions } from './deletions';
import { activityReferenceAdjustments, soqlString } from './record-mapper';
import { deleteRecords, readRecords } from './records';
import type { SalesforceSession } from './session';
import { salesforceSpec, SYNC_ID_FIELD } from './spec';

/**
 * Activities span Task and Event (activity-objects.ts): ids are sent to the object their key
 * prefix names, creates to the object of their kind, and the two objects' answers are put back
 * together in the caller's order.
 */

export type ActivityMappings = Readonly<Record<ActivityObject, CompiledMapping>>;

const OBJECTS: readonly ActivityObject[] = ['Task', 'Event'];

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/** Positions of `items` per object, keeping each object's items in input order. */
function byObject<T>(items: readonly T[], objectOf: (item: T) => ActivityObject): Map<ActivityObject, number[]> {
  const groups = new Map<ActivityObject, number[]>();
  items.forEach((item, index) => {
    const object = objectOf(item);
    groups.set(object, [...(groups.get(object) ?? []), index]);
  });
  return groups;
}

export async function readActivities(session: SalesforceSession, mappings: ActivityMappings, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const records: ExternalRecord[] = [];
  for (const [object, positions] of byObject(externalIds, objectOfId)) {
    records.push(...(await readRecords(session, mappings[object], 'activity', positions.map((index) => externalIds[index] as string))));
  }
  return records;
}

export async function deleteActivities(session: SalesforceSession, mappings: ActivityMappings, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  const outcomes: DeleteOutcome[] = new Array<DeleteOutcome>(externalIds.length);
  for (const [object, positions] of byObject(externalIds, objectOfId)) {
    const results = await deleteRecords(session, mappings[object], 'activity', positions.map((index) => externalIds[index] as string));
    positions.forEach((index, position) => (outcomes[index] = results[position] as DeleteOutcome));
  }
  return outcomes;
}

/**
 * Both objects' delete logs, one getDeleted each [S23]. The watermark is the lower of the two
 * coverages: a deletion past one log's coverage is not known yet.
 */
export async function listActivityDeletions(session: SalesforceSession, mappings: ActivityMappings, request: ChangesRequest, lookbackMs: number): Promise<DeletionPage> {
  const pages: DeletionPage[] = [];
  for (const object of OBJECTS) pages.push(await listDeletions(session, mappings[object], 'activity', request, lookbackMs));
  return mergeDeletionPages(pages);
}

/** Several objects' deletion pages as one: oldest first, watermark at the least covered. */
export function mergeDeletionPages(pages: readonly DeletionPage[]): DeletionPage {
  const deletions = pages.flatMap((page) => page.deletions).sort((a, b) => a.deletedAt.localeCompare(b.deletedAt) || a.externalId.localeCompare(b.externalId));
  const highWatermark = pages.map((page) => page.highWatermark).reduce((low, stamp) => (stamp < low ? stamp : low));
  return { deletions, highWatermark };
}

/** Writes one object's share of the inputs (the connector's guarded live or bulk upsert). */
export type ActivityWrite = (object: ActivityObject, inputs: readonly UpsertInput[]) => Promise<UpsertOutcome[]>;

/**
 * Each input goes to the object it belongs on (planActivityWrite), and what could not be written as
 * asked is reported in its outcome's `adjusted`, with `written`. A create whose sync id is already
 * on a record (a retried create whose answer was lost, a record unlinked meanwhile) updates that
 * record by id: an upsert would send create-only fields to it (TaskSubtype, refused on an update
 * [S70]) or reset an Event's length to the default.
 */
export async function upsertActivities(session: SalesforceSession, inputs: readonly UpsertInput[], write: ActivityWrite): Promise<UpsertOutcome[]> {
  const existing = await findExisting(session, inputs);
  const plans = inputs.map((input, index) => planActivityWrite(input.fields, existing[index]));
  const outcomes: UpsertOutcome[] = new Array<UpsertOutcome>(inputs.length);
  for (const [object, positions] of byObject(plans, (plan) => plan.object)) {
    const routed = positions.map((index) => {
      const input = inputs[index] as UpsertInput;
      const plan = plans[index] as (typeof plans)[number];
      return { ...input, fields: plan.fields, externalId: plan.externalId };
    });
    const results = await write(object, routed);
    positions.forEach((index, position) => {
      const outcome = results[position] as UpsertOutcome;
      const plan = plans[index] as (typeof plans)[number];
      const landed = outcome.status === 'created' || outcome.status === 'updated' || outcome.status === 'unchanged';
      const adjusted = [...plan.adjusted, ...activityReferenceAdjustments((inputs[index] as UpsertInput).references)];
      outcomes[index] = landed && adjusted.length > 0 ? { ...outcome, adjusted: [...(outcome.adjusted ?? []), ...adjusted], written: outcome.written ?? plan.fields } : outcome;
    });
  }
  return outcomes;
}

/**
 * The records the inputs land on, where they exist: linked ones by id (a Task's kind read when a
 * kind is asked, to tell whether it can be had), creates by their sync id on either object. One
 * query per 200 ids per object, only for what needs it.
 */
async function findExisting(session: SalesforceSession, inputs: readonly UpsertInput[]): Promise<(ExistingActivity | undefined)[]> {
  const taskIdsToRead = inputs.filter((input) => input.externalId && objectOfId(input.externalId) === 'Task' && 'kind' in input.fields).map((input) => input.externalId as string);
  const creates = inputs.filter((input) => !input.externalId).map((input) => input.syncId);
  const taskKinds = new Map<string, ExistingActivity>();
  const bySyncId = new Map<string, ExistingActivity[]>();
  const select = async (object: ActivityObject, field: 'Id' | typeof SYNC_ID_FIELD, values: readonly string[]): Promise<void> => {
    const fields = object === 'Task' ? `Id, ${SYNC_ID_FIELD}, ${TASK_KIND_FIELD}` : `Id, ${SYNC_ID_FIELD}`;
    for (const batch of chunks([...new Set(values)], salesforceSpec.batch.readSize)) {
      const soql = `SELECT ${fields} FROM ${object} WHERE ${field} IN (${batch.map(soqlString).join(', ')})`;
      // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
      const result = await session.call(async (conn) => await conn.query<Record<string, unknown>>(soql, { autoFetch: false }));
      for (const row of result.records) {
        const found: ExistingActivity = { object, id: String(row.Id), kind: object === 'Task' ? kindOfTaskSubtype(row[TASK_KIND_FIELD]) : 'meeting' };
        if (field === 'Id') taskKinds.set(found.id, found);
        else if (typeof row[SYNC_ID_FIELD] === 'string') bySyncId.set(String(row[SYNC_ID_FIELD]).toLowerCase(), [...(bySyncId.get(String(row[SYNC_ID_FIELD]).toLowerCase()) ?? []), found]);
      }
    }
  };
  if (taskIdsToRead.length > 0) await select('Task', 'Id', taskIdsToRead);
  if (creates.length > 0) for (const object of OBJECTS) await select(object, SYNC_ID_FIELD, creates);
  return inputs.map((input) => {
    if (input.externalId) return taskKinds.get(input.externalId) ?? { object: objectOfId(input.externalId), id: input.externalId };
    // External ids match case-insensitively [S12]; the record on the kind's own object is preferred.
    const found = bySyncId.get(input.syncId.toLowerCase()) ?? [];
    return found.find((record) => record.object === objectOfKind(input.fields.kind)) ?? found[0];
  });
}

import { validation } from './errors';
import type { PipedriveEntity } from './schema';
import type { StoredRecord } from './store';

type Query = Record<string, string | undefined>;

/**
 * The id filters each v2 list endpoint documents [P1][P6]: `owner_id` everywhere; `org_id` and
 * `deal_id` on persons; `person_id`, `org_id`, `pipeline_id`, `stage_id` on deals; `deal_id`,
 * `person_id`, `org_id` on activities (plus `done`). A filter the entity does not have is refused,
 * never ignored: an ignored filter hands back more records than Pipedrive would.
 */
const ID_FILTERS: Record<PipedriveEntity, readonly string[]> = {
  persons: ['owner_id', 'org_id', 'deal_id'],
  organizations: ['owner_id'],
  deals: ['owner_id', 'person_id', 'org_id', 'pipeline_id', 'stage_id'],
  activities: ['owner_id', 'deal_id', 'person_id', 'org_id'],
};

/** Documented list parameters the sandbox does not emulate: refused so a test notices (sandbox choice). */
const NOT_EMULATED = ['filter_id', 'lead_id'];

/** The deal a person filter `deal_id` names: persons linked to it are its `person_id` and its participants. */
export type DealLookup = (dealId: number) => StoredRecord | undefined;
export type ParticipantLookup = (dealId: number) => number[];

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw validation(`Validation failed: ${name}: must be a positive integer`);
  return value;
}

/** A predicate for the list query's filters, or a 400 for a filter the entity does not take. */
export function listFilter(entity: PipedriveEntity, query: Query, deal: DealLookup, participantsOf: ParticipantLookup): (record: StoredRecord) => boolean {
  for (const name of NOT_EMULATED) if (query[name] !== undefined) throw validation(`Validation failed: ${name}: not emulated by the sandbox`);
  const checks: ((record: StoredRecord) => boolean)[] = [];
  const owned = ID_FILTERS[entity];
  for (const name of ['owner_id', 'org_id', 'deal_id', 'person_id', 'pipeline_id', 'stage_id']) {
    const raw = query[name];
    if (raw === undefined || raw === '') continue;
    if (!owned.includes(name)) throw validation(`Validation failed: ${name}: Parameter '${name}' is not allowed for this request`);
    const id = positiveInt(name, raw);
    if (entity === 'persons' && name === 'deal_id') {
      checks.push((record) => deal(id)?.fields.person_id === record.id || participantsOf(id).includes(record.id));
    } else if (name === 'owner_id') {
      // Records without an explicit owner belong to the API user (id 1), as search items show.
      checks.push((record) => (record.fields.owner_id ?? 1) === id);
    } else {
      checks.push((record) => record.fields[name] === id);
    }
  }
  if (query.done !== undefined) {
    if (entity !== 'activities') throw validation(`Validation failed: done: Parameter 'done' is not allowed for this request`);
    if (!['true', 'false', '1', '0'].includes(query.done)) throw validation('Validation failed: done: must be a boolean');
    const done = query.done === 'true' || query.done === '1';
    checks.push((record) => record.fields.done === done);
  }
  return (record) => checks.every((check) => check(record));
}

/**
 * `custom_fields=key1,key2`: only those custom fields in each item, at most 15 keys [P6]; omitted,
 * every custom field.
 */
export function customFieldSelection(raw: string | undefined): ReadonlySet<string> | undefined {
  if (raw === undefined || raw === '') return undefined;
  const keys = raw.split(',').map((key) => key.trim()).filter(Boolean);
  if (keys.length > 15) throw validation('Validation failed: custom_fields: at most 15 custom field keys');
  return new Set(keys);
}

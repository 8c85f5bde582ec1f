import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsOf } from '../../model/mapping';
import type { FieldEditTimesRequest } from '../connector';
import { ConnectorError } from '../errors';
import { mapLimited } from '../map-limited';
import type { PipedriveContext } from './context';
import { PIPEDRIVE_OBJECTS } from './spec';

/** One field change as `GET /v1/{entity}/{id}/changelog` lists it [P11]. */
export interface ChangelogEntry {
  field_key?: string;
  time?: string;
  new_value?: string | null;
  change_source?: string | null;
}

/** Objects with a changelog endpoint (activities have none) [P11]. */
export const LOGGED_OBJECTS: ReadonlySet<ObjectType> = new Set(['contact', 'company', 'deal']);

/** A changelog `time` (`2026-12-05 23:20:24`, UTC, to the second) as ISO; undefined when unreadable. */
export function changelogInstant(time: string | undefined): string | undefined {
  if (time === undefined) return undefined;
  const ms = Date.parse(`${time.trim().replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/**
 * When each canonical field last changed, by the entries for the vendor field it maps to: the
 * latest entry's time, whatever order the endpoint lists them in. Fields with no entry are absent.
 */
export function lastChangeTimes(entries: readonly ChangelogEntry[], nativeKeys: ReadonlyMap<string, string>): Record<string, string> {
  const latest = new Map<string, number>();
  for (const entry of entries) {
    const at = changelogInstant(entry.time);
    if (entry.field_key === undefined || at === undefined) continue;
    const ms = Date.parse(at);
    if (ms > (latest.get(entry.field_key) ?? Number.NEGATIVE_INFINITY)) latest.set(entry.field_key, ms);
  }
  const times: Record<string, string> = {};
  for (const [path, key] of nativeKeys) {
    const ms = latest.get(key);
    if (ms !== undefined) times[path] = new Date(ms).toISOString();
  }
  return times;
}

/**
 * Pipedrive stamps a record, to the second, on every write, ours included: a person's edit made
 * between our read and our write of another field is read afterwards under our write's stamp. Its
 * changelog keeps each field's own change time [P11]. One call per record (the first page, newest
 * changes; a field changed longer ago than it reaches keeps the record stamp).
 */
export async function fieldEditTimes(ctx: PipedriveContext, objectType: ObjectType, requests: readonly FieldEditTimesRequest[]): Promise<Map<string, Record<string, string>>> {
  const times = new Map<string, Record<string, string>>();
  if (!LOGGED_OBJECTS.has(objectType)) return times;
  await mapLimited(requests, 4, async (request) => {
    const keys = nativeFieldsOf(ctx.mapping, objectType, request.fields);
    if (keys.size === 0 || !/^\d+$/.test(request.externalId)) return;
    try {
      times.set(request.externalId, lastChangeTimes(await readChangelog(ctx, objectType, request.externalId), keys));
    } catch (error) {
      // Deleted meanwhile: its deletion feed reports it; the record stamp stands for this read.
      if (error instanceof ConnectorError && error.errorClass === 'not-found') return;
      throw error;
    }
  });
  return times;
}

/** A record's newest field changes: the changelog's first page, up to 100 entries [P11]. */
export async function readChangelog(ctx: PipedriveContext, objectType: ObjectType, id: string): Promise<ChangelogEntry[]> {
  // https://developers.pipedrive.com/docs/api/v1/Persons#getPersonChangelog (and Organizations, Deals)
  const answer = await ctx.http.json<ChangelogEntry[] | null>({ method: 'GET', path: `/v1/${PIPEDRIVE_OBJECTS[objectType].entity}/${id}/changelog`, query: { limit: 100 }, kind: 'get' });
  return answer.data ?? [];
}

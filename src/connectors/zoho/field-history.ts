import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsOf, type CompiledMapping } from '../../model/mapping';
import type { FieldEditTimesRequest } from '../connector';
import { ConnectorError } from '../errors';
import { mapLimited } from '../map-limited';
import type { ZohoHttp } from './http';
import { zohoSpec } from './spec';

/** One entry of a record's timeline as `GET /{module}/{id}/__timeline` lists it [Z64]. */
export interface TimelineEntry {
  audited_time?: string;
  action?: string | null;
  field_history?: { api_name?: string; _value?: { new?: string | null; old?: string | null } }[] | null;
}

/** Objects read here through their module's timeline (activities span three modules and are left out). */
const TIMED_OBJECTS: ReadonlySet<ObjectType> = new Set(['contact', 'company', 'deal']);

/**
 * When each canonical field last changed, from a record's timeline entries: the latest entry whose
 * `field_history` names the field's API name; a field no entry names has kept the value the record
 * was created with, and competes under the `added` entry's time. Fields the entries cannot tell
 * (no such entry on the page read) are absent. Whatever order the entries come in.
 */
export function lastChangeTimes(entries: readonly TimelineEntry[], nativeKeys: ReadonlyMap<string, string>): Record<string, string> {
  const latest = new Map<string, number>();
  let created: number | undefined;
  for (const entry of entries) {
    const ms = entry.audited_time === undefined ? Number.NaN : Date.parse(entry.audited_time);
    if (Number.isNaN(ms)) continue;
    if (entry.action === 'added') created = Math.min(created ?? ms, ms);
    for (const change of entry.field_history ?? []) {
      if (change.api_name !== undefined && ms > (latest.get(change.api_name) ?? Number.NEGATIVE_INFINITY)) latest.set(change.api_name, ms);
    }
  }
  const times: Record<string, string> = {};
  for (const [path, key] of nativeKeys) {
    const ms = latest.get(key) ?? created;
    if (ms !== undefined) times[path] = new Date(ms).toISOString();
  }
  return times;
}

/**
 * Zoho stamps a record (Modified_Time, to the second) on every save, whichever fields it changed
 * [Z7]: a value untouched since the record was created reads under the stamp of a later edit of
 * another field. The record's timeline keeps each field's own change time, API and UI saves alike
 * [Z64]. One call per record: the newest 200 entries (a field changed longer ago than they reach,
 * on a record saved more often than that, keeps the record stamp).
 */
export async function fieldEditTimes(ctx: { http: ZohoHttp; mapping: CompiledMapping }, objectType: ObjectType, requests: readonly FieldEditTimesRequest[]): Promise<Map<string, Record<string, string>>> {
  const times = new Map<string, Record<string, string>>();
  if (!TIMED_OBJECTS.has(objectType)) return times;
  const module = zohoSpec.modules[objectType].module;
  await mapLimited(requests, 4, async (request) => {
    const keys = nativeFieldsOf(ctx.mapping, objectType, request.fields);
    if (keys.size === 0 || !/^\d+$/.test(request.externalId)) return;
    // https://www.zoho.com/crm/developer/docs/api/v8/timeline-of-a-record.html
    const query = new URLSearchParams({ sort_by: 'audited_time', sort_order: 'desc', per_page: String(zohoSpec.paging.maxPage) });
    let entries: TimelineEntry[];
    try {
      const answer = await ctx.http.call<{ __timeline?: TimelineEntry[] }>({ method: 'GET', path: `${module}/${request.externalId}/__timeline?${query.toString()}` });
      entries = answer.body?.__timeline ?? [];
    } catch (error) {
      // A record deleted meanwhile (its deletion feed reports it): 204 in the sandbox, perhaps a
      // refused id at Zoho (UNCONFIRMED). Either way the record stamp stands for this read.
      if (error instanceof ConnectorError && (error.errorClass === 'not-found' || error.errorClass === 'validation')) return;
      throw error;
    }
    if (entries.length > 0) times.set(request.externalId, lastChangeTimes(entries, keys));
  });
  return times;
}

import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsOf } from '../../model/mapping';
import type { FieldEditTimesRequest } from '../connector';
import { mappingOf, type HubSpotContext } from './context';
import { parseExternalId, type HubSpotTarget } from './activity-kinds';
import type { PropertyVersion } from './overwritten-edits';
import { hubspotSpec } from './spec';

/** When the newest version of each canonical field's property was written; absent without history. */
export function latestVersionTimes(history: Readonly<Record<string, readonly PropertyVersion[] | undefined>>, properties: ReadonlyMap<string, string>): Record<string, string> {
  const times: Record<string, string> = {};
  for (const [path, property] of properties) {
    let latest = Number.NEGATIVE_INFINITY;
    for (const version of history[property] ?? []) {
      const ms = version.timestamp instanceof Date ? version.timestamp.getTime() : Date.parse(version.timestamp);
      if (ms > latest) latest = ms;
    }
    if (Number.isFinite(latest)) times[path] = new Date(latest).toISOString();
  }
  return times;
}

/**
 * HubSpot stamps the record on every write, ours included: a person's edit of a property we do
 * not write, made between our read and our write, reads back under our write's stamp. Each
 * property's history keeps its own time [H34]: read with histories, 50 records a call [H35].
 */
export async function fieldEditTimes(ctx: HubSpotContext, objectType: ObjectType, requests: readonly FieldEditTimesRequest[]): Promise<Map<string, Record<string, string>>> {
  const times = new Map<string, Record<string, string>>();
  // Activities live in four objects: each is asked for its own records, by its own property names.
  const byPath = new Map<string, { target: HubSpotTarget; wanted: Map<string, { externalId: string; properties: Map<string, string> }> }>();
  for (const request of requests) {
    const parsed = parseExternalId(objectType, request.externalId);
    if (!parsed) continue;
    const properties = nativeFieldsOf(mappingOf(ctx, parsed.target), objectType, request.fields);
    if (properties.size === 0) continue;
    const group = byPath.get(parsed.target.path) ?? { target: parsed.target, wanted: new Map() };
    group.wanted.set(parsed.id, { externalId: request.externalId, properties });
    byPath.set(parsed.target.path, group);
  }
  for (const { target, wanted } of byPath.values()) {
    const ids = [...wanted.keys()];
    for (let start = 0; start < ids.length; start += hubspotSpec.paging.historyBatchSize) {
      const chunk = ids.slice(start, start + hubspotSpec.paging.historyBatchSize);
      const names = [...new Set(chunk.flatMap((id) => [...(wanted.get(id)?.properties.values() ?? [])]))];
      // https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects (propertiesWithHistory)
      const answer = await ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.read(target.path, { inputs: chunk.map((id) => ({ id })), properties: [], propertiesWithHistory: names }, false, options));
      for (const object of answer.results) {
        const entry = wanted.get(object.id);
        if (entry) times.set(entry.externalId, latestVersionTimes(object.propertiesWithHistory ?? {}, entry.properties));
      }
    }
  }
  return times;
}

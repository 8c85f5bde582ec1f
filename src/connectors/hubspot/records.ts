import type { ObjectType } from '../../model/identifiers';
import type { ExternalRecord } from '../connector';
import { mapLimited, type HubSpotContext } from './context';
import { propertiesToRead, slotTargets, toExternalRecord, type AssociatedIds } from './record-mapper';
import { HUBSPOT_OBJECTS, hubspotSpec, type HubSpotObjectPath } from './spec';

/** Association reads per record run this many at a time (each is one call, paced by the budget). */
const ASSOCIATION_READS_IN_FLIGHT = 4;

/**
 * Current state of records by HubSpot id: batch read (100 per call), then each record's
 * associations through v4, one call per reference slot (the sandbox has no v4 batch read; see
 * BEHAVIOR.md). Ids HubSpot does not find (207 OBJECT_NOT_FOUND) are simply absent.
 */
export async function readRecords(ctx: HubSpotContext, objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const path = HUBSPOT_OBJECTS[objectType].path;
  const properties = propertiesToRead(ctx.mapping, objectType);
  const ids = [...new Set(externalIds)];
  const records: ExternalRecord[] = [];
  for (let start = 0; start < ids.length; start += hubspotSpec.paging.batchSize) {
    const chunk = ids.slice(start, start + hubspotSpec.paging.batchSize);
    // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/read; 207 lists missing ids)
    const response = await ctx.runner.run('standard', (options) =>
      ctx.apis.objects.batchApi.read(path, { inputs: chunk.map((id) => ({ id })), properties, propertiesWithHistory: [] }, false, options),
    );
    const associations = await mapLimited(response.results, ASSOCIATION_READS_IN_FLIGHT, (object) => readAssociations(ctx, objectType, object.id));
    response.results.forEach((object, index) => records.push(toExternalRecord(ctx.mapping, objectType, object, associations[index])));
  }
  const order = new Map(ids.map((id, index) => [id, index]));
  return records.sort((a, b) => (order.get(a.externalId) ?? 0) - (order.get(b.externalId) ?? 0));
}

/** Every association of one record to the targets of its reference slots. */
export async function readAssociations(ctx: HubSpotContext, objectType: ObjectType, id: string): Promise<AssociatedIds> {
  const found: AssociatedIds = {};
  for (const { path } of slotTargets(objectType)) found[path] = await associatedIds(ctx, HUBSPOT_OBJECTS[objectType].path, id, path);
  return found;
}

async function associatedIds(ctx: HubSpotContext, fromPath: HubSpotObjectPath, id: string, toPath: HubSpotObjectPath): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  do {
    const cursor = after;
    // https://developers.hubspot.com/docs/api/crm/associations (GET /crm/v4/objects/{type}/{id}/associations/{toType})
    const page = await ctx.runner.run('standard', (options) => ctx.apis.associations.getPage(fromPath, id, toPath, cursor, hubspotSpec.paging.associationsPage, options));
    ids.push(...page.results.map((entry) => String(entry.toObjectId)));
    after = page.paging?.next?.after;
  } while (after);
  return ids;
}

/**
 * Makes a record's associations to each given target type exactly the wanted ids: adds the
 * missing ones with HubSpot's default (unlabelled) type, removes the rest. Targets not named
 * are left as they are.
 */
export async function writeAssociations(ctx: HubSpotContext, objectType: ObjectType, id: string, wanted: AssociatedIds): Promise<void> {
  const fromPath = HUBSPOT_OBJECTS[objectType].path;
  for (const [toPath, ids] of Object.entries(wanted) as [HubSpotObjectPath, string[]][]) {
    const current = new Set(await associatedIds(ctx, fromPath, id, toPath));
    const target = new Set(ids);
    for (const toId of target) {
      if (current.has(toId)) continue;
      // https://developers.hubspot.com/docs/api/crm/associations (PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId})
      await ctx.runner.run('standard', (options) => ctx.apis.associations.createDefault(fromPath, id, toPath, toId, options));
    }
    for (const toId of current) {
      if (target.has(toId)) continue;
      // https://developers.hubspot.com/docs/api/crm/associations (DELETE /crm/v4/objects/{from}/{id}/associations/{to}/{toId})
      await ctx.runner.run('standard', (options) => ctx.apis.associations.archive(fromPath, id, toPath, toId, options));
    }
  }
}

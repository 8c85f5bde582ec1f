import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { Filter } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { ObjectType } from '../../model/identifiers';
import type { ExternalRecord } from '../connector';
import { ConnectorError } from '../errors';
import { chunked, keepMatching, nativeKeyField, wantedValues, type UniqueKeyQuery } from '../unique-keys';
import { mapLimited } from '../map-limited';
import type { HubSpotContext } from './context';
import { modstampOf, propertiesToRead, slotTargets, toExternalRecord, type AssociatedIds } from './record-mapper';
import { HUBSPOT_OBJECTS, hubspotSpec, type HubSpotObjectPath } from './spec';

/** Association reads per record run this many at a time (each is one call, paced by the budget). */
const ASSOCIATION_READS_IN_FLIGHT = 4;

/**
 * Current state of records by HubSpot id: batch read (100 per call), then each found record's
 * associations through v4, one call per reference slot (the sandbox has no v4 batch read; see
 * BEHAVIOR.md), then the properties once more. The engine writes right after reading a target,
 * and HubSpot takes no version on a write, so the properties (what a person may be editing) must
 * be the newest part of the read: read only before a hundred association calls, they left a
 * window in which a person's edit got overwritten. Ids HubSpot does not find (207
 * OBJECT_NOT_FOUND) are simply absent.
 */
export async function readRecords(ctx: HubSpotContext, objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const path = HUBSPOT_OBJECTS[objectType].path;
  const properties = propertiesToRead(ctx.mapping, objectType);
  const ids = [...new Set(externalIds)];
  const records: ExternalRecord[] = [];
  // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/read; 207 lists missing ids)
  const batchRead = async (chunk: readonly string[]) =>
    (await ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.read(path, { inputs: chunk.map((id) => ({ id })), properties, propertiesWithHistory: [] }, false, options))).results;
  for (let start = 0; start < ids.length; start += hubspotSpec.paging.batchSize) {
    const found = (await batchRead(ids.slice(start, start + hubspotSpec.paging.batchSize))).map((object) => object.id);
    if (found.length === 0) continue;
    const associations = await mapLimited(found, ASSOCIATION_READS_IN_FLIGHT, (id) => readAssociations(ctx, objectType, id));
    const byId = new Map(found.map((id, index) => [id, associations[index]]));
    // The modstamp read is the version an update checks its overwritten edits against (overwritten-edits.ts).
    for (const object of await batchRead(found)) records.push({ ...toExternalRecord(ctx.mapping, objectType, object, byId.get(object.id)), version: modstampOf(objectType, object) });
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
    const page = await retriedRead(() => ctx.runner.run('standard', (options) => ctx.apis.associations.getPage(fromPath, id, toPath, cursor, hubspotSpec.paging.associationsPage, options)));
    ids.push(...page.results.map((entry) => String(entry.toObjectId)));
    after = page.paging?.next?.after;
  } while (after);
  return ids;
}

/**
 * Association reads come one per record (no v4 batch read), so a batch of 100 updated records is
 * 100 calls: were each passing failure to fail the whole batch, a steady few percent of 5xx/429
 * would fail nearly every retry of it too. A GET is safe to repeat, so it is retried in place,
 * through the budget again, after these delays (or the vendor's Retry-After, capped at 10 s).
 */
const ASSOCIATION_READ_RETRY_DELAYS_MS = [200, 1000, 3000];

async function retriedRead<T>(read: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await read();
    } catch (error) {
      const delay = ASSOCIATION_READ_RETRY_DELAYS_MS[retry];
      if (delay === undefined || !(error instanceof ConnectorError) || (error.errorClass !== 'transient' && error.errorClass !== 'rate-limited')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(delay, error.retryAfterMs ?? 0), 10_000)));
    }
  }
}

/**
 * Makes a record's associations to each given target type exactly the wanted ids: adds the
 * missing ones with HubSpot's default (unlabelled) type, removes the rest. Targets not named
 * are left as they are.
 */
export async function writeAssociations(ctx: HubSpotContext, objectType: ObjectType, id: string, wanted: AssociatedIds, options: { created?: boolean } = {}): Promise<void> {
  const fromPath = HUBSPOT_OBJECTS[objectType].path;
  for (const [toPath, ids] of Object.entries(wanted) as [HubSpotObjectPath, string[]][]) {
    // A record HubSpot just created has no associations yet: reading them would only cost a call
    // per record (and, under 429s, fail batches that were already written).
    if (options.created && ids.length === 0) continue;
    const current = new Set(options.created ? [] : await associatedIds(ctx, fromPath, id, toPath));
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

/**
 * Properties HubSpot enforces as unique and accepts as `idProperty` [H9]: these are matched by
 * batch read, which reads its own writes at once (search is eventually consistent: a contact
 * created seconds ago may not be found yet, and would be created twice).
 */
const UNIQUE_ID_PROPERTIES: Partial<Record<ObjectType, readonly string[]>> = { contact: ['email'] };
/** Values per search `IN` filter (HubSpot wants them lower-case for text properties). */
const MATCH_VALUES_PER_SEARCH = 100;

/**
 * First-sync matching: by batch read with `idProperty` where the key is a unique property (email),
 * else by search `IN` (e.g. company `domain`), paged. References are not read (`{}`): matching
 * needs the fields, and association reads would cost one call per record.
 */
export async function findByUniqueKeys(ctx: HubSpotContext, objectType: ObjectType, keys: UniqueKeyQuery): Promise<ExternalRecord[]> {
  const path = HUBSPOT_OBJECTS[objectType].path;
  const properties = propertiesToRead(ctx.mapping, objectType);
  const key = nativeKeyField('hubspot', ctx.mapping, objectType, keys.field);
  const wanted = wantedValues(keys);
  const records: ExternalRecord[] = [];
  if (key.via === 'value' && UNIQUE_ID_PROPERTIES[objectType]?.includes(key.native)) {
    for (const chunk of chunked(wanted, hubspotSpec.paging.batchSize)) {
      // POST /crm/v3/objects/{type}/batch/read with idProperty; unknown values come back as 207 OBJECT_NOT_FOUND [H9]
      const response = await ctx.runner.run('standard', (options) =>
        ctx.apis.objects.batchApi.read(path, { inputs: chunk.map((id) => ({ id })), idProperty: key.native, properties, propertiesWithHistory: [] }, false, options),
      );
      records.push(...response.results.map((object) => toExternalRecord(ctx.mapping, objectType, object)));
    }
    return keepMatching(records, keys.field, new Set(wanted));
  }
  const values = key.via === 'value' ? wanted : wanted.flatMap((domain) => [domain, `www.${domain}`, `https://${domain}`, `http://${domain}`, `https://www.${domain}`, `http://www.${domain}`]);
  for (const chunk of chunked(values, MATCH_VALUES_PER_SEARCH)) {
    const filters: Filter[] = [{ propertyName: key.native, operator: FilterOperatorEnum.In, values: chunk }];
    let after: string | undefined;
    do {
      const cursor = after;
      // https://developers.hubspot.com/docs/api/crm/search (POST /crm/v3/objects/{type}/search)
      const response = await ctx.runner.run('search', (options) =>
        ctx.apis.objects.searchApi.doSearch(
          path,
          { filterGroups: [{ filters }], sorts: ['hs_object_id'], properties, limit: hubspotSpec.paging.searchPage, ...(cursor === undefined ? {} : { after: cursor }) },
          options,
        ),
      );
      records.push(...response.results.map((object) => toExternalRecord(ctx.mapping, objectType, object)));
      after = response.paging?.next?.after;
    } while (after);
  }
  return keepMatching(records, keys.field, new Set(wanted));
}

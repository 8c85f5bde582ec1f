import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { Filter } from '@hubspot/api-client/lib/codegen/crm/objects/models/Filter';
import type { ObjectType } from '../../model/identifiers';
import type { ExternalRecord } from '../connector';
import { chunked, keepMatching, nativeKeyField, wantedValues, type UniqueKeyQuery } from '../unique-keys';
import { mappingOf, type HubSpotContext } from './context';
import { parseExternalId, primaryTarget, type HubSpotTarget } from './activity-kinds';
import { referencesFromLinks } from './association-mapper';
import { readLinks } from './associations';
import { modstampOf, propertiesToRead, toExternalRecord } from './record-mapper';
import { hubspotSpec } from './spec';

/**
 * Current state of records by external id, routed to their object by the id's spelling
 * (activity-kinds.ts): batch read (100 per call), then the found records' associations through the
 * v4 batch read (one call per target type), then the properties once more. The engine writes right
 * after reading a target, and HubSpot takes no version on a write, so the properties (what a
 * person may be editing) must be the newest part of the read. Ids HubSpot does not find (207
 * OBJECT_NOT_FOUND), or that no object spells so, are simply absent.
 */
export async function readRecords(ctx: HubSpotContext, objectType: ObjectType, externalIds: readonly string[]): Promise<ExternalRecord[]> {
  const ids = [...new Set(externalIds)];
  const byPath = new Map<string, { target: HubSpotTarget; ids: string[] }>();
  for (const externalId of ids) {
    const parsed = parseExternalId(objectType, externalId);
    if (!parsed) continue;
    const group = byPath.get(parsed.target.path) ?? { target: parsed.target, ids: [] };
    group.ids.push(parsed.id);
    byPath.set(parsed.target.path, group);
  }
  const records: ExternalRecord[] = [];
  for (const { target, ids: rawIds } of byPath.values()) records.push(...(await readFrom(ctx, target, rawIds)));
  const order = new Map(ids.map((id, index) => [id, index]));
  return records.sort((a, b) => (order.get(a.externalId) ?? 0) - (order.get(b.externalId) ?? 0));
}

async function readFrom(ctx: HubSpotContext, target: HubSpotTarget, ids: readonly string[]): Promise<ExternalRecord[]> {
  const mapping = mappingOf(ctx, target);
  const properties = propertiesToRead(mapping, target);
  const records: ExternalRecord[] = [];
  // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/read; 207 lists missing ids)
  const batchRead = async (chunk: readonly string[]) =>
    (await ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.read(target.path, { inputs: chunk.map((id) => ({ id })), properties, propertiesWithHistory: [] }, false, options))).results;
  for (let start = 0; start < ids.length; start += hubspotSpec.paging.batchSize) {
    const found = (await batchRead(ids.slice(start, start + hubspotSpec.paging.batchSize))).map((object) => object.id);
    if (found.length === 0) continue;
    const links = await readLinks(ctx, target, found);
    // The modstamp read is the version an update checks its overwritten edits against (overwritten-edits.ts).
    for (const object of await batchRead(found)) {
      const record = toExternalRecord(mapping, target, object);
      records.push({ ...record, references: referencesFromLinks(target.objectType, links.get(object.id) ?? {}), version: modstampOf(target, object) });
    }
  }
  return records;
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
  // Activities are matched on the tasks object only: their keys are task properties (BEHAVIOR.md).
  const target = primaryTarget(objectType);
  const path = target.path;
  const properties = propertiesToRead(ctx.mapping, target);
  const key = nativeKeyField('hubspot', ctx.mapping, objectType, keys.field);
  const wanted = wantedValues(keys);
  const records: ExternalRecord[] = [];
  if (key.via === 'value' && UNIQUE_ID_PROPERTIES[objectType]?.includes(key.native)) {
    for (const chunk of chunked(wanted, hubspotSpec.paging.batchSize)) {
      // POST /crm/v3/objects/{type}/batch/read with idProperty; unknown values come back as 207 OBJECT_NOT_FOUND [H9]
      const response = await ctx.runner.run('standard', (options) =>
        ctx.apis.objects.batchApi.read(path, { inputs: chunk.map((id) => ({ id })), idProperty: key.native, properties, propertiesWithHistory: [] }, false, options),
      );
      records.push(...response.results.map((object) => toExternalRecord(ctx.mapping, target, object)));
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
      records.push(...response.results.map((object) => toExternalRecord(ctx.mapping, target, object)));
      after = response.paging?.next?.after;
    } while (after);
  }
  return keepMatching(records, keys.field, new Set(wanted));
}

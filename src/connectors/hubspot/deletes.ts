import type { ObjectType } from '../../model/identifiers';
import type { DeleteOutcome } from '../connector';
import type { HubSpotContext } from './context';
import { hubspotSpec } from './spec';
import { parseExternalId } from './activity-kinds';

/**
 * Deletes are archives in HubSpot (restorable for 90 days [H9]), 100 ids per batch call. The batch
 * answers 204 whether or not an id was live, so every id of a successful call counts as deleted:
 * the end state the engine asked for holds either way.
 */
export async function deleteRecords(ctx: HubSpotContext, objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  const outcomes = new Map<string, DeleteOutcome>();
  const byPath = new Map<string, { path: string; ids: { externalId: string; id: string }[] }>();
  for (const externalId of externalIds) {
    const parsed = parseExternalId(objectType, externalId);
    // An id no object spells so names nothing HubSpot holds.
    if (!parsed) outcomes.set(externalId, { externalId, status: 'not-found' });
    else byPath.set(parsed.target.path, { path: parsed.target.path, ids: [...(byPath.get(parsed.target.path)?.ids ?? []), { externalId, id: parsed.id }] });
  }
  for (const { path, ids } of byPath.values()) {
    for (let start = 0; start < ids.length; start += hubspotSpec.paging.batchSize) {
      const batch = ids.slice(start, start + hubspotSpec.paging.batchSize);
      // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/archive)
      await ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.archive(path, { inputs: batch.map(({ id }) => ({ id })) }, options));
      for (const { externalId } of batch) outcomes.set(externalId, { externalId, status: 'deleted' });
    }
  }
  return externalIds.map((externalId) => outcomes.get(externalId) as DeleteOutcome);
}

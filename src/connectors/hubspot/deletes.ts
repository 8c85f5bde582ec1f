import type { ObjectType } from '../../model/identifiers';
import type { DeleteOutcome } from '../connector';
import type { HubSpotContext } from './context';
import { HUBSPOT_OBJECTS, hubspotSpec } from './spec';

/**
 * Deletes are archives in HubSpot (restorable for 90 days [H9]), 100 ids per batch call. The batch
 * answers 204 whether or not an id was live, so every id of a successful call counts as deleted:
 * the end state the engine asked for holds either way.
 */
export async function deleteRecords(ctx: HubSpotContext, objectType: ObjectType, externalIds: readonly string[]): Promise<DeleteOutcome[]> {
  const path = HUBSPOT_OBJECTS[objectType].path;
  const outcomes: DeleteOutcome[] = [];
  for (let start = 0; start < externalIds.length; start += hubspotSpec.paging.batchSize) {
    const batch = externalIds.slice(start, start + hubspotSpec.paging.batchSize);
    // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/archive)
    await ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.archive(path, { inputs: batch.map((id) => ({ id })) }, options));
    for (const externalId of batch) outcomes.push({ externalId, status: 'deleted' });
  }
  return outcomes;
}

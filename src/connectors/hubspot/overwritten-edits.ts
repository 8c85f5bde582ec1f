import type { HubSpotTarget } from './activity-kinds';
import { retryInPlace } from '../retry-in-place';
import type { HubSpotContext } from './context';
import { hubspotSpec, SYNC_ID_PROPERTY } from './spec';

/** One version of a property as `propertiesWithHistory` lists it (newest first) [H34]. */
export interface PropertyVersion {
  value: string;
  timestamp: Date | string;
}

/**
 * What a person wrote to a property between our read of the record and our write to it, which
 * our write then replaced: the newest version older than ours and newer than the record's
 * modstamp when we read it. Undefined when there is none, when our write did not change the
 * property (no version of ours), or when someone wrote it again after us (theirs stands).
 */
export function overwrittenValue(versions: readonly PropertyVersion[], ours: { value: string; atMs: number }, readAtMs: number): string | undefined {
  const at = (version: PropertyVersion): number => (version.timestamp instanceof Date ? version.timestamp.getTime() : Date.parse(version.timestamp));
  const mine = versions.findIndex((version) => version.value === ours.value && at(version) <= ours.atMs);
  if (mine !== 0) return undefined;
  const before = versions[1];
  return before !== undefined && at(before) > readAtMs && before.value !== ours.value ? before.value : undefined;
}

export interface VerifiedWrite {
  /** The engine's input index, handed back for the writes whose overwritten edits were put back. */
  index: number;
  id: string;
  /** The record's modstamp when it was read (UpsertInput.ifVersion). */
  readVersion: string;
  /** The properties we wrote, as HubSpot stored them (the update's answer). */
  written: Record<string, string>;
  /** The record's modstamp in the update's answer: our write's time. */
  writtenAt: string;
}

/**
 * HubSpot takes no version on a write, so an edit a person made between our read and our write
 * is overwritten. It is still in the property's history: read it (50 records per call with
 * histories [H35]), put the person's value back, and report those writes as `version-changed`
 * so the engine reads the record again and merges that edit like any other. Returns the indexes
 * of the writes put back.
 */
export async function restoreOverwrittenEdits(ctx: HubSpotContext, target: HubSpotTarget, writes: readonly VerifiedWrite[]): Promise<Set<number>> {
  const path = target.path;
  const restored = new Set<number>();
  const restores: { id: string; properties: Record<string, string> }[] = [];
  for (let start = 0; start < writes.length; start += hubspotSpec.paging.historyBatchSize) {
    const chunk = writes.slice(start, start + hubspotSpec.paging.historyBatchSize);
    const names = [...new Set(chunk.flatMap((write) => Object.keys(write.written)))].filter((name) => name !== SYNC_ID_PROPERTY && name !== target.modstamp);
    if (names.length === 0) continue;
    // https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects (propertiesWithHistory)
    // Our write has landed: an activity run again would find it there and never look for the edit.
    const answer = await retryInPlace(() =>
      ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.read(path, { inputs: chunk.map((write) => ({ id: write.id })), properties: [], propertiesWithHistory: names }, false, options)),
    );
    const byId = new Map(answer.results.map((object) => [object.id, object.propertiesWithHistory ?? {}]));
    for (const write of chunk) {
      const history = byId.get(write.id);
      if (!history) continue;
      const readAtMs = Date.parse(write.readVersion);
      const ours = Date.parse(write.writtenAt);
      const properties: Record<string, string> = {};
      for (const [name, value] of Object.entries(write.written)) {
        const lost = overwrittenValue(history[name] ?? [], { value, atMs: ours }, readAtMs);
        if (lost !== undefined) properties[name] = lost;
      }
      if (Object.keys(properties).length === 0) continue;
      restores.push({ id: write.id, properties });
      restored.add(write.index);
    }
  }
  for (let start = 0; start < restores.length; start += hubspotSpec.paging.batchSize) {
    const inputs = restores.slice(start, start + hubspotSpec.paging.batchSize);
    // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (POST /crm/v3/objects/{type}/batch/update)
    await retryInPlace(() => ctx.runner.run('standard', (options) => ctx.apis.objects.batchApi.update(path, { inputs }, options)));
  }
  return restored;
}

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { LinkedRecord } from '../../activities/apply-to-target';
import type { SyncConfig } from '../../activities/sync-activities';
import type { ObjectType } from '../../model/identifiers';
import { crmRead } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { applyToPeers } from './apply-to-peers';
import { deletePolicyOf, handleDeletions } from './deletions';
import { failureInfo, readFromSource } from './failures';

const read = proxyActivities<Activities>(crmRead);

/** Records named by webhooks: read once from this CRM, then applied to every peer. */
export async function applyNoticedChanges(state: ConnectionSyncState, config: SyncConfig): Promise<void> {
  const refs = state.pending.take(config.settings.batchSize);
  const objectType = refs[0]?.objectType;
  if (!objectType) return;
  const records = await readNoticed(state, objectType, refs.map((ref) => ref.externalId));
  if (!records) {
    for (const ref of refs) state.pending.add(ref); // nothing dropped while we wait for re-authorisation
    return;
  }
  await applyToPeers(state, config, objectType, records);
  // A deletion notice counts only when the read confirms the record is gone: notices arrive out of
  // order, and a record deleted then restored must not be deleted elsewhere.
  const found = new Set(records.map((record) => record.externalId));
  const gone = refs.filter((ref) => ref.deleted && !found.has(ref.externalId) && !state.parked.has(`${objectType}:${ref.externalId}:${state.connectionId}`));
  if (gone.length > 0 && deletePolicyOf(config, objectType) !== 'ignore') {
    await handleDeletions(state, config, objectType, gone.map((ref) => ref.externalId));
  }
}

/**
 * Reads noticed records. One record this CRM cannot give us (a value the mapping does not know)
 * must not stop the others, nor the connection: the batch is split and read record by record, and
 * only the unreadable one is parked, against this connection itself.
 */
async function readNoticed(state: ConnectionSyncState, objectType: ObjectType, externalIds: string[]): Promise<LinkedRecord[] | undefined> {
  const readBatch = (ids: string[]) => read.readAndLinkRecords({ tenantId: state.tenantId, connectionId: state.connectionId, objectType, externalIds: ids });
  try {
    return await readFromSource(state, () => readBatch(externalIds));
  } catch (error) {
    if (externalIds.length === 1) {
      state.park({ objectType, sourceExternalId: externalIds[0] as string, targetConnectionId: state.connectionId, reason: 'failed', error: failureInfo(error, { connectionId: state.connectionId, provider: state.provider }), parkedAt: new Date(Date.now()).toISOString() });
      return [];
    }
    const records: LinkedRecord[] = [];
    for (const externalId of externalIds) {
      const one = await readNoticed(state, objectType, [externalId]);
      if (!one) return undefined;
      records.push(...one);
    }
    return records;
  }
}

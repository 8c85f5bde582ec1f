import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { LinkedRecord } from '../../activities/apply-to-target';
import type { SyncConfig } from '../../activities/sync-activities';
import type { ObjectType } from '../../model/identifiers';
import type { ChangeRef } from '../../model/sync';
import { crmReadPausingOnQuota } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { applyToPeers } from './apply-to-peers';
import { deletePolicyOf, handleDeletions } from './deletions';
import { failureInfo, readFromSource } from './failures';

const read = proxyActivities<Activities>(crmReadPausingOnQuota);

/** Records named by webhooks: read once from this CRM, then applied to every peer. */
export async function applyNoticedChanges(state: ConnectionSyncState, config: SyncConfig): Promise<void> {
  const refs = state.pending.take(config.settings.batchSize);
  const objectType = refs[0]?.objectType;
  if (!objectType) return;
  const records = await readNoticed(state, objectType, refs);
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
    const notPlanned = await handleDeletions(state, config, objectType, gone.map((ref) => ref.externalId));
    if (notPlanned !== undefined) state.deferDeletions(gone, `deletions not planned: ${notPlanned}`);
  }
}

/**
 * Reads noticed records. One record this CRM cannot give us (a value the mapping does not know)
 * must not stop the others, nor the connection: the batch is split and read record by record, and
 * only the unreadable one is parked, against this connection itself; a deletion notice stays one
 * (`operation: 'delete'`), so retrying it reads and plans the deletion again.
 */
async function readNoticed(state: ConnectionSyncState, objectType: ObjectType, refs: readonly ChangeRef[]): Promise<LinkedRecord[] | undefined> {
  const readBatch = (ids: string[]) => read.readAndLinkRecords({ tenantId: state.tenantId, connectionId: state.connectionId, objectType, externalIds: ids });
  try {
    return await readFromSource(state, () => readBatch(refs.map((ref) => ref.externalId)));
  } catch (error) {
    const [only] = refs;
    if (only && refs.length === 1) {
      const info = failureInfo(error, { connectionId: state.connectionId, provider: state.provider });
      state.park({ objectType, sourceExternalId: only.externalId, targetConnectionId: state.connectionId, reason: 'failed', ...(only.deleted ? { operation: 'delete' as const } : {}), error: info, parkedAt: new Date(Date.now()).toISOString() });
      return [];
    }
    const records: LinkedRecord[] = [];
    for (const ref of refs) {
      const one = await readNoticed(state, objectType, [ref]);
      if (!one) return undefined;
      records.push(...one);
    }
    return records;
  }
}

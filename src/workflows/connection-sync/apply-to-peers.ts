import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { LinkedRecord } from '../../activities/apply-to-target';
import type { SyncConfig } from '../../activities/sync-activities';
import type { ObjectType } from '../../model/identifiers';
import { objectConflictPoliciesSchema } from '../../model/sync';
import { crmWrite } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { failureInfo } from './failures';
import { flushParked } from './parked-store';

const write = proxyActivities<Activities>(crmWrite);

/** One batch read from this CRM, written to every peer in parallel: each target fails on its own. */
export async function applyToPeers(state: ConnectionSyncState, config: SyncConfig, objectType: ObjectType, records: LinkedRecord[]): Promise<void> {
  if (records.length === 0 || config.peers.length === 0) return;
  const policies = config.settings.conflictPolicies[objectType] ?? objectConflictPoliciesSchema.parse({});
  const results = await Promise.allSettled(
    config.peers.map(({ connectionId: targetConnectionId }) =>
      write.applyToTarget({ tenantId: state.tenantId, objectType, sourceConnectionId: state.connectionId, targetConnectionId, records, policies }),
    ),
  );
  const now = new Date(Date.now()).toISOString();
  results.forEach((result, index) => {
    const peer = config.peers[index] as SyncConfig['peers'][number];
    const targetConnectionId = peer.connectionId;
    if (result.status === 'rejected') {
      // The whole batch failed for this target after its retries: park every record, keep going.
      const error = failureInfo(result.reason, peer);
      for (const record of records) state.park({ objectType, sourceExternalId: record.externalId, targetConnectionId, reason: 'failed', error, parkedAt: now });
      return;
    }
    state.stats.conflicts += result.value.conflicts;
    for (const outcome of result.value.outcomes) {
      if (outcome.status === 'parked') {
        state.park({ objectType, sourceExternalId: outcome.sourceExternalId, targetConnectionId, reason: outcome.reason, error: outcome.error, parkedAt: now });
        continue;
      }
      state.unpark(objectType, outcome.sourceExternalId, targetConnectionId);
      if (outcome.status === 'echo') state.stats.echoes += 1;
      else if (outcome.status === 'refused-by-policy') state.stats.refusedByPolicy += 1;
      else if (outcome.status === 'stale') state.stats.staleReads += 1;
      else state.stats.synced += 1;
    }
  });
  // Read at last: a park of the record against its own connection (it could not be read) is over.
  for (const record of records) state.unpark(objectType, record.externalId, state.connectionId);
  state.lastSyncedAt = now;
  // Page by page: a poll through a backlog of refusals must not hold them all in memory.
  await flushParked(state);
}

import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { SyncConfig } from '../../activities/sync-activities';
import type { ConnectorErrorInfo } from '../../connectors/errors';
import type { ObjectType } from '../../model/identifiers';
import { massDeleteVerdict } from '../../model/sync';
import { DEFAULT_DELETE_POLICY, syncSettingsSchema, type DeletePolicy } from '../../model/sync-settings';
import { crmWrite, storeCall } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { failureInfo, fromStore } from './failures';
import { publishSearchAttributes } from './search-attributes';

const store = proxyActivities<Activities>(storeCall);
const write = proxyActivities<Activities>(crmWrite);

const massDeleteGuardDefaults = syncSettingsSchema.shape.massDeleteGuard.parse(undefined);

const DELETIONS_PATCH = 'deletion-feed';

/**
 * The object's delete policy. `patched`: runs started before deletions existed replay without
 * them (their histories have no deletion-feed reads), and their config, read by an older
 * activity, may lack the setting.
 */
export function deletePolicyOf(config: SyncConfig, objectType: ObjectType): DeletePolicy {
  if (!patched(DELETIONS_PATCH)) return 'ignore';
  const policies: Partial<Record<ObjectType, DeletePolicy>> | undefined = config.settings.deletePolicies;
  return policies?.[objectType] ?? DEFAULT_DELETE_POLICY;
}

/**
 * Records gone from this CRM: those that were synced are applied to the peers by the object's
 * policy, unless the mass-delete guard holds them for an operator. While a hold is pending, later
 * deletions of the same object join it rather than slip past. Returns the store's error when the
 * deletions could not be planned: then nothing was decided, and the caller keeps the ids to plan
 * them again at a later pass.
 */
export async function handleDeletions(state: ConnectionSyncState, config: SyncConfig, objectType: ObjectType, externalIds: string[]): Promise<string | undefined> {
  if (externalIds.length === 0 || config.peers.length === 0 || deletePolicyOf(config, objectType) === 'ignore') return undefined;
  const planned = await fromStore(() => store.planDeletions({ connectionId: state.connectionId, objectType, externalIds }));
  if (!planned.ok) return planned.error;
  const plan = planned.value;
  // Decided by an operator meanwhile (the update may land while this activity runs): not again.
  const decided = new Set(state.approvedDeletions.flatMap((held) => (held.objectType === objectType ? held.externalIds : [])));
  const toDecide = plan.externalIds.filter((externalId) => !decided.has(externalId));
  if (toDecide.length === 0) return undefined;
  const now = Date.now();
  const guard = config.settings.massDeleteGuard ?? massDeleteGuardDefaults;
  if (state.heldFor(objectType)) {
    state.holdDeletions(objectType, toDecide, '', new Date(now).toISOString());
    return undefined;
  }
  const verdict = massDeleteVerdict({ deletions: toDecide.length, recentlyApplied: state.recentlyAppliedDeletions(objectType, now, guard.windowMs), syncedRecords: plan.syncedRecords }, guard);
  if (verdict.hold) {
    state.holdDeletions(objectType, toDecide, verdict.reason, new Date(now).toISOString());
    publishSearchAttributes(state, config);
    return undefined;
  }
  await applyDeletions(state, config, objectType, toDecide, deletePolicyOf(config, objectType), { countTowardsGuard: true });
  return undefined;
}

/**
 * Applies deletions to every peer; what fails in a target is parked for retry. Deletions an
 * operator approved do not count towards the guard's window (they would hold the next few).
 */
export async function applyDeletions(
  state: ConnectionSyncState,
  config: SyncConfig,
  objectType: ObjectType,
  externalIds: string[],
  policy: DeletePolicy,
  { countTowardsGuard }: { countTowardsGuard: boolean },
): Promise<void> {
  const now = new Date(Date.now()).toISOString();
  const park = (sourceExternalId: string, targetConnectionId: string, error: ConnectorErrorInfo) =>
    state.park({ objectType, sourceExternalId, targetConnectionId, reason: 'failed', operation: 'delete', error, parkedAt: now });
  let result;
  try {
    result = await write.applyDeletions({
      tenantId: state.tenantId,
      objectType,
      sourceConnectionId: state.connectionId,
      sourceExternalIds: externalIds,
      policy,
      targetConnectionIds: config.peers.map((peer) => peer.connectionId),
    });
  } catch (error) {
    for (const peer of config.peers) for (const externalId of externalIds) park(externalId, peer.connectionId, failureInfo(error, peer));
    return;
  }
  for (const target of result.targets) {
    state.stats.deletesApplied += target.deleted;
    state.stats.deletesArchived += target.archived;
    const failed = new Set(target.failed.map((failure) => failure.sourceExternalId));
    for (const failure of target.failed) park(failure.sourceExternalId, target.targetConnectionId, failure.error);
    for (const externalId of externalIds) if (!failed.has(externalId)) state.unpark(objectType, externalId, target.targetConnectionId);
  }
  if (countTowardsGuard) state.recordAppliedDeletions(objectType, Date.now(), externalIds.length, (config.settings.massDeleteGuard ?? massDeleteGuardDefaults).windowMs);
  state.lastSyncedAt = now;
}

import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { SyncConfig } from '../../activities/sync-activities';
import { searchAttributes } from '../../temporal/search-attributes';
import type { ConnectionSyncState } from '../connection-sync-state';

/** Runs from before this patch upserted no change-log fallback time (replaying them must not either). */
const FALLBACK_ATTRIBUTE_PATCH = 'change-log-fallback-attribute';

/** The connection's state as search attributes, so the Web UI and `temporal workflow list` can filter on it. */
export function publishSearchAttributes(state: ConnectionSyncState, config: SyncConfig): void {
  const fallback = state.changeEvents.lastFallback;
  upsertSearchAttributes([
    { key: searchAttributes.TenantId, value: state.tenantId },
    { key: searchAttributes.ConnectionId, value: state.connectionId },
    { key: searchAttributes.CrmProvider, value: config.provider },
    { key: searchAttributes.SyncState, value: state.syncState },
    { key: searchAttributes.ParkedCount, value: state.parked.size },
    ...(state.lastSyncedAt ? [{ key: searchAttributes.LastSyncedAt, value: new Date(state.lastSyncedAt) }] : []),
    // A poll that never gets through (a retry loop, a wedged activity) shows as an old LastPolledAt.
    ...(state.lastPolledAt ? [{ key: searchAttributes.LastPolledAt, value: new Date(state.lastPolledAt) }] : []),
    ...(fallback && patched(FALLBACK_ATTRIBUTE_PATCH) ? [{ key: searchAttributes.ChangeLogFallbackAt, value: new Date(fallback.at) }] : []),
  ]);
}

import { condition, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { SyncConfig } from '../../activities/sync-activities';
import { searchAttributes } from '../../temporal/search-attributes';
import { storeCall } from '../activity-options';
import type { ConnectionSyncState } from '../connection-sync-state';
import { fromStore } from './failures';

const store = proxyActivities<Activities>(storeCall);

/** How long a run that could not load its config waits before it tries again, unless told the config changed. */
const FIRST_LOAD_RETRY_MS = 60_000;

/**
 * The config a run starts with. A run continued as new holds state nothing else does, so while the
 * store cannot give the config, the run waits and tries again rather than fail: every minute, or at
 * once on a configChanged signal. Notices are taken and queries answered meanwhile.
 */
export async function loadFirstConfig(state: ConnectionSyncState): Promise<SyncConfig> {
  for (;;) {
    const loaded = await fromStore(() => store.loadSyncConfig({ connectionId: state.connectionId }));
    if (loaded.ok) {
      state.storeError = null;
      return loaded.value;
    }
    state.storeError = `config not loaded: ${loaded.error}`;
    // Without a config the provider is unknown: only the state is published.
    upsertSearchAttributes([{ key: searchAttributes.SyncState, value: state.syncState }]);
    state.configChanged = false;
    await condition(() => state.configChanged, FIRST_LOAD_RETRY_MS);
  }
}

/** The config again (after a configChanged signal); while the store cannot give it, the run keeps `current` and tries again at every pass. */
export async function reloadConfig(state: ConnectionSyncState, current: SyncConfig): Promise<SyncConfig> {
  const loaded = await fromStore(() => store.loadSyncConfig({ connectionId: state.connectionId }));
  state.configStale = !loaded.ok;
  if (loaded.ok) return loaded.value;
  state.storeError = `config not reloaded: ${loaded.error}`;
  return current;
}

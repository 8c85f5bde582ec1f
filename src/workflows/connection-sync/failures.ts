import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { SyncConfig } from '../../activities/sync-activities';
import type { ConnectorErrorInfo } from '../../connectors/errors';
import type { ConnectionSyncState } from '../connection-sync-state';

/**
 * Reads from this connection's CRM. An auth failure (refresh already tried by the connector)
 * puts the connection in needs-reauth and returns undefined; the caller keeps what it had.
 */
export async function readFromSource<T>(state: ConnectionSyncState, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (failureType(error) !== 'auth') throw error;
    state.needsReauth = true;
    return undefined;
  }
}

function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** A whole-batch failure (a read of this connection or a write to a peer) as parked-record data: the connector's own info when it classified it. */
export function failureInfo(error: unknown, peer: { connectionId: string; provider: SyncConfig['provider'] }): ConnectorErrorInfo {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const classified = cause instanceof ApplicationFailure ? (cause.details?.[0] as Partial<ConnectorErrorInfo> | undefined) : undefined;
  // Mapping failures are classified outside any connector and carry no provider.
  if (classified?.errorClass) return { ...classified, errorClass: classified.errorClass, message: classified.message ?? '', provider: classified.provider ?? peer.provider };
  const message = cause instanceof Error ? cause.message : String(error);
  return { provider: peer.provider, errorClass: 'transient', message: `${peer.connectionId}: ${message}` };
}

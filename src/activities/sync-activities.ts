import type { ConnectorRegistry } from '../connectors/registry';
import { recordPoll } from '../observability/metrics';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import { syncSettingsSchema, type SyncSettings } from '../model/sync-settings';
import { isSyncing, type ConnectionsRepository } from '../store/connections-repository';
import type { RecordLinksRepository } from '../store/record-links-repository';
import type { LinkedRecord } from './apply-to-target';
import { keptAlive } from './keepalive';
import { linkRecords } from './linking';

export { linkRecords } from './linking';

export interface SyncConfig {
  tenantId: string;
  provider: CrmProvider;
  /** The tenant's other active connections: the targets of this connection's changes. */
  peers: { connectionId: string; provider: CrmProvider }[];
  settings: SyncSettings;
}

export interface DeletionFeedPage {
  externalIds: string[];
  nextCursor?: string | undefined;
  highWatermark: string;
  /** Where the next scan of a token-based feed starts. */
  resumeCursor?: string | undefined;
  /** The feed's token had expired: deletions in the gap could not be listed. */
  restarted: boolean;
}

export interface SyncActivityDependencies {
  connections: ConnectionsRepository;
  connectors: ConnectorRegistry;
  links: RecordLinksRepository;
}

export function createSyncActivities(deps: SyncActivityDependencies) {
  const activities = {
    async loadSyncConfig({ connectionId }: { connectionId: string }): Promise<SyncConfig> {
      const connection = await deps.connections.getConnection(connectionId);
      if (!connection) throw new Error(`unknown connection "${connectionId}"`);
      const peers = (await deps.connections.listConnections(connection.tenantId)).filter((peer) => peer.id !== connectionId && isSyncing(peer.status));
      const settings = syncSettingsSchema.safeParse(connection.settings.sync ?? {});
      if (!settings.success) {
        throw new Error(`connection ${connectionId} settings.sync is invalid: ${settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      return { tenantId: connection.tenantId, provider: connection.provider, peers: peers.map((peer) => ({ connectionId: peer.id, provider: peer.provider })), settings: settings.data };
    },

    /** One page of changes since the watermark, already linked to canonical ids. */
    async pollChanges(input: { tenantId: string; connectionId: string; objectType: ObjectType; since: string; cursor?: string | undefined }): Promise<{ records: LinkedRecord[]; nextCursor?: string | undefined; highWatermark: string }> {
      const connector = await deps.connectors.forConnection(input.connectionId);
      const readAt = await deps.links.databaseNow();
      const page = await connector.listChanges(input.objectType, { since: input.since, cursor: input.cursor });
      recordPoll(input, input.since, page.records.length);
      return { records: await linkRecords(deps, input.tenantId, input.connectionId, input.objectType, page.records, readAt), nextCursor: page.nextCursor, highWatermark: page.highWatermark };
    },

    /**
     * One page of the CRM's deletion feed since the watermark (or from a feed token, e.g. a
     * Dataverse delta link passed back as `cursor`): ids only, the engine decides what they mean.
     */
    async pollDeletions(input: { connectionId: string; objectType: ObjectType; since: string; cursor?: string | undefined }): Promise<DeletionFeedPage> {
      const connector = await deps.connectors.forConnection(input.connectionId);
      const page = await connector.listDeletions(input.objectType, { since: input.since, cursor: input.cursor });
      return {
        externalIds: page.deletions.map((deletion) => deletion.externalId),
        nextCursor: page.nextCursor,
        highWatermark: page.highWatermark,
        resumeCursor: page.resumeCursor,
        restarted: page.restarted ?? false,
      };
    },

    /** The current state of records named by change notices, linked to canonical ids. */
    async readAndLinkRecords(input: { tenantId: string; connectionId: string; objectType: ObjectType; externalIds: string[] }): Promise<LinkedRecord[]> {
      const connector = await deps.connectors.forConnection(input.connectionId);
      const readAt = await deps.links.databaseNow();
      const records = await connector.readRecords(input.objectType, input.externalIds);
      return linkRecords(deps, input.tenantId, input.connectionId, input.objectType, records, readAt);
    },
  };
  // The poll's reads heartbeat while they run (crmReadPausingOnQuota has a heartbeat timeout): a
  // worker that dies mid-read hands the connection's poll to another after 30 s, not after the
  // read's 2-minute start-to-close.
  return {
    ...activities,
    pollChanges: (input: Parameters<typeof activities.pollChanges>[0]) => keptAlive(() => activities.pollChanges(input)),
    pollDeletions: (input: Parameters<typeof activities.pollDeletions>[0]) => keptAlive(() => activities.pollDeletions(input)),
    readAndLinkRecords: (input: Parameters<typeof activities.readAndLinkRecords>[0]) => keptAlive(() => activities.readAndLinkRecords(input)),
  };
}

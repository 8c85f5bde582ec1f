import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The custom search attributes operators filter on in the Web UI, e.g.
 * `TenantId = "acme" AND ParkedCount > 0`. One list, used both to register them on the dev
 * server and to type the upserts the workflows make. Safe to import from workflow code.
 */
export const searchAttributes = {
  TenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  CrmProvider: defineSearchAttributeKey('CrmProvider', SearchAttributeType.KEYWORD),
  ConnectionId: defineSearchAttributeKey('ConnectionId', SearchAttributeType.KEYWORD),
  /** running | paused | needs-reauth | awaiting-approval (held deletions) | degraded; backfills: their own states */
  SyncState: defineSearchAttributeKey('SyncState', SearchAttributeType.KEYWORD),
  ParkedCount: defineSearchAttributeKey('ParkedCount', SearchAttributeType.INT),
  LastSyncedAt: defineSearchAttributeKey('LastSyncedAt', SearchAttributeType.DATETIME),
} as const;

export type SearchAttributeName = keyof typeof searchAttributes;

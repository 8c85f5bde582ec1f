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
  /**
   * running | paused | needs-reauth | quota-paused | awaiting-approval (held deletions) | degraded
   * (poll failing, parked records, store errors); backfills: their own states.
   */
  SyncState: defineSearchAttributeKey('SyncState', SearchAttributeType.KEYWORD),
  ParkedCount: defineSearchAttributeKey('ParkedCount', SearchAttributeType.INT),
  LastSyncedAt: defineSearchAttributeKey('LastSyncedAt', SearchAttributeType.DATETIME),
  /** When a poll last got through every object: older than a few intervals = stuck in a retry loop. */
  LastPolledAt: defineSearchAttributeKey('LastPolledAt', SearchAttributeType.DATETIME),
  /** When the change log (Salesforce CDC, HubSpot's journal) last fell back to a poll: a gap, an overflow, a position past retention. */
  ChangeLogFallbackAt: defineSearchAttributeKey('ChangeLogFallbackAt', SearchAttributeType.DATETIME),
} as const;

/**
 * Every stuck connection sync, as the Web UI's list filter (docs/operations.md, "Finding stuck
 * syncs"): re-authorisation, a spent quota, held deletions, and degraded runs (poll failing,
 * parked records, crm-sync's own database failing).
 */
export const stuckSyncsQuery = 'ExecutionStatus = "Running" AND SyncState IN ("needs-reauth", "quota-paused", "degraded", "awaiting-approval")';

export type SearchAttributeName = keyof typeof searchAttributes;

import { z } from 'zod';
import type { ConnectorErrorInfo } from '../connectors/errors';
import { objectTypeSchema, slugSchema, type CrmProvider, type ObjectType } from '../model/identifiers';
import { ChangeBuffer, SeenEventIds, type ChangeRef } from '../model/sync';

export type SyncState = 'running' | 'paused' | 'needs-reauth' | 'degraded';

/** A record that could not be synced to one target, kept visible until retried or skipped. */
export interface ParkedRecord {
  /** `<objectType>:<sourceExternalId>:<targetConnectionId>` */
  key: string;
  objectType: ObjectType;
  sourceExternalId: string;
  targetConnectionId: string;
  reason: 'dependency' | 'failed';
  error: ConnectorErrorInfo;
  parkedAt: string;
  attempts: number;
}

export interface SyncStats {
  synced: number;
  echoes: number;
  conflicts: number;
  refusedByPolicy: number;
  /** Change notices dropped as redeliveries of an event already accepted. */
  duplicatesDropped: number;
  /** Source reads older than what the source already held from the other direction: not applied. */
  staleReads: number;
}

export interface SyncStatus {
  tenantId: string;
  connectionId: string;
  state: SyncState;
  pausedReason: string | null;
  watermarks: Partial<Record<ObjectType, string>>;
  pending: number;
  parked: number;
  stats: SyncStats;
  lastSyncedAt: string | null;
  pollError: string | null;
}

const changeRefSchema = z.object({
  objectType: objectTypeSchema,
  externalId: z.string().min(1),
  modifiedAt: z.string().optional(),
  eventId: z.string().optional(),
  deleted: z.boolean().optional(),
});

/** What continue-as-new carries: everything the next run needs, nothing it can re-derive. */
export const carriedStateSchema = z.object({
  watermarks: z.partialRecord(objectTypeSchema, z.string()).default({}),
  seenEventIds: z.array(z.string()).default([]),
  pending: z.array(changeRefSchema).default([]),
  parked: z.array(z.custom<ParkedRecord>((value) => typeof value === 'object' && value !== null && 'key' in value)).default([]),
  stats: z
    .object({
      synced: z.number(),
      echoes: z.number(),
      conflicts: z.number(),
      refusedByPolicy: z.number(),
      duplicatesDropped: z.number().default(0),
      staleReads: z.number().default(0),
    })
    .default({ synced: 0, echoes: 0, conflicts: 0, refusedByPolicy: 0, duplicatesDropped: 0, staleReads: 0 }),
  paused: z.object({ reason: z.string().nullable() }).nullable().default(null),
  lastSyncedAt: z.string().nullable().default(null),
});

export const connectionSyncInputSchema = z.object({
  tenantId: slugSchema,
  connectionId: slugSchema,
  /**
   * Continue as new once history holds this many events, besides when the server suggests it.
   * Tests set it low to exercise the hand-over; production leaves it to the server.
   */
  continueAsNewAfterEvents: z.number().int().min(20).optional(),
  carried: carriedStateSchema.optional(),
});

export type CarriedState = z.output<typeof carriedStateSchema>;
export type ConnectionSyncInput = z.input<typeof connectionSyncInputSchema>;

/** How many event ids to remember for dropping redeliveries. */
const SEEN_EVENT_CAPACITY = 5000;

/** The connection workflow's state and its transitions; no Temporal calls here. */
export class ConnectionSyncState {
  readonly pending: ChangeBuffer;
  readonly seen: SeenEventIds;
  readonly parked = new Map<string, ParkedRecord>();
  watermarks: Partial<Record<ObjectType, string>>;
  stats: SyncStats;
  paused: { reason: string | null } | null;
  needsReauth = false;
  configChanged = false;
  /** This connection's CRM, once the config is loaded (for failure attribution). */
  provider: CrmProvider = 'salesforce';
  /** Why the last poll stopped early, until a poll succeeds. */
  pollError: string | null = null;
  lastSyncedAt: string | null;

  constructor(
    readonly tenantId: string,
    readonly connectionId: string,
    carried: CarriedState = carriedStateSchema.parse({}),
  ) {
    this.pending = new ChangeBuffer(carried.pending);
    this.seen = new SeenEventIds(SEEN_EVENT_CAPACITY, carried.seenEventIds);
    for (const record of carried.parked) this.parked.set(record.key, record);
    this.watermarks = { ...carried.watermarks };
    this.stats = { ...carried.stats };
    this.paused = carried.paused;
    this.lastSyncedAt = carried.lastSyncedAt;
  }

  /** Accepts change notices, dropping redeliveries of events already seen. Returns how many were new. */
  notice(events: readonly ChangeRef[]): number {
    let accepted = 0;
    for (const event of events) {
      if (event.eventId !== undefined && !this.seen.accept(event.eventId)) {
        this.stats.duplicatesDropped += 1;
        continue;
      }
      this.pending.add(event);
      accepted += 1;
    }
    return accepted;
  }

  park(record: Omit<ParkedRecord, 'key' | 'attempts'>): void {
    const key = `${record.objectType}:${record.sourceExternalId}:${record.targetConnectionId}`;
    const attempts = (this.parked.get(key)?.attempts ?? 0) + 1;
    this.parked.set(key, { ...record, key, attempts });
  }

  unpark(objectType: ObjectType, sourceExternalId: string, targetConnectionId: string): void {
    this.parked.delete(`${objectType}:${sourceExternalId}:${targetConnectionId}`);
  }

  /** Puts parked records back in the queue (the record is re-read from the source). */
  retryParked(keys?: readonly string[]): number {
    const chosen = [...this.parked.values()].filter((record) => !keys || keys.includes(record.key));
    for (const record of chosen) this.pending.add({ objectType: record.objectType, externalId: record.sourceExternalId });
    return chosen.length;
  }

  skipParked(keys: readonly string[]): number {
    return keys.filter((key) => this.parked.delete(key)).length;
  }

  get syncState(): SyncState {
    if (this.needsReauth) return 'needs-reauth';
    if (this.paused) return 'paused';
    return this.parked.size > 0 || this.pollError ? 'degraded' : 'running';
  }

  status(): SyncStatus {
    return {
      tenantId: this.tenantId,
      connectionId: this.connectionId,
      state: this.syncState,
      pausedReason: this.paused?.reason ?? null,
      watermarks: { ...this.watermarks },
      pending: this.pending.size,
      parked: this.parked.size,
      stats: { ...this.stats },
      lastSyncedAt: this.lastSyncedAt,
      pollError: this.pollError,
    };
  }

  carry(): CarriedState {
    return {
      watermarks: { ...this.watermarks },
      seenEventIds: this.seen.toJSON(),
      pending: this.pending.toJSON(),
      parked: [...this.parked.values()],
      stats: { ...this.stats },
      paused: this.paused,
      lastSyncedAt: this.lastSyncedAt,
    };
  }
}

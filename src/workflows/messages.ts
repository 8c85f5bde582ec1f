import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ObjectType } from '../model/identifiers';
import type { ChangeRef } from '../model/sync';
import type { HeldDeletionsSummary, ParkedRecord, SyncStatus } from './connection-sync-state';

/**
 * The connection workflow's messages. Wire names are plain camelCase so the `temporal` CLI and the
 * webhook shim can send them with JSON alone, e.g.
 *   temporal workflow signal --workflow-id sync:acme:acme-sf --name pauseSync --input '{"reason":"maintenance"}'
 */
export interface ChangeNotices {
  events: ChangeRef[];
}

export const changeNoticesSignal = defineSignal<[ChangeNotices]>('changeNotices');
export const pauseSyncSignal = defineSignal<[{ reason?: string }]>('pauseSync');
export const resumeSyncSignal = defineSignal<[]>('resumeSync');
/** Sent after an operator re-authorised the connection (`crm-sync connection reauthorise`). */
export const reauthorisedSignal = defineSignal<[]>('reauthorised');
/** Sent after the connection's settings (objects, poll interval, policies) changed. */
export const configChangedSignal = defineSignal<[]>('configChanged');

export const syncStatusQuery = defineQuery<SyncStatus>('syncStatus');
export const parkedRecordsQuery = defineQuery<ParkedRecord[]>('parkedRecords');

/** Re-queues parked records (all, or those keys) for another attempt; returns how many. */
export const retryParkedUpdate = defineUpdate<number, [{ keys?: string[] }]>('retryParked');
export interface StartBackfillRequest {
  objectType: ObjectType;
  /** Only records changed since then (ISO); omitted = everything. */
  since?: string;
  /** Target connections; omitted = every other connection of the tenant. */
  targets?: string[];
}

/** Starts a backfill of one object as a child workflow; answers its workflow id (also when one was already running). */
export const startBackfillUpdate = defineUpdate<{ workflowId: string; alreadyRunning: boolean }, [StartBackfillRequest]>('startBackfill');

/** Drops parked records the operator decided not to sync; returns how many. */
export const skipParkedUpdate = defineUpdate<number, [{ keys: string[] }]>('skipParked');

/** Deletions the mass-delete guard holds, per object, with a sample of the ids. */
export const heldDeletionsQuery = defineQuery<HeldDeletionsSummary[]>('heldDeletions');

/**
 * Applies a held batch of deletions (id from the heldDeletions query); returns how many records
 * it covers. `temporal workflow update execute --name approveDeletions --input '{"id":"contact:1"}'`
 */
export const approveDeletionsUpdate = defineUpdate<number, [{ id: string }]>('approveDeletions');

/**
 * Refuses a held batch: the records stay in the other CRMs and keep syncing (as with the `ignore`
 * policy: this CRM forgets them, and an edit elsewhere re-creates them here). Returns how many.
 */
export const rejectDeletionsUpdate = defineUpdate<number, [{ id: string }]>('rejectDeletions');

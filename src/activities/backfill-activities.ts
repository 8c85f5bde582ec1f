import { activityInfo, CancelledFailure, Context } from '@temporalio/activity';
import { recordBackfillWrites } from '../observability/metrics';
import { recordApplyOutcomes } from './outcome-metrics';
import { ApplicationFailure } from '@temporalio/common';
import type { CrmConnector, ExternalRecord } from '../connectors/connector';
import { ConnectorError, type ConnectorErrorInfo } from '../connectors/errors';
import { mapLimited } from '../connectors/map-limited';
import type { ConnectorRegistry } from '../connectors/registry';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import type { ObjectConflictPolicies } from '../model/sync';
import type { CanonicalRecordsRepository } from '../store/canonical-records-repository';
import type { ConflictsRepository } from '../store/conflicts-repository';
import type { PendingReferencesRepository } from '../store/pending-references-repository';
import { isSyncing, type ConnectionsRepository } from '../store/connections-repository';
import type { RecordLinksRepository } from '../store/record-links-repository';
import { bulkChunkRetry } from '../workflows/activity-options';
import { afterProgress } from './failures';
import { readOncePerActivity, type ConnectionReads } from './read-once';
import { applyToTarget, spreadContributions, type LinkedRecord, type RecordOutcome, type TargetWrite } from './apply-to-target';
import { ExportReadAhead } from './export-read-ahead';
import { conflictPoliciesOf, linkRecords } from './linking';

/**
 * The backfill's side effects (architecture §2, "Backfill"). The workflow only ever sees cursors
 * and counts: a page is read and written inside one activity, and what crosses into history is
 * how many records were read, written and failed per target, plus the next cursor.
 */

export interface BackfillTarget {
  connectionId: string;
  provider: CrmProvider;
}

export interface BackfillConfig {
  provider: CrmProvider;
  targets: BackfillTarget[];
}

/** A record one target refused: ids and the vendor's message only, never field values we sent. */
export interface BackfillFailure {
  sourceExternalId: string;
  targetConnectionId: string;
  error: ConnectorErrorInfo;
}

export interface BackfillPageInput {
  tenantId: string;
  sourceConnectionId: string;
  objectType: ObjectType;
  /** The export cursor of the page to read (re-readable: the same cursor reads the same page). */
  cursor: string;
  targetConnectionIds: string[];
  /** Records written per heartbeat checkpoint; a retried attempt resumes at the last one. */
  chunkSize: number;
  /** How many failures to list (all are counted). */
  failureListLimit: number;
  /**
   * The targets' existing records were linked by match keys before the first page
   * (indexBackfillTargets): unlinked records need not be looked up there one search at a time.
   */
  targetsIndexed?: boolean | undefined;
}

export interface BackfillPageResult {
  read: number;
  written: Record<string, number>;
  failed: Record<string, number>;
  failures: BackfillFailure[];
  nextCursor?: string | undefined;
  /** Where this attempt started within the page: > 0 when it resumed from a heartbeat checkpoint. */
  resumedAtOffset: number;
  attempt: number;
}

/** What a page activity heartbeats: where it is in the page and what it has counted up to there. */
export interface PageCheckpoint {
  cursor: string;
  offset: number;
  written: Record<string, number>;
  failed: Record<string, number>;
  failures: BackfillFailure[];
}

export interface BackfillActivityDependencies {
  connections: ConnectionsRepository;
  connectors: ConnectorRegistry;
  links: RecordLinksRepository;
  canonical: CanonicalRecordsRepository;
  conflicts: ConflictsRepository;
  pending: PendingReferencesRepository;
  /** Chunks of one page written at once (default 3): enough to overlap PostgreSQL with vendor calls. */
  chunksInFlight?: number | undefined;
}

const DEFAULT_CHUNKS_IN_FLIGHT = 3;

/** Failure classes a target's whole-chunk failure is retried for (by the activity's retry policy). */
const retriedClasses = new Set(['transient', 'rate-limited', 'quota-exhausted', 'auth']);
/**
 * How often a long chunk write re-sends the last checkpoint (a third of the heartbeat timeout), so
 * the heartbeat timeout only catches dead workers.
 */
const keepaliveMs = (heartbeatTimeoutMs: number | undefined): number => Math.max(100, Math.min(10_000, (heartbeatTimeoutMs ?? 30_000) / 3));

export function createBackfillActivities(deps: BackfillActivityDependencies) {
  const readAhead = new ExportReadAhead();
  return {
    /** The source's provider and the targets: the ones asked for (checked), or the tenant's other active connections. */
    async loadBackfillConfig(input: { tenantId: string; connectionId: string; targets?: string[] | undefined }): Promise<BackfillConfig> {
      const source = await deps.connections.getConnection(input.connectionId);
      if (!source) throw ApplicationFailure.nonRetryable(`unknown connection "${input.connectionId}"`, 'InvalidInput');
      if (source.tenantId !== input.tenantId) {
        throw ApplicationFailure.nonRetryable(`connection "${input.connectionId}" does not belong to tenant "${input.tenantId}"`, 'InvalidInput');
      }
      const tenantConnections = await deps.connections.listConnections(input.tenantId);
      let targets = tenantConnections.filter((peer) => peer.id !== input.connectionId && isSyncing(peer.status));
      if (input.targets) {
        const unknown = input.targets.filter((id) => id === input.connectionId || !tenantConnections.some((peer) => peer.id === id));
        if (unknown.length > 0) {
          throw ApplicationFailure.nonRetryable(`targets: ${unknown.map((id) => `"${id}"`).join(', ')} not another connection of tenant "${input.tenantId}"`, 'InvalidInput');
        }
        targets = tenantConnections.filter((peer) => input.targets?.includes(peer.id));
      }
      return { provider: source.provider, targets: targets.map((peer) => ({ connectionId: peer.id, provider: peer.provider })) };
    },

    /** Starts the source's bulk export; returns its first cursor. */
    async startBackfillExport(input: { connectionId: string; objectType: ObjectType; since?: string | undefined }): Promise<{ cursor: string }> {
      const source = await deps.connectors.forConnection(input.connectionId);
      return { cursor: await source.bulk.startExport(input.objectType, { since: input.since }) };
    },

    /**
     * Links the records each target already holds to canonical records by its match keys, reading
     * the target's export once (position heartbeated, so a retry resumes there): the pages then
     * update those records instead of creating them again, with no search per record.
     */
    async indexBackfillTargets(input: { tenantId: string; objectType: ObjectType; targetConnectionIds: string[] }): Promise<{ linked: Record<string, number> }> {
      const context = Context.current();
      const resumed = indexCheckpointFrom(activityInfo().heartbeatDetails);
      const linked: Record<string, number> = { ...resumed?.linked };
      for (const [index, connectionId] of input.targetConnectionIds.entries()) {
        if (resumed && index < resumed.target) continue;
        const connector = await deps.connectors.forConnection(connectionId);
        let cursor: string | undefined = (resumed?.target === index ? resumed.cursor : null) ?? (await connector.bulk.startExport(input.objectType));
        while (cursor) {
          const readAt = await deps.links.databaseNow();
          const page = await connector.bulk.readExportPage(cursor);
          await linkRecords(deps, input.tenantId, connectionId, input.objectType, page.records, readAt);
          linked[connectionId] = (linked[connectionId] ?? 0) + page.records.length;
          cursor = page.nextCursor;
          context.heartbeat({ target: cursor ? index : index + 1, cursor: cursor ?? null, linked } satisfies IndexCheckpoint);
        }
      }
      return { linked };
    },

    /**
     * Reads one export page and writes it to every target through its bulk path, chunk by chunk.
     * After each chunk it heartbeats a checkpoint (cursor, offset, counts so far); a retried attempt
     * of the same page (worker killed, timeout) re-reads the page and resumes at the checkpoint.
     * Upserts are keyed by the canonical sync id, so a chunk written twice is still one record.
     */
    async backfillPage(input: BackfillPageInput): Promise<BackfillPageResult> {
      const info = activityInfo();
      const resumed = resumeFrom(info.heartbeatDetails, input.cursor);
      const checkpoint: PageCheckpoint = resumed ?? {
        cursor: input.cursor,
        offset: 0,
        written: Object.fromEntries(input.targetConnectionIds.map((id) => [id, 0])),
        failed: Object.fromEntries(input.targetConnectionIds.map((id) => [id, 0])),
        failures: [],
      };
      const resumedAtOffset = checkpoint.offset;
      const context = Context.current();
      // A copy: the SDK may encode throttled details later, and the checkpoint keeps moving.
      const beat = (): void => context.heartbeat(structuredClone(checkpoint));
      beat();
      // From the start: reading the page from a slow source must not look like a dead worker.
      const keepalive = setInterval(beat, keepaliveMs(info.heartbeatTimeoutMs));
      try {
        return await writePage();
      } finally {
        clearInterval(keepalive);
      }

      async function writePage(): Promise<BackfillPageResult> {
        const source = await deps.connectors.forConnection(input.sourceConnectionId);
        const readAt = await deps.links.databaseNow();
        const page = await readAhead.read(input.sourceConnectionId, input.cursor, () => source.bulk.readExportPage(input.cursor));
        const { nextCursor } = page;
        if (nextCursor) readAhead.prefetch(input.sourceConnectionId, nextCursor, () => source.bulk.readExportPage(nextCursor));
        const pageDeps = readOncePerActivity(deps);
        const targets = await Promise.all(input.targetConnectionIds.map(async (id) => ({ id, connector: await pageDeps.connectors.forConnection(id) })));

        // Chunks overlap (linking one while another is at the vendor) but the checkpoint only ever
        // covers a contiguous prefix of the page: a chunk finished ahead of an earlier one waits to
        // be counted, and a retried attempt rewrites it (upserts by sync id make that harmless).
        const finished = new Map<number, ChunkResult[]>();
        const count = (offset: number, results: ChunkResult[]): void => {
          finished.set(offset, results);
          while (finished.has(checkpoint.offset)) {
            const done = finished.get(checkpoint.offset) as ChunkResult[];
            finished.delete(checkpoint.offset);
            for (const result of done) {
              checkpoint.written[result.targetConnectionId] = (checkpoint.written[result.targetConnectionId] ?? 0) + result.written;
              checkpoint.failed[result.targetConnectionId] = (checkpoint.failed[result.targetConnectionId] ?? 0) + result.failures.length;
              const room = input.failureListLimit - checkpoint.failures.length;
              if (room > 0) checkpoint.failures.push(...result.failures.slice(0, room));
            }
            checkpoint.offset = Math.min(page.records.length, checkpoint.offset + input.chunkSize);
          }
          beat();
        };
        const offsets: number[] = [];
        for (let offset = checkpoint.offset; offset < page.records.length; offset += input.chunkSize) offsets.push(offset);
        try {
          await untilCancelled(
            inFlightUntilFirstFailure(offsets, deps.chunksInFlight ?? DEFAULT_CHUNKS_IN_FLIGHT, async (offset) => {
              count(offset, await writeChunk(pageDeps, input, page.records.slice(offset, offset + input.chunkSize), targets, readAt));
            }),
          );
        } catch (error) {
          throw checkpoint.offset > resumedAtOffset ? afterProgress(error) : error;
        }
        return {
          read: page.records.length,
          written: checkpoint.written,
          failed: checkpoint.failed,
          failures: checkpoint.failures,
          nextCursor: page.nextCursor,
          resumedAtOffset,
          attempt: info.attempt,
        };
      }
    },
  };
}

interface IndexCheckpoint {
  /** The target being indexed (its position in the list). */
  target: number;
  /** Its next export page; null: start its export. */
  cursor: string | null;
  linked: Record<string, number>;
}

function indexCheckpointFrom(details: unknown): IndexCheckpoint | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const checkpoint = details as Partial<IndexCheckpoint>;
  return typeof checkpoint.target === 'number' ? { target: checkpoint.target, cursor: checkpoint.cursor ?? null, linked: { ...checkpoint.linked } } : undefined;
}

function resumeFrom(details: unknown, cursor: string): PageCheckpoint | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const checkpoint = details as Partial<PageCheckpoint>;
  if (checkpoint.cursor !== cursor || typeof checkpoint.offset !== 'number' || !checkpoint.written || !checkpoint.failed) return undefined;
  return { cursor, offset: checkpoint.offset, written: { ...checkpoint.written }, failed: { ...checkpoint.failed }, failures: [...(checkpoint.failures ?? [])] };
}

/**
 * Stops waiting when the attempt is cancelled. A worker shutting down is not a cancellation the
 * workflow asked for: it leaves as a retryable failure, so the server hands the page to another
 * worker at once (which resumes from the checkpoint) instead of waiting for the heartbeat timeout.
 */
async function untilCancelled<T>(work: Promise<T>): Promise<T> {
  try {
    return await Promise.race([work, Context.current().cancelled]);
  } catch (error) {
    if (error instanceof CancelledFailure && error.message !== 'CANCELLED') {
      work.catch(() => undefined);
      throw ApplicationFailure.retryable(`page attempt stopped (${error.message}); the next attempt resumes from the last checkpoint`, 'AttemptStopped');
    }
    throw error;
  }
}

/**
 * Runs `work` over `items`, `limit` at a time, in order. After the first failure no new item
 * starts; the ones already running finish (so their progress is counted), then the failure is
 * thrown.
 */
async function inFlightUntilFirstFailure<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.error;
}

interface ChunkResult {
  targetConnectionId: string;
  written: number;
  failures: BackfillFailure[];
}

/**
 * Links the chunk's source records (sync id, then match keys: the same path as live changes),
 * then brings every target in line with their canonical records in parallel, through its bulk path.
 */
/** What a page's chunks use: the connection reads are the page's own (readOncePerActivity). */
type ChunkDependencies = Omit<BackfillActivityDependencies, 'connections'> & ConnectionReads;

async function writeChunk(
  deps: ChunkDependencies,
  input: BackfillPageInput,
  chunk: readonly ExternalRecord[],
  targets: readonly { id: string; connector: CrmConnector }[],
  readAt: string,
): Promise<ChunkResult[]> {
  const linked = await linkRecords(deps, input.tenantId, input.sourceConnectionId, input.objectType, chunk, readAt);
  const policies = await conflictPoliciesOf(deps.connections, input.sourceConnectionId, input.objectType);
  return Promise.all(targets.map((target) => writeToTarget(deps, input, linked, policies, target)));
}

async function writeToTarget(
  deps: ChunkDependencies,
  input: BackfillPageInput,
  linked: LinkedRecord[],
  policies: ObjectConflictPolicies,
  target: { id: string; connector: CrmConnector },
): Promise<ChunkResult> {
  const failures: BackfillFailure[] = [];
  if (linked.length === 0) return { targetConnectionId: target.id, written: 0, failures };
  const outcomes: RecordOutcome[] = [];
  let conflicts = 0;
  const contributed: string[] = [];
  const slices: LinkedRecord[][] = [];
  for (let offset = 0; offset < linked.length; offset += APPLY_SLICE) slices.push(linked.slice(offset, offset + APPLY_SLICE));
  // In slices, two at a time: each apply holds a lock per record (PostgreSQL's lock table is
  // finite), and two keep the target's budget busy while the other waits on PostgreSQL.
  await mapLimited(slices, SLICES_IN_FLIGHT, async (slice) => {
    try {
      const result = await applyToTarget(
        deps,
        { tenantId: input.tenantId, objectType: input.objectType, sourceConnectionId: input.sourceConnectionId, targetConnectionId: target.id, records: slice, policies },
        { write: bulkWrite, matchInTarget: !input.targetsIndexed, dependenciesFirst: false },
      );
      outcomes.push(...result.outcomes);
      conflicts += result.conflicts;
      contributed.push(...(result.contributed ?? []));
    } catch (error) {
      // The whole call failed: retryable classes fail the attempt (it resumes at this chunk);
      // anything else cannot succeed by retrying, so the slice counts as failed for this target only.
      if (!(error instanceof ConnectorError) || retriedClasses.has(error.errorClass)) throw error;
      for (const record of slice) failures.push({ sourceExternalId: record.externalId, targetConnectionId: target.id, error: error.toInfo() });
    }
  });
  const spreadFailures = await spreadContributions(
    deps,
    { tenantId: input.tenantId, objectType: input.objectType, canonicalIds: contributed, from: target.id, connectionIds: [input.sourceConnectionId, ...input.targetConnectionIds], policies },
    { write: bulkWrite },
  );
  recordApplyOutcomes({ ...input, targetConnectionId: target.id, path: 'backfill' }, { outcomes, conflicts });
  const sourceIdOf = new Map(linked.map((record) => [record.canonicalId, record.externalId]));
  let written = 0;
  for (const outcome of outcomes) {
    if (outcome.status !== 'parked') {
      written += 1;
      continue;
    }
    const error = outcome.reason === 'dependency' ? { ...outcome.error, message: `${outcome.error.message} (backfill it first)` } : outcome.error;
    failures.push({ sourceExternalId: outcome.sourceExternalId, targetConnectionId: target.id, error });
  }
  for (const { connectionId, outcome } of spreadFailures) {
    if (outcome.status === 'parked') failures.push({ sourceExternalId: sourceIdOf.get(outcome.canonicalId) ?? outcome.sourceExternalId, targetConnectionId: connectionId, error: outcome.error });
  }
  recordBackfillWrites({ tenantId: input.tenantId, connectionId: input.sourceConnectionId, objectType: input.objectType }, { [target.id]: written });
  return { targetConnectionId: target.id, written, failures };
}

/** Records per apply: the locks it holds (two per record) stay well inside PostgreSQL's lock table. */
const APPLY_SLICE = 200;
const SLICES_IN_FLIGHT = 2;

const bulkWrite: TargetWrite = (target, objectType, inputs) => withChunkRetries(() => target.bulk.upsert(objectType, inputs));

/**
 * A chunk write retried in place for passing failures (bulkChunkRetry): upserts are keyed by the
 * sync id, so a call that failed after the vendor applied it is harmless to repeat.
 */
async function withChunkRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await call();
    } catch (error) {
      const delay = bulkChunkRetry.delaysMs[retry];
      const retried = error instanceof ConnectorError && (bulkChunkRetry.classes as readonly string[]).includes(error.errorClass);
      if (delay === undefined || !retried) throw error;
      const wait = Math.min(Math.max(delay, error.retryAfterMs ?? 0), bulkChunkRetry.maxDelayMs);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

import type { ExternalRecord, FieldEditTimesRequest } from '../connectors/connector';
import type { CanonicalFields } from '../model/canonical';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import {
  canonicalWrites,
  changedUnderHeldStamp,
  emptyCanonicalRecord,
  hasFields,
  mergeObservation,
  overlayFields,
  sameValue,
  stampPrecisionMs,
  type CanonicalRecordState,
  type ObjectConflictPolicies,
} from '../model/sync';
import type { CanonicalRecordsRepository } from '../store/canonical-records-repository';
import type { ConflictDecision, ConflictsRepository } from '../store/conflicts-repository';
import type { RecordLinksRepository, SyncedState, SyncedStateWrite } from '../store/record-links-repository';
import type { LinkedRecord } from './apply-to-target';

export interface ReconcileInput<W extends CarriedOut = CarriedOut> {
  tenantId: string;
  objectType: ObjectType;
  policies: ObjectConflictPolicies;
  /** Absent when only the canonical records are pushed to the target (no source read). */
  source: { connectionId: string; provider: CrmProvider } | undefined;
  target: { connectionId: string; provider: CrmProvider };
  /**
   * Reads the target's current copies by external id. Called with the canonical records locked,
   * just before the writes are worked out: the write that follows starts from a read milliseconds
   * old, so a person's edit made there in between (which no vendor but Dataverse lets a write
   * refuse) is unlikely to be overwritten or met later under our write's stamp.
   */
  readTarget: (externalIds: string[]) => Promise<ReadonlyMap<string, ExternalRecord>>;
  /**
   * A connection's field history (CrmConnector.fieldEditTimes), asked only about fields that
   * changed under the stamp of the copy last held, whose record stamp cannot tell when.
   */
  fieldEditTimes?: FieldEditTimesLookup | undefined;
  /**
   * Edits an earlier round's write replaced in the target and its connector put back, by target
   * external id: when each of those fields was edited (the record stamp is our put-back's).
   */
  targetEditTimes?: ReadonlyMap<string, Readonly<Record<string, string>>> | undefined;
  /** Leave out records whose target copy is not found (a push); by default such a copy is written whole. */
  onlyWhereFound?: boolean | undefined;
  /**
   * Writes the target (steps with a `write`) and says what it holds afterwards. Called right
   * after the read and the merge, before anything is saved, so that no database round trip
   * widens the window in which a person's edit there would be overwritten; what it returns is
   * saved in the same transaction.
   */
  carryOut: (steps: readonly ReconcileStep[]) => Promise<W>;
  records: {
    canonicalId: string;
    /** The source's read of the record, when there is one. */
    record: LinkedRecord | undefined;
    sourceState: SyncedState | undefined;
    /** The record's link (and snapshot) in the target; undefined when it is not there yet. */
    targetState: SyncedState | undefined;
    /** Written even with no field to change (a matched record must carry the sync id). */
    mustWrite: boolean;
  }[];
}

/** A connection's field history, or undefined where its vendor keeps none (nothing is asked there). */
export type FieldEditTimesLookup = (connectionId: string) => ((requests: FieldEditTimesRequest[]) => Promise<ReadonlyMap<string, Readonly<Record<string, string>>>>) | undefined;

export interface ReconcileStep {
  canonicalId: string;
  record: LinkedRecord | undefined;
  /** The canonical values the target lacks; undefined when there is nothing to write. */
  write: CanonicalFields | undefined;
  /** Why nothing is written, when nothing is. */
  idle: 'echo' | 'refused-by-policy' | 'stale';
  targetExternalId: string | undefined;
  /** What the target holds once the write landed: its next snapshot. */
  holdsAfterWrite: CanonicalFields;
  /** What the target held before the write (a write the connector adjusted lands on this). */
  holdsBeforeWrite: CanonicalFields;
  targetModifiedAt: string | null;
  /** The target copy's version as read, where its vendor can refuse a write over another. */
  targetVersion: string | undefined;
  /** The target's copy brought values into the canonical record (others may now lack them). */
  targetContributed: boolean;
}

/**
 * The canonical step of an apply, in one transaction with the canonical records locked: the
 * target's copies are read; what the source and the target each changed since their snapshots is
 * merged in (a read older than the snapshot is stale and merges nothing); each record's writes to
 * the target are worked out and carried out at once; then the snapshots (as read, and as written),
 * the conflict decisions and the canonical records are saved together.
 */
/** What writing the target left to save: the target's snapshot (and link) per record written. */
export interface CarriedOut {
  synced: SyncedStateWrite[];
}

export async function reconcileWithCanonical<W extends CarriedOut>(
  deps: { canonical: CanonicalRecordsRepository; links: RecordLinksRepository; conflicts: ConflictsRepository },
  input: ReconcileInput<W>,
): Promise<{ steps: ReconcileStep[]; conflicts: number; written: W }> {
  const { tenantId, objectType, policies } = input;
  return deps.canonical.update(
    tenantId,
    objectType,
    input.records.map((item) => item.canonicalId),
    async (records) => {
      const current = await input.readTarget(input.records.flatMap((item) => (item.targetState ? [item.targetState.link.externalId] : [])));
      const fieldTimes = await fieldTimesUnderHeldStamps(input, current);
      const snapshots: SyncedStateWrite[] = [];
      const decisions: ConflictDecision[] = [];
      const steps: ReconcileStep[] = [];
      const observe = (canonicalId: string, canonical: CanonicalRecordState, connection: { connectionId: string; provider: CrmProvider }, state: SyncedState | undefined, read: ExternalRecord, linkSaved: boolean) => {
        const held = state?.snapshot;
        if (held?.sourceModifiedAt && Date.parse(read.modifiedAt) < held.sourceModifiedAt.getTime()) return { canonical, stale: true, refused: false, accepted: false };
        const fieldAt = fieldTimes.get(connection.connectionId)?.get(read.externalId);
        const merged = mergeObservation(canonical, { connectionId: connection.connectionId, at: read.modifiedAt, precisionMs: stampPrecisionMs(connection.provider, read.modifiedAt), fields: read.fields, held: held?.fields, fieldAt }, policies);
        for (const decision of merged.decisions) decisions.push({ tenantId, objectType, canonicalId, ...decision });
        if (state && (!held || !sameValue(held.fields, read.fields) || held.sourceModifiedAt?.getTime() !== Date.parse(read.modifiedAt))) {
          snapshots.push({ link: state.link, fields: read.fields, sourceModifiedAt: new Date(read.modifiedAt), linkSaved });
        }
        return { canonical: merged.canonical, stale: false, refused: merged.refused.length > 0, accepted: merged.accepted.length > 0 };
      };

      for (const item of input.records) {
        const { canonicalId, record, targetState } = item;
        const targetRecord = targetState ? current.get(targetState.link.externalId) : undefined;
        if (input.onlyWhereFound && !targetRecord) continue;
        let canonical = records.get(canonicalId) ?? emptyCanonicalRecord();
        let fromSource = { stale: false, refused: false };
        if (record && input.source) {
          const sourceLink = item.sourceState ?? { link: { canonicalId, tenantId, objectType, connectionId: input.source.connectionId, externalId: record.externalId }, snapshot: undefined };
          const observed = observe(canonicalId, canonical, input.source, sourceLink, record, item.sourceState !== undefined);
          canonical = observed.canonical;
          fromSource = observed;
        }
        let targetContributed = false;
        if (targetRecord && targetState) {
          const observed = observe(canonicalId, canonical, input.target, targetState, targetRecord, true);
          canonical = observed.canonical;
          targetContributed = observed.accepted;
        }
        records.set(canonicalId, canonical);

        // A copy the target should have but was not found there is written whole.
        const holds = targetRecord ? { current: targetRecord.fields, held: targetState?.snapshot?.fields } : { current: undefined, held: undefined };
        const write = canonicalWrites(canonical, holds, policies);
        const holdsBeforeWrite = overlayFields(holds.held, holds.current);
        const needed = hasFields(write) || item.mustWrite || !targetState;
        steps.push({
          canonicalId,
          record,
          write: needed ? write : undefined,
          idle: fromSource.stale ? 'stale' : fromSource.refused ? 'refused-by-policy' : 'echo',
          targetExternalId: targetState?.link.externalId,
          holdsBeforeWrite,
          holdsAfterWrite: overlayFields(holdsBeforeWrite, write),
          targetModifiedAt: targetRecord?.modifiedAt ?? null,
          targetVersion: targetRecord?.version,
          targetContributed,
        });
      }
      const written = await input.carryOut(steps);
      // Saved with the canonical records, in the round trip of the COMMIT. In order: what the
      // copies held when read, then what the target holds after our write (the later stands).
      const writes = [...deps.links.syncedStatesWrites([...snapshots, ...written.synced]), ...deps.conflicts.recordStatements(decisions)];
      return { records, result: { steps, conflicts: decisions.length, written }, writes };
    },
  );
}

/**
 * Field edit times, by connection id, then external id: for the reads (source and target) whose
 * changed fields carry the stamp of the copy last held, from the connections' field histories; for
 * target copies whose edits an earlier round put back, the times their connector gave then.
 */
async function fieldTimesUnderHeldStamps(input: ReconcileInput, current: ReadonlyMap<string, ExternalRecord>): Promise<Map<string, ReadonlyMap<string, Readonly<Record<string, string>>>>> {
  const times = new Map<string, ReadonlyMap<string, Readonly<Record<string, string>>>>();
  const asked = new Map<string, FieldEditTimesRequest[]>();
  const historyOf = (connectionId: string) => input.fieldEditTimes?.(connectionId);
  const hasHistory = { source: input.source !== undefined && historyOf(input.source.connectionId) !== undefined, target: historyOf(input.target.connectionId) !== undefined };
  const ask = (connectionId: string, state: SyncedState | undefined, read: ExternalRecord | undefined): void => {
    if (!read) return;
    const fields = changedUnderHeldStamp(read, state?.snapshot);
    if (fields.length === 0) return;
    const requests = asked.get(connectionId);
    if (requests) requests.push({ externalId: read.externalId, fields });
    else asked.set(connectionId, [{ externalId: read.externalId, fields }]);
  };
  const putBack = new Map<string, Readonly<Record<string, string>>>();
  for (const item of input.records) {
    if (input.source && hasHistory.source) ask(input.source.connectionId, item.sourceState, item.record);
    const externalId = item.targetState?.link.externalId;
    if (externalId === undefined) continue;
    const known = input.targetEditTimes?.get(externalId);
    if (known) putBack.set(externalId, known);
    else if (hasHistory.target) ask(input.target.connectionId, item.targetState, current.get(externalId));
  }
  await Promise.all([...asked].map(async ([connectionId, requests]) => times.set(connectionId, (await historyOf(connectionId)?.(requests)) ?? new Map())));
  if (putBack.size > 0) times.set(input.target.connectionId, new Map([...(times.get(input.target.connectionId) ?? []), ...putBack]));
  return times;
}

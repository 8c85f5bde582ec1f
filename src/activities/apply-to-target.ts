import type { CrmConnector, ExternalRecord, UpsertInput, UpsertOutcome } from '../connectors/connector';
import type { ConnectorErrorInfo } from '../connectors/errors';
import type { ConnectorRegistry } from '../connectors/registry';
import { keyValueOf } from '../connectors/unique-keys';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import { hasFields, isReferenceField, overlayFields, referenceSlotOf, referencesToWrite, withoutReferenceFields, type ObjectConflictPolicies } from '../model/sync';
import type { CanonicalRecordsRepository } from '../store/canonical-records-repository';
import type { ConflictsRepository } from '../store/conflicts-repository';
import type { ConnectionsRepository } from '../store/connections-repository';
import type { MatchRequest, RecordLinksRepository, SyncedState } from '../store/record-links-repository';
import type { PendingAfterWrite, PendingReferencesRepository } from '../store/pending-references-repository';
import { reconcileWithCanonical, type CarriedOut, type FieldEditTimesLookup, type ReconcileStep, type ReferenceLookup } from './canonical-sync';
import { conflictPoliciesOf, matchKeysOf } from './linking';
import { dependencyOrder, relatedByType, sourceReferencesAsCanonical } from './related-records';
import { referenceSlots, type CanonicalFields } from '../model/canonical';

/** A source record with the canonical id it was linked to before the batch fanned out. */
export interface LinkedRecord extends ExternalRecord {
  canonicalId: string;
  /**
   * When the read began, on the database's clock. A snapshot of this record saved later (another
   * worker wrote the record meanwhile) means the read may predate that write: it is read again.
   * Absent in histories recorded before reads were timed.
   */
  readAt?: string | undefined;
}

export interface ApplyToTargetInput {
  tenantId: string;
  objectType: ObjectType;
  sourceConnectionId: string;
  targetConnectionId: string;
  records: LinkedRecord[];
  policies: ObjectConflictPolicies;
}

export type RecordOutcome =
  /** `matched`: the target record existed unlinked and was found by a unique key (first-sync matching). */
  | {
      canonicalId: string;
      sourceExternalId: string;
      status: 'created' | 'updated';
      targetExternalId: string;
      matched?: boolean | undefined;
      /** What the tenant's mapping choice cut or left out to make the values fit (UpsertOutcome.adjusted). */
      adjusted?: string[] | undefined;
    }
  /**
   * Nothing to write: the target already holds the canonical record (our own write echoing back),
   * changes the policies keep out of it, or a stale read (the source holds a newer version).
   */
  | { canonicalId: string; sourceExternalId: string; status: 'echo' | 'refused-by-policy' | 'stale' }
  /** Could not be written now; the workflow parks it with this reason and retries it later. */
  | { canonicalId: string; sourceExternalId: string; status: 'parked'; reason: 'dependency' | 'failed'; error: ConnectorErrorInfo };

export interface ApplyToTargetResult {
  outcomes: RecordOutcome[];
  conflicts: number;
  /** Canonical ids whose target copy brought values the other connections may lack. */
  contributed?: string[] | undefined;
}

export interface ApplyDependencies {
  connectors: ConnectorRegistry;
  links: RecordLinksRepository;
  canonical: CanonicalRecordsRepository;
  conflicts: ConflictsRepository;
  /** The target connection's settings (its first-sync match keys). */
  connections: Pick<ConnectionsRepository, 'getConnection'>;
  /** Links waiting for related records to land in a target. */
  pending: PendingReferencesRepository;
}

/** How a batch reaches the target: record by record (live) or through its bulk path (backfill). */
export type TargetWrite = (target: CrmConnector, objectType: ObjectType, inputs: readonly UpsertInput[]) => Promise<UpsertOutcome[]>;

export const liveWrite: TargetWrite = (target, objectType, inputs) => target.upsertRecords(objectType, inputs);

export interface ApplyOptions {
  /** Default: record by record (liveWrite). */
  write?: TargetWrite | undefined;
  /** Look unlinked records up in the target by its match keys (default); off when a backfill indexed the target first. */
  matchInTarget?: boolean | undefined;
  /**
   * Related records the target has no copy of are applied to it first, from the source (default).
   * Off for a backfill, which sends each object type whole in dependency order: a link it meets
   * before its related record waits as pending.
   */
  dependenciesFirst?: boolean | undefined;
}

/**
 * Brings one target CRM in line with the canonical records of a batch of source records
 * (docs/architecture.md, "Apply"). Holding the write lock of each (record, target) pair: unlinked
 * records are looked for in the target by its match keys; the target's current copies are read;
 * what the source and the target each changed since their snapshots merges into the canonical
 * records by the fields' policies (decisions recorded); the target receives the canonical values
 * it lacks, upserted by sync id; its snapshot is saved once the vendor confirmed. Idempotent: run
 * twice, the second run finds nothing to write.
 */
export async function applyToTarget(deps: ApplyDependencies, input: ApplyToTargetInput, options: ApplyOptions = {}): Promise<ApplyToTargetResult> {
  const write = options.write ?? liveWrite;
  const { objectType, sourceConnectionId, targetConnectionId } = input;
  const [source, target] = await Promise.all([deps.connectors.forConnection(sourceConnectionId), deps.connectors.forConnection(targetConnectionId)]);
  const sourceSide = { tenantId: input.tenantId, connectionId: sourceConnectionId, connector: source };
  const sourceReferences = await sourceReferencesAsCanonical(deps, sourceSide, objectType, input.records);
  if (options.dependenciesFirst !== false) await applyDependenciesFirst(deps, input, source, relatedByType(objectType, sourceReferences.values()), options);
  const result = await applyLocked();
  await writeWaitingHolders(deps, input.tenantId, targetConnectionId, result.outcomes);
  return result;

  async function applyLocked(): Promise<ApplyToTargetResult> {

  // Canonical ids may have been merged (first-sync matching) since the batch was linked; a record
  // whose link is gone was deleted meanwhile (by the delete policy): it is not written anywhere.
  // Most batches are linked as they were: their locks are taken at once, and each record's source
  // link is checked in the synced states loaded with them. Only a batch where one is not goes the
  // long way, its links read first (the canonical ids to lock are then those).
  const asLinked = await underLocks(input.records, [], true);
  if (asLinked) return asLinked;
  const linkedNow = await deps.links.canonicalIdsOf(sourceConnectionId, objectType, input.records.map((record) => record.externalId));
  const deletedMeanwhile: RecordOutcome[] = input.records
    .filter((record) => !linkedNow.has(record.externalId))
    .map((record) => ({ canonicalId: record.canonicalId, sourceExternalId: record.externalId, status: 'refused-by-policy' }));
  const relinked = input.records.flatMap((record) => {
    const canonicalId = linkedNow.get(record.externalId);
    return canonicalId ? [{ ...record, canonicalId }] : [];
  });
  return (await underLocks(relinked, deletedMeanwhile, false)) as ApplyToTargetResult;
  }

  /** The apply under the records' locks; undefined (nothing done) when `checkLinks` finds a record linked otherwise now. */
  function underLocks(records: LinkedRecord[], deletedMeanwhile: RecordOutcome[], checkLinks: boolean): Promise<ApplyToTargetResult | undefined> {
    return deps.canonical.withRecordLocks(
      {
        write: records.map((record) => ({ canonicalId: record.canonicalId, connectionId: targetConnectionId })),
        // The source's copies are read and merged: no write there may land in between.
        read: records.map((record) => ({ canonicalId: record.canonicalId, connectionId: sourceConnectionId })),
      },
      async (loaded) => {
        const outcomes: RecordOutcome[] = [...deletedMeanwhile];
        let states = byPair(loaded);
        const stateOf = (canonicalId: string, connectionId: string) => states.get(canonicalId)?.get(connectionId);
        const linkedAsBefore = (record: LinkedRecord): boolean => {
          const link = stateOf(record.canonicalId, sourceConnectionId)?.link;
          return link?.externalId === record.externalId && link.objectType === objectType;
        };
        if (checkLinks && !records.every(linkedAsBefore)) return undefined;

        // Archived by a delete elsewhere (`archive` policy): kept in both CRMs, synced no more either way.
        const isArchived = (record: LinkedRecord) => Boolean(stateOf(record.canonicalId, sourceConnectionId)?.link.archivedAt || stateOf(record.canonicalId, targetConnectionId)?.link.archivedAt);
        for (const record of records.filter(isArchived)) outcomes.push({ canonicalId: record.canonicalId, sourceExternalId: record.externalId, status: 'refused-by-policy' });
        let active = records.filter((record) => !isArchived(record));

        // First contact with the target: records it has no link for are looked up there by its match keys.
        const unlinked = active.filter((record) => !stateOf(record.canonicalId, targetConnectionId));
        const matching = unlinked.length > 0 && options.matchInTarget !== false ? await matchInTarget(deps, target, input, unlinked) : emptyMatch();
        if (matching.canonicalIds.size > 0 || matching.taken.length > 0) {
          const takenIds = new Set(matching.taken.map((outcome) => outcome.sourceExternalId));
          outcomes.push(...matching.taken);
          active = active.filter((record) => !takenIds.has(record.externalId)).map((record) => ({ ...record, canonicalId: matching.canonicalIds.get(record.externalId) ?? record.canonicalId }));
          states = byPair(await deps.links.loadSyncedStates(active.map((record) => record.canonicalId)));
        }

        // A read that began before we last wrote the record there may predate that write: it is
        // taken again rather than mistaken for the source CRM's own edit (reverting ours).
        const maybeStale = active.filter((record) => {
          const written = stateOf(record.canonicalId, sourceConnectionId)?.snapshot?.writtenAt;
          return record.readAt !== undefined && written != null && written.getTime() > Date.parse(record.readAt);
        });
        if (maybeStale.length > 0) {
          const reread = new Map((await source.readRecords(objectType, maybeStale.map((record) => record.externalId))).map((record) => [record.externalId, record]));
          active = active.map((record) => {
            const fresh = reread.get(record.externalId);
            return fresh ? { ...fresh, canonicalId: record.canonicalId } : record;
          });
          const freshRecords = active.filter((record) => reread.has(record.externalId));
          for (const [externalId, references] of await sourceReferencesAsCanonical(deps, sourceSide, objectType, freshRecords)) sourceReferences.set(externalId, references);
        }

        // The target's copies are read inside the canonical step (matched ones again: the search
        // that found them may be seconds old once the matching lock was free). A vendor that
        // refuses a write over a newer version (Dataverse) sends the records someone edited
        // meanwhile round again: read, merged (that edit included) and written anew.
        const context = { tenantId: input.tenantId, objectType, target: { connectionId: targetConnectionId, connector: target }, pending: deps.pending };
        const putBack = new Map<string, Readonly<Record<string, string>>>();
        const applied = await inVersionRounds(active.map((record) => record.canonicalId), async (canonicalIds, round) => {
          if (round > 1) {
            active = active.filter((record) => canonicalIds.includes(record.canonicalId));
            states = byPair(await deps.links.loadSyncedStates(canonicalIds));
          }
          const reconciled = await reconcileWithCanonical(deps, {
            tenantId: input.tenantId,
            objectType,
            policies: input.policies,
            source: { connectionId: sourceConnectionId, provider: source.provider },
            target: { connectionId: targetConnectionId, provider: target.provider },
            readTarget: (externalIds) => readCopies(target, objectType, externalIds),
            fieldEditTimes: fieldHistories(objectType, { [sourceConnectionId]: source, [targetConnectionId]: target }, deps.connectors),
            targetEditTimes: putBack,
            references: referenceLookup(deps.links, targetConnectionId),
            records: active.map((record) => ({
              canonicalId: record.canonicalId,
              record,
              sourceReferences: sourceReferences.get(record.externalId),
              sourceState: stateOf(record.canonicalId, sourceConnectionId),
              targetState: stateOf(record.canonicalId, targetConnectionId),
              mustWrite: matching.matched.has(record.externalId),
            })),
            carryOut: (steps) => carryOut(context, steps, write, matching.matched),
          });
          // Creates the target refused because someone created the record there after we looked
          // for it: linked like a match (merging canonical records where needed), then another
          // round reads that record, merges it and writes it by its id.
          const { written } = reconciled;
          for (const [externalId, times] of written.editTimes) putBack.set(externalId, times);
          if (written.existing.length === 0) return reconciled;
          const adopted = await adoptExisting(deps, input, target.provider, written.existing);
          const outcomes = written.outcomes.flatMap((outcome) => {
            const result = adopted.get(outcome.sourceExternalId);
            if (!result || outcome.status !== 'parked') return [outcome];
            return [result.status === 'linked' ? { ...outcome, canonicalId: result.canonicalId } : result.outcome];
          });
          const again: string[] = [];
          for (const [sourceExternalId, result] of adopted) {
            if (result.status !== 'linked') continue;
            matching.matched.add(sourceExternalId);
            active = active.map((record) => (record.externalId === sourceExternalId ? { ...record, canonicalId: result.canonicalId } : record));
            again.push(result.canonicalId);
          }
          return { ...reconciled, written: { ...written, outcomes, versionChanged: [...written.versionChanged, ...again] } };
        });
        return { ...applied, outcomes: await withoutDeletedMeanwhile(deps, input, [...outcomes, ...applied.outcomes]) };
      },
      deps.links.syncedStatesStatement(records.map((record) => record.canonicalId)),
    );
  }
}

/**
 * Brings one target in line with canonical records without a source read: after a backfill page
 * met copies in its targets, the values they brought must reach the source and the other targets
 * too. Only records linked in the target; the target's copies are read (and merged) first.
 */
export async function pushCanonical(
  deps: ApplyDependencies,
  input: { tenantId: string; objectType: ObjectType; targetConnectionId: string; canonicalIds: string[]; policies: ObjectConflictPolicies },
  options: Pick<ApplyOptions, 'write'> = {},
): Promise<ApplyToTargetResult> {
  const { objectType, targetConnectionId } = input;
  const target = await deps.connectors.forConnection(targetConnectionId);
  return deps.canonical.withRecordLocks(
    { write: input.canonicalIds.map((canonicalId) => ({ canonicalId, connectionId: targetConnectionId })) },
    async () => {
      const putBack = new Map<string, Readonly<Record<string, string>>>();
      return inVersionRounds(input.canonicalIds, async (canonicalIds) => {
        const states = (await deps.links.loadSyncedStates(canonicalIds)).filter((state) => state.link.connectionId === targetConnectionId && !state.link.archivedAt);
        const reconciled = await reconcileWithCanonical(deps, {
          tenantId: input.tenantId,
          objectType,
          policies: input.policies,
          source: undefined,
          target: { connectionId: targetConnectionId, provider: target.provider },
          readTarget: (externalIds) => readCopies(target, objectType, externalIds),
          fieldEditTimes: fieldHistories(objectType, { [targetConnectionId]: target }, deps.connectors),
          targetEditTimes: putBack,
          references: referenceLookup(deps.links, targetConnectionId),
          // A copy gone from the target meanwhile is its deletion feed's business, not a record to write.
          onlyWhereFound: true,
          records: states.map((state) => ({ canonicalId: state.link.canonicalId, record: undefined, sourceState: undefined, targetState: state, mustWrite: false })),
          carryOut: (steps) => carryOut({ tenantId: input.tenantId, objectType, target: { connectionId: targetConnectionId, connector: target }, pending: deps.pending }, steps, options.write ?? liveWrite, new Set()),
        });
        for (const [externalId, times] of reconciled.written.editTimes) putBack.set(externalId, times);
        return reconciled;
      });
    },
  );
}

/**
 * Runs a canonical step over the records, then again over those whose versioned write the vendor
 * refused (someone edited them meanwhile: read, merged with that edit and written anew), up to
 * MAX_VERSION_ROUNDS in all; what is still refused then stays parked.
 */
async function inVersionRounds(
  canonicalIds: readonly string[],
  round: (canonicalIds: string[], round: number) => Promise<{ conflicts: number; written: { outcomes: RecordOutcome[]; contributed: string[]; versionChanged: string[] } }>,
): Promise<Required<ApplyToTargetResult>> {
  const result: Required<ApplyToTargetResult> = { outcomes: [], conflicts: 0, contributed: [] };
  let pending = [...canonicalIds];
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const { conflicts, written } = await round(pending, attempt);
    const again = new Set(attempt < MAX_VERSION_ROUNDS ? written.versionChanged : []);
    result.outcomes.push(...written.outcomes.filter((outcome) => !again.has(outcome.canonicalId)));
    result.conflicts += conflicts;
    result.contributed.push(...written.contributed);
    pending = [...again];
  }
  return result;
}

/**
 * Synced states by canonical id, then connection: looked up several times per record and target,
 * where a key joined from the two ids cost a new string (hashed anew) at every look-up.
 */
function byPair(states: readonly SyncedState[]): Map<string, Map<string, SyncedState>> {
  const byCanonicalId = new Map<string, Map<string, SyncedState>>();
  for (const state of states) {
    let byConnection = byCanonicalId.get(state.link.canonicalId);
    if (!byConnection) byCanonicalId.set(state.link.canonicalId, (byConnection = new Map<string, SyncedState>()));
    byConnection.set(state.link.connectionId, state);
  }
  return byCanonicalId;
}

async function readCopies(target: CrmConnector, objectType: ObjectType, externalIds: readonly string[]): Promise<Map<string, ExternalRecord>> {
  if (externalIds.length === 0) return new Map();
  return new Map((await target.readRecords(objectType, externalIds)).map((record) => [record.externalId, record]));
}

/**
 * The write half of an apply: the target upserted by sync id with the references translated
 * before, and what it holds afterwards (saved by the canonical step with everything else). A
 * crash before the save re-runs the activity, which upserts by sync id again (idempotent) and
 * finds our values already there.
 */
async function carryOut(
  context: { tenantId: string; objectType: ObjectType; target: { connectionId: string; connector: CrmConnector }; pending: PendingReferencesRepository },
  steps: readonly ReconcileStep[],
  write: TargetWrite,
  matched: ReadonlySet<string>,
): Promise<WritesCarriedOut> {
  const { tenantId, objectType } = context;
  const { connectionId: targetConnectionId, connector: target } = context.target;
  const outcomes: RecordOutcome[] = [];
  const pending: PendingAfterWrite[] = [];
  const writes: { step: ReconcileStep; waiting: PendingAfterWrite; input: UpsertInput }[] = [];
  for (const step of steps) {
    const base = { canonicalId: step.canonicalId, sourceExternalId: step.record?.externalId ?? step.canonicalId };
    if (step.write === undefined) {
      outcomes.push({ ...base, status: step.idle });
      continue;
    }
    // Links to records the target has no copy of yet wait (pending); the rest is written.
    const links = referencesToWrite(objectType, step.write, step.targetReferences, step.targetIdOf);
    const fields = withoutReferenceFields(step.write);
    const holder = { tenantId, targetConnectionId, holderCanonicalId: step.canonicalId, holderObjectType: objectType };
    const waiting = { ...holder, pending: links.pending.map((link) => ({ ...link, objectType: relatedTypeOf(objectType, link.slot) })) };
    if (!hasFields(fields) && Object.keys(links.references).length === 0 && step.targetExternalId !== undefined && !step.mustWrite) {
      pending.push(waiting);
      outcomes.push({ ...base, status: 'echo' });
      continue;
    }
    const holdsAfterWrite = links.unwritten.length === 0 ? step.holdsAfterWrite : withHeld(step.holdsAfterWrite, step.holdsBeforeWrite, links.unwritten);
    const references = Object.keys(links.references).length > 0 ? links.references : undefined;
    writes.push({ step: { ...step, holdsAfterWrite }, waiting, input: { syncId: step.canonicalId, fields, references, externalId: step.targetExternalId, ifVersion: step.targetVersion } });
  }

  const results = writes.length > 0 ? await write(target, objectType, writes.map((entry) => entry.input)) : [];
  const versionChanged: string[] = [];
  const editTimes = new Map<string, Readonly<Record<string, string>>>();
  const existing: ExistingInTarget[] = [];
  const synced = results.flatMap((result, index) => {
    const { step, waiting } = writes[index] as (typeof writes)[number];
    const base = { canonicalId: step.canonicalId, sourceExternalId: step.record?.externalId ?? step.canonicalId };
    if (result.status === 'version-changed') {
      versionChanged.push(step.canonicalId);
      if (result.fieldEditTimes && step.targetExternalId) editTimes.set(step.targetExternalId, result.fieldEditTimes);
      outcomes.push({
        ...base,
        status: 'parked',
        reason: 'failed',
        error: { provider: target.provider, errorClass: 'conflict', message: `${objectType} ${step.targetExternalId ?? step.canonicalId} in ${targetConnectionId} kept changing while we wrote it` },
      });
      return [];
    }
    if (result.status === 'exists') {
      // Parked unless the apply links the record named (only a source record can be linked).
      if (step.record) existing.push({ sourceExternalId: step.record.externalId, canonicalId: step.canonicalId, targetExternalId: result.externalId });
      outcomes.push({ ...base, status: 'parked', reason: 'failed', error: result.error });
      return [];
    }
    if (result.status === 'failed') {
      // The linked record is gone from the target (deleted there while we wrote it): nothing to
      // retry; the target's own deletion feed applies its delete policy.
      const gone = result.error.errorClass === 'not-found' && step.targetExternalId !== undefined;
      outcomes.push(gone ? { ...base, status: 'refused-by-policy' } : { ...base, status: 'parked', reason: 'failed', error: result.error });
      return [];
    }
    pending.push(waiting);
    const wasMatched = step.record !== undefined && matched.has(step.record.externalId);
    outcomes.push({
      ...base,
      status: result.status === 'unchanged' ? 'updated' : result.status,
      targetExternalId: result.externalId,
      ...(wasMatched ? { matched: true } : {}),
      ...(result.adjusted ? { adjusted: result.adjusted } : {}),
    });
    return [
      {
        link: { canonicalId: step.canonicalId, tenantId, objectType, connectionId: targetConnectionId, externalId: result.externalId },
        // A value the tenant's mapping cut or left out: the snapshot is what the target really holds,
        // so the next read does not take the cut value for an edit made there.
        fields: holdsAfter(step, result),
        written: true,
        linkSaved: step.targetExternalId === result.externalId,
        // A vendor that does not report the new modstamp: the read before the write bounds it.
        sourceModifiedAt: result.modifiedAt ? new Date(result.modifiedAt) : step.targetModifiedAt ? new Date(step.targetModifiedAt) : null,
      },
    ];
  });
  return {
    outcomes,
    synced,
    statements: context.pending.replaceStatements(pending),
    contributed: steps.filter((step) => step.targetContributed).map((step) => step.canonicalId),
    versionChanged,
    editTimes,
    existing,
  };
}

interface WritesCarriedOut extends CarriedOut {
  outcomes: RecordOutcome[];
  contributed: string[];
  versionChanged: string[];
  /** Edits our writes replaced and the connector put back, by target external id: when each field was edited. */
  editTimes: ReadonlyMap<string, Readonly<Record<string, string>>>;
  existing: ExistingInTarget[];
}

/** A create the target refused because its record `targetExternalId` already holds the same unique value. */
interface ExistingInTarget {
  sourceExternalId: string;
  canonicalId: string;
  targetExternalId: string;
}

type Adopted = { status: 'linked'; canonicalId: string } | { status: 'taken'; outcome: RecordOutcome };

/**
 * Links the target records that creates collided with, as first-sync matching links its
 * candidates (RecordLinksRepository.adoptMatches, under the same lock): one already synced with
 * another source record is not taken from it, and the record stays parked saying so.
 */
async function adoptExisting(deps: ApplyDependencies, input: ApplyToTargetInput, provider: CrmProvider, existing: readonly ExistingInTarget[]): Promise<Map<string, Adopted>> {
  const requests = existing.map((entry) => ({ canonicalId: entry.canonicalId, sourceExternalId: entry.sourceExternalId, candidates: [entry.targetExternalId] }));
  const results = await deps.links.adoptMatches(input.tenantId, input.objectType, input.sourceConnectionId, input.targetConnectionId, requests);
  const adopted = new Map<string, Adopted>();
  results.forEach((result, index) => {
    const request = requests[index] as (typeof requests)[number];
    adopted.set(
      request.sourceExternalId,
      result.status === 'linked'
        ? { status: 'linked', canonicalId: result.canonicalId }
        : { status: 'taken', outcome: takenOutcome(input, provider, result.canonicalId, request, 'unique value', result.heldBy) },
    );
  });
  return adopted;
}

function takenOutcome(
  input: ApplyToTargetInput,
  provider: CrmProvider,
  canonicalId: string,
  request: { sourceExternalId: string; candidates: readonly string[] },
  field: string,
  heldBy: { sourceExternalId: string } | undefined,
): RecordOutcome {
  return {
    canonicalId,
    sourceExternalId: request.sourceExternalId,
    status: 'parked',
    reason: 'failed',
    error: {
      provider,
      errorClass: 'conflict',
      message: `${input.objectType} ${request.sourceExternalId} matches ${request.candidates.join(', ')} in ${input.targetConnectionId} by ${field}, already synced with ${heldBy?.sourceExternalId ?? 'another record'} of ${input.sourceConnectionId}: not linked twice (merge the duplicates, or change the ${field})`,
    },
  };
}

/**
 * A record that could not be written because the delete policy removed it meanwhile (deleted in
 * one CRM, deleted or archived here while this apply ran) is not parked: there is nothing left to
 * retry.
 */
async function withoutDeletedMeanwhile(deps: ApplyDependencies, input: ApplyToTargetInput, outcomes: RecordOutcome[]): Promise<RecordOutcome[]> {
  const parked = outcomes.filter((outcome) => outcome.status === 'parked');
  if (parked.length === 0) return outcomes;
  const stillLinked = await deps.links.canonicalIdsOf(input.sourceConnectionId, input.objectType, parked.map((outcome) => outcome.sourceExternalId));
  return outcomes.map((outcome) =>
    outcome.status === 'parked' && !stillLinked.has(outcome.sourceExternalId) ? { canonicalId: outcome.canonicalId, sourceExternalId: outcome.sourceExternalId, status: 'refused-by-policy' } : outcome,
  );
}

interface MatchOutcome {
  /** Source external id -> the canonical id it has after matching (changed by a merge). */
  canonicalIds: Map<string, string>;
  /** Source external ids of the records matched to a target record and linked with it (here or when a create met it). */
  matched: Set<string>;
  /** Records whose every candidate already pairs with another source record: parked, never stolen. */
  taken: RecordOutcome[];
}

const emptyMatch = (): MatchOutcome => ({ canonicalIds: new Map(), matched: new Set(), taken: [] });

/**
 * Looks for the unlinked records in the target by the target connection's match keys (in order;
 * a record matched by one key is not looked up by the next), then links the matches under the
 * store's matching lock (RecordLinksRepository.adoptMatches: merges canonical records that turn
 * out to be one person; never steals a target record paired with another source record). A
 * candidate already carrying this record's sync id is preferred, then the oldest id, so repeated
 * runs pick the same record.
 */
async function matchInTarget(deps: ApplyDependencies, target: CrmConnector, input: ApplyToTargetInput, unlinked: readonly LinkedRecord[]): Promise<MatchOutcome> {
  const outcome = emptyMatch();
  const keys = await matchKeysOf(deps.connections, input.targetConnectionId, input.objectType);
  let remaining = [...unlinked];
  for (const field of keys) {
    const withValue = remaining.flatMap((record) => {
      const value = keyValueOf(field, record.fields);
      return value === undefined ? [] : [{ record, value }];
    });
    if (withValue.length === 0) continue;
    const found = await target.findByUniqueKeys(input.objectType, { field, values: [...new Set(withValue.map((entry) => entry.value))] });
    const byValue = new Map<string, ExternalRecord[]>();
    for (const record of found) {
      const value = keyValueOf(field, record.fields);
      if (value !== undefined) byValue.set(value, [...(byValue.get(value) ?? []), record]);
    }
    const requests: (MatchRequest & { value: string })[] = [];
    for (const { record, value } of withValue) {
      const candidates = [...(byValue.get(value) ?? [])].sort((a, b) => rank(a, record) - rank(b, record) || compareIds(a.externalId, b.externalId));
      if (candidates.length > 0) requests.push({ canonicalId: record.canonicalId, sourceExternalId: record.externalId, candidates: candidates.map((candidate) => candidate.externalId), value });
    }
    const results = await deps.links.adoptMatches(input.tenantId, input.objectType, input.sourceConnectionId, input.targetConnectionId, requests);
    results.forEach((result, index) => {
      const request = requests[index] as (typeof requests)[number];
      if (result.status === 'linked') {
        outcome.canonicalIds.set(request.sourceExternalId, result.canonicalId);
        if (result.via === 'match') outcome.matched.add(request.sourceExternalId);
        return;
      }
      outcome.taken.push(takenOutcome(input, target.provider, result.canonicalId, request, field, result.heldBy));
    });
    const handled = new Set(requests.map((request) => request.sourceExternalId));
    remaining = remaining.filter((record) => !handled.has(record.externalId));
  }
  return outcome;
}

/** A connection's match keys for an object (settings.sync.matchKeys, defaults applied). */
function rank(candidate: ExternalRecord, record: LinkedRecord): number {
  return candidate.syncId === record.canonicalId ? 0 : 1;
}

/** Vendor ids in creation order where they are numeric (HubSpot), else as text. */
function compareIds(a: string, b: string): number {
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A target's copy that brought values into canonical records (first contact with a copy that
 * existed before the sync, or an edit met before its own connection reported it) leaves the
 * other connections behind: the canonical records are pushed to each of them, and again to all
 * while a push itself meets a copy that brings something (each copy merged is snapshotted, so
 * this ends). Returns what the pushes could not write, per connection.
 */
export async function spreadContributions(
  deps: ApplyDependencies,
  input: { tenantId: string; objectType: ObjectType; canonicalIds: readonly string[]; from: string; connectionIds: readonly string[]; policies: ObjectConflictPolicies },
  options: Pick<ApplyOptions, 'write'> = {},
): Promise<{ connectionId: string; outcome: RecordOutcome }[]> {
  const failed: { connectionId: string; outcome: RecordOutcome }[] = [];
  let canonicalIds = [...new Set(input.canonicalIds)];
  let connectionIds = input.connectionIds.filter((id) => id !== input.from);
  for (let round = 0; canonicalIds.length > 0 && round < MAX_SPREAD_ROUNDS; round += 1) {
    const contributed = new Set<string>();
    for (const connectionId of connectionIds) {
      for (let offset = 0; offset < canonicalIds.length; offset += PUSH_SLICE) {
        const slice = canonicalIds.slice(offset, offset + PUSH_SLICE);
        const result = await pushCanonical(deps, { tenantId: input.tenantId, objectType: input.objectType, targetConnectionId: connectionId, canonicalIds: slice, policies: input.policies }, options);
        for (const outcome of result.outcomes) if (outcome.status === 'parked') failed.push({ connectionId, outcome });
        for (const id of result.contributed ?? []) contributed.add(id);
      }
    }
    canonicalIds = [...contributed];
    connectionIds = [...input.connectionIds];
  }
  return failed;
}

/** Writes refused over a newer version, tried again this many times in all before parking (someone editing that fast). */
const MAX_VERSION_ROUNDS = 4;

/** Each round merges at least one copy for good; three CRMs settle in two. */
const MAX_SPREAD_ROUNDS = 5;
/** Records per push: one write lock each, well inside PostgreSQL's lock table. */
const PUSH_SLICE = 200;

/**
 * The connections' field histories, where their vendors keep one (CrmConnector.fieldEditTimes):
 * the source's and the target's connectors as the apply holds them; any other connection's (one
 * a canonical value came from) from the registry, once per apply.
 */
function fieldHistories(objectType: ObjectType, connectors: Readonly<Record<string, CrmConnector>>, registry: ConnectorRegistry): FieldEditTimesLookup {
  const others = new Map<string, Promise<CrmConnector | undefined>>();
  return async (connectionId) => {
    let connector = connectors[connectionId];
    if (!connector) {
      // A connection that cannot be built (removed since its value entered the canonical record,
      // or failing now) is not asked: the record stamp stands, as for a vendor that keeps none.
      if (!others.has(connectionId)) others.set(connectionId, registry.forConnection(connectionId).catch(() => undefined));
      connector = await others.get(connectionId);
    }
    const history = connector?.fieldEditTimes?.bind(connector);
    return history && ((requests) => history(objectType, requests));
  };
}

/** The object type a slot of `objectType` refers to. */
function relatedTypeOf(objectType: ObjectType, slot: string): ObjectType {
  const slots: Record<string, { to: ObjectType; many: boolean }> = referenceSlots[objectType];
  return (slots[slot] as { to: ObjectType }).to;
}

/** What the target holds after a write that left `unwritten` fields out: those keep what it held before. */
function withHeld(after: CanonicalFields, before: CanonicalFields, unwritten: readonly string[]): CanonicalFields {
  const holds: CanonicalFields = { ...after };
  for (const path of unwritten) {
    if (path in before) holds[path] = before[path];
    else delete holds[path];
  }
  return holds;
}

/** Canonical ids <-> one target's ids, through its links. */
function referenceLookup(links: RecordLinksRepository, targetConnectionId: string): ReferenceLookup {
  return {
    targetIdsOf: (related) => links.externalIdsIn(targetConnectionId, related.map((item) => item.canonicalId)),
    canonicalIdsOf: (objectType, targetIds) => links.canonicalIdsOf(targetConnectionId, objectType, targetIds),
  };
}

/**
 * Related records the target has no copy of, applied to it from the source before the records
 * that refer to them (companies, then contacts, then deals), so that a deal arrives with its
 * contacts. What still cannot land (refused by the target, say) leaves its links pending.
 */
async function applyDependenciesFirst(deps: ApplyDependencies, input: ApplyToTargetInput, source: CrmConnector, related: ReadonlyMap<ObjectType, ReadonlySet<string>>, options: ApplyOptions): Promise<void> {
  for (const objectType of dependencyOrder) {
    const ids = related.get(objectType);
    if (!ids || ids.size === 0) continue;
    const inTarget = await deps.links.externalIdsIn(input.targetConnectionId, [...ids]);
    const missing = [...ids].filter((id) => !inTarget.has(id));
    if (missing.length === 0) continue;
    const sourceLinks = (await deps.links.linksIn(input.sourceConnectionId, missing)).filter((link) => link.objectType === objectType && !link.archivedAt);
    if (sourceLinks.length === 0) continue;
    const readAt = await deps.links.databaseNow();
    const canonicalOf = new Map(sourceLinks.map((link) => [link.externalId, link.canonicalId]));
    const records = (await source.readRecords(objectType, [...canonicalOf.keys()])).flatMap((record) => {
      const canonicalId = canonicalOf.get(record.externalId);
      return canonicalId ? [{ ...record, canonicalId, readAt }] : [];
    });
    if (records.length === 0) continue;
    const policies = await conflictPoliciesOf(deps.connections, input.sourceConnectionId, objectType);
    await applyToTarget(deps, { ...input, objectType, records, policies }, options);
  }
}

/**
 * Records that just landed in the target may be what other records' links there waited for:
 * those holders are pushed to the target again, now with every link it can hold. So are this
 * batch's own records whose links were left waiting for a record that landed meanwhile (another
 * worker's apply, which looked for waiting holders before ours were saved).
 */
async function writeWaitingHolders(deps: ApplyDependencies, tenantId: string, targetConnectionId: string, outcomes: readonly RecordOutcome[]): Promise<void> {
  const landed = outcomes.flatMap((outcome) => (outcome.status === 'created' || (outcome.status === 'updated' && outcome.matched) ? [outcome.canonicalId] : []));
  const written = outcomes.flatMap((outcome) => (outcome.status === 'created' || outcome.status === 'updated' || outcome.status === 'echo' ? [outcome.canonicalId] : []));
  const found = [...(await deps.pending.holdersWaitingFor(targetConnectionId, landed)), ...(await deps.pending.holdersNowResolvable(targetConnectionId, written))];
  const holders = [...new Map(found.map((holder) => [holder.holderCanonicalId, holder])).values()];
  for (const objectType of dependencyOrder) {
    const canonicalIds = holders.filter((holder) => holder.holderObjectType === objectType).map((holder) => holder.holderCanonicalId);
    if (canonicalIds.length === 0) continue;
    const policies = await conflictPoliciesOf(deps.connections, targetConnectionId, objectType);
    await pushCanonical(deps, { tenantId, objectType, targetConnectionId, canonicalIds, policies });
    // A holder deleted from the target meanwhile has nothing left to wait for.
    const linked = await deps.links.externalIdsIn(targetConnectionId, canonicalIds);
    await deps.pending.forgetHolders(targetConnectionId, canonicalIds.filter((id) => !linked.has(id)));
  }
}

/**
 * What the target holds after a write, for its snapshot: what was asked, except values the
 * connector says it cut or left out (`written`) and slots it could not write (`adjusted` naming
 * `references.<slot>`, e.g. a Dataverse task regarding a deal cannot also regard a company).
 */
function holdsAfter(step: ReconcileStep, result: Extract<UpsertOutcome, { status: 'created' | 'updated' | 'unchanged' }>): CanonicalFields {
  const links = Object.fromEntries(Object.entries(step.holdsAfterWrite).filter(([path]) => isReferenceField(path)));
  const holds = result.written ? overlayFields(step.holdsBeforeWrite, { ...result.written, ...links }) : step.holdsAfterWrite;
  const dropped = new Set((result.adjusted ?? []).flatMap((what) => (what.startsWith('references.') ? [what.slice('references.'.length)] : [])));
  if (dropped.size === 0) return holds;
  const kept: CanonicalFields = {};
  for (const [path, value] of Object.entries(holds)) if (!isReferenceField(path) || !dropped.has(referenceSlotOf(path))) kept[path] = value;
  for (const [path, value] of Object.entries(step.holdsBeforeWrite)) if (isReferenceField(path) && dropped.has(referenceSlotOf(path))) kept[path] = value;
  return kept;
}

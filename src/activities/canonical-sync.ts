import type { ExternalRecord, FieldEditTimesRequest } from '../connectors/connector';
import { referenceSlots, type CanonicalFields, type References } from '../model/canonical';
import type { CrmProvider, ObjectType } from '../model/identifiers';
import {
  canonicalWrites,
  changedUnderHeldStamp,
  emptyCanonicalRecord,
  fieldsLosingToRecordStamp,
  fieldsWinningByRecordStamp,
  hasFields,
  mergeObservation,
  observedReferenceFields,
  overlayFields,
  referencedIds,
  referencesHeld,
  unreadReferenceFields,
  sameValue,
  stampPrecisionMs,
  withFieldEditTimes,
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
   * Any connection's field history (CrmConnector.fieldEditTimes), asked only about fields whose
   * record stamp cannot tell when they changed and would decide a conflict: the source's and the
   * target's reads, and the connection a canonical value came from (timesBeforeMerge).
   */
  fieldEditTimes?: FieldEditTimesLookup | undefined;
  /**
   * Edits an earlier round's write replaced in the target and its connector put back, by target
   * external id: when each of those fields was edited (the record stamp is our put-back's).
   */
  targetEditTimes?: ReadonlyMap<string, Readonly<Record<string, string>>> | undefined;
  /** Canonical ids <-> the target's ids of related records, for the associations read and written. */
  references: ReferenceLookup;
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
    /** The source read's references as canonical ids (slots it could not name left out). */
    sourceReferences?: References | undefined;
    sourceState: SyncedState | undefined;
    /** The record's link (and snapshot) in the target; undefined when it is not there yet. */
    targetState: SyncedState | undefined;
    /** Written even with no field to change (a matched record must carry the sync id). */
    mustWrite: boolean;
  }[];
}

/**
 * Related records' ids in the target: both look-ups answer only what is linked there. Asked once
 * before the target's copies are read (every id the records refer to) and, after the read, only
 * for ids the target names that nothing referred to before (a link someone just made there).
 */
export interface ReferenceLookup {
  targetIdsOf(related: readonly { objectType: ObjectType; canonicalId: string }[]): Promise<Map<string, string>>;
  canonicalIdsOf(objectType: ObjectType, targetIds: readonly string[]): Promise<Map<string, string>>;
}

/** A connection's field history, or undefined where its vendor keeps none (nothing is asked there). */
export type FieldEditTimesLookup = (connectionId: string) => Promise<FieldHistory | undefined>;

/** When the fields asked last changed, by external id (CrmConnector.fieldEditTimes). */
export type FieldHistory = (requests: FieldEditTimesRequest[]) => Promise<ReadonlyMap<string, Readonly<Record<string, string>>>>;

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
  /** Written even with nothing to change (a matched record must carry the sync id). */
  mustWrite: boolean;
  /** The target's links per slot, in its ids: as read, else as last known. */
  targetReferences: References;
  /** A related record's id in the target, where it has a copy there. */
  targetIdOf: (canonicalId: string) => string | undefined;
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
  /** More to save in the same transaction (links left pending). */
  statements?: string[] | undefined;
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
      // Every related record the records name (as merged so far, as the source read them, as the
      // target last held them), in the target's ids, before the read: nothing but the merge
      // should run between the target's read and its write.
      const related = input.records.flatMap((item) => [
        ...referencedIds(objectType, records.get(item.canonicalId)?.fields),
        ...referencedIds(objectType, item.targetState?.snapshot?.fields),
        ...referencedIds(objectType, observedReferenceFields(objectType, item.sourceReferences ?? {}, undefined)),
      ]);
      const targetIds = related.length > 0 ? await input.references.targetIdsOf(related) : new Map<string, string>();
      const fieldTimes: FieldTimes = new Map();
      // The source's field history too: it needs nothing of the target's read, and every call made
      // after that read widens the window in which an edit there goes unseen by our write.
      const canonicalOf = (canonicalId: string) => records.get(canonicalId) ?? emptyCanonicalRecord();
      const source = input.source;
      const copies = copiesIn(deps.links, input);
      if (source) {
        const reads = input.records.flatMap((item) => (item.record ? [{ canonicalId: item.canonicalId, read: item.record, state: item.sourceState, askOwn: true }] : []));
        fieldTimes.set(source.connectionId, await timesBeforeMerge(input, records, source, reads, copies));
      }
      const current = await input.readTarget(input.records.flatMap((item) => (item.targetState ? [item.targetState.link.externalId] : [])));
      const targetCanonical = await canonicalReferencesOf(objectType, current, { related, targetIds }, input.references);
      const snapshots: SyncedStateWrite[] = [];
      const decisions: ConflictDecision[] = [];
      const steps: ReconcileStep[] = [];
      const targetIdOf = (canonicalId: string) => targetIds.get(canonicalId);
      const observe = (
        canonicalId: string,
        canonical: CanonicalRecordState,
        connection: { connectionId: string; provider: CrmProvider },
        state: SyncedState | undefined,
        read: ExternalRecord,
        references: References | undefined,
        linkSaved: boolean,
      ) => {
        const held = state?.snapshot;
        if (held?.sourceModifiedAt && Date.parse(read.modifiedAt) < held.sourceModifiedAt.getTime()) return { canonical, stale: true, refused: false, accepted: false, observed: read.fields };
        const fieldAt = fieldTimes.get(connection.connectionId)?.get(read.externalId);
        const links = references ? observedReferenceFields(objectType, references, held?.fields) : {};
        const observed = { ...read.fields, ...links };
        const merged = mergeObservation(canonical, { connectionId: connection.connectionId, at: read.modifiedAt, precisionMs: stampPrecisionMs(connection.provider, read.modifiedAt), fields: observed, held: held?.fields, fieldAt }, policies);
        for (const decision of merged.decisions) decisions.push({ tenantId, objectType, canonicalId, ...decision });
        // Slots and fields this read did not carry keep what the connection was last known to hold:
        // absent is "not read" (an owner outside the connection's owner map), never "gone", so the
        // next write does not put the canonical value back over what the connection holds.
        const saved = { ...unreadFields(held?.fields, observed), ...observed, ...unreadReferenceFields(objectType, references ?? {}, held?.fields) };
        if (state && (!held || !sameValue(held.fields, saved) || held.sourceModifiedAt?.getTime() !== Date.parse(read.modifiedAt))) {
          snapshots.push({ link: state.link, fields: saved, sourceModifiedAt: new Date(read.modifiedAt), linkSaved });
        }
        return { canonical: merged.canonical, stale: false, refused: merged.refused.length > 0, accepted: merged.accepted.length > 0, observed };
      };

      // The source's reads first, then the target's: a target copy's fields are measured against
      // the canonical record as the source's read left it.
      const included = input.records.filter((item) => !input.onlyWhereFound || (item.targetState !== undefined && current.has(item.targetState.link.externalId)));
      const fromSources = new Map<string, { stale: boolean; refused: boolean }>();
      for (const item of included) {
        const { canonicalId, record } = item;
        if (!record || !source) continue;
        const sourceLink = item.sourceState ?? { link: { canonicalId, tenantId, objectType, connectionId: source.connectionId, externalId: record.externalId }, snapshot: undefined };
        const observed = observe(canonicalId, canonicalOf(canonicalId), source, sourceLink, record, item.sourceReferences, item.sourceState !== undefined);
        records.set(canonicalId, observed.canonical);
        fromSources.set(canonicalId, observed);
      }
      fieldTimes.set(input.target.connectionId, await targetFieldTimes(input, records, included, current, copies));

      for (const item of included) {
        const { canonicalId, record, targetState } = item;
        const targetRecord = targetState ? current.get(targetState.link.externalId) : undefined;
        let canonical = canonicalOf(canonicalId);
        const fromSource = fromSources.get(canonicalId) ?? { stale: false, refused: false };
        let targetContributed = false;
        let targetObserved: CanonicalFields | undefined;
        if (targetRecord && targetState) {
          const observed = observe(canonicalId, canonical, input.target, targetState, targetRecord, targetCanonical.get(targetRecord.externalId), true);
          canonical = observed.canonical;
          targetContributed = observed.accepted;
          targetObserved = observed.observed;
        }
        records.set(canonicalId, canonical);

        // A copy the target should have but was not found there is written whole.
        const holds = targetRecord ? { current: targetObserved ?? targetRecord.fields, held: targetState?.snapshot?.fields } : { current: undefined, held: undefined };
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
          mustWrite: item.mustWrite,
          targetReferences: targetRecord ? targetRecord.references : referencesHeld(objectType, holds.held, targetIdOf),
          targetIdOf,
        });
      }
      const written = await input.carryOut(steps);
      // Saved with the canonical records, in the round trip of the COMMIT. In order: what the
      // copies held when read, then what the target holds after our write (the later stands).
      const writes = [...deps.links.syncedStatesWrites([...snapshots, ...written.synced]), ...deps.conflicts.recordStatements(decisions), ...(written.statements ?? [])];
      return { records, result: { steps, conflicts: decisions.length, written }, writes };
    },
  );
}

type FieldTimes = Map<string, ReadonlyMap<string, Readonly<Record<string, string>>>>;

/**
 * The fields of one read whose own edit times the merge needs, where the record stamp cannot
 * tell: fields changed under the stamp of the copy last held (someone edited another field
 * between our read and our write), and fields that would win a true conflict only by the record
 * stamp (a copy met at first contact or under a later stamp: canonical-merge.ts,
 * fieldsWinningByRecordStamp). `alsoFields`: fields that may win once the canonical value's own
 * edit time replaces the record stamp it entered under. A stale read merges nothing and needs none.
 */
function timeRequest(
  read: ExternalRecord,
  state: SyncedState | undefined,
  canonical: CanonicalRecordState,
  connection: { connectionId: string; provider: CrmProvider },
  policies: ObjectConflictPolicies,
  alsoFields: readonly string[] = [],
): FieldEditTimesRequest[] {
  const observation = observationOf(read, state, connection);
  if (!observation) return [];
  const fields = [...new Set([...changedUnderHeldStamp(read, state?.snapshot), ...fieldsWinningByRecordStamp(canonical, observation, policies), ...alsoFields])];
  return fields.length > 0 ? [{ externalId: read.externalId, fields }] : [];
}

/** A read as the merge observes it (without field times); undefined when stale (older than the copy last held). */
function observationOf(read: ExternalRecord, state: SyncedState | undefined, connection: { connectionId: string; provider: CrmProvider }) {
  const held = state?.snapshot;
  if (held?.sourceModifiedAt && Date.parse(read.modifiedAt) < held.sourceModifiedAt.getTime()) return undefined;
  return { connectionId: connection.connectionId, at: read.modifiedAt, precisionMs: stampPrecisionMs(connection.provider, read.modifiedAt), fields: read.fields, held: held?.fields };
}

/** A record's copy in a connection: its external id there, when it has one. */
type CopiesIn = (connectionId: string, canonicalIds: readonly string[]) => Promise<ReadonlyMap<string, string>>;

/** The source's and the target's copies from the records' links; any other connection's from the store. */
function copiesIn(links: RecordLinksRepository, input: ReconcileInput): CopiesIn {
  return async (connectionId, canonicalIds) => {
    const known = new Map<string, string>();
    for (const item of input.records) {
      if (!canonicalIds.includes(item.canonicalId)) continue;
      const externalId =
        connectionId === input.source?.connectionId ? (item.record?.externalId ?? item.sourceState?.link.externalId) : connectionId === input.target.connectionId ? item.targetState?.link.externalId : undefined;
      if (externalId !== undefined) known.set(item.canonicalId, externalId);
    }
    const unknown = canonicalIds.filter((id) => !known.has(id));
    return unknown.length > 0 ? new Map([...known, ...(await links.externalIdsIn(connectionId, unknown))]) : known;
  };
}

/**
 * Before one connection's reads are merged, the field edit times the merge needs, asked at once
 * (one round trip): of the connection's own history, the fields of timeRequest; of the history of
 * each connection a canonical value came from under its record stamp, the fields a read would
 * lose only by that stamp (canonical-merge.ts, fieldsLosingToRecordStamp: the copy met first
 * under a later stamp, the later edit of the field met after it). Those field times replace the
 * stamps in `records` (withFieldEditTimes); the read's own times are returned, by external id.
 * Nothing is asked where no conflict turns on a record stamp.
 */
async function timesBeforeMerge(
  input: ReconcileInput,
  records: Map<string, CanonicalRecordState>,
  connection: { connectionId: string; provider: CrmProvider },
  reads: readonly { canonicalId: string; read: ExternalRecord; state: SyncedState | undefined; askOwn: boolean }[],
  copies: CopiesIn,
): Promise<ReadonlyMap<string, Readonly<Record<string, string>>>> {
  const own = await input.fieldEditTimes?.(connection.connectionId);
  const ownRequests: FieldEditTimesRequest[] = [];
  /** By the connection a value came from: canonical id -> fields asked. */
  const origins = new Map<string, Map<string, string[]>>();
  for (const { canonicalId, read, state, askOwn } of reads) {
    const canonical = records.get(canonicalId) ?? emptyCanonicalRecord();
    const observation = observationOf(read, state, connection);
    if (!observation) continue;
    const losing = fieldsLosingToRecordStamp(canonical, observation, input.policies);
    for (const [origin, fields] of losing) {
      const byRecord = origins.get(origin) ?? new Map<string, string[]>();
      origins.set(origin, byRecord.set(canonicalId, fields));
    }
    if (own && askOwn) ownRequests.push(...timeRequest(read, state, canonical, connection, input.policies, [...losing.values()].flat()));
  }
  const asked = Promise.all(
    [...origins].map(async ([origin, byRecord]) => {
      const history = await input.fieldEditTimes?.(origin);
      if (!history) return;
      const externalIds = await copies(origin, [...byRecord.keys()]);
      const requests = [...byRecord].flatMap(([canonicalId, fields]) => {
        const externalId = externalIds.get(canonicalId);
        return externalId === undefined ? [] : [{ canonicalId, externalId, fields }];
      });
      if (requests.length === 0) return;
      const times = await history(requests.map(({ externalId, fields }) => ({ externalId, fields })));
      for (const { canonicalId, externalId, fields } of requests) {
        const canonical = records.get(canonicalId);
        if (canonical) records.set(canonicalId, withFieldEditTimes(canonical, origin, fields, times.get(externalId) ?? {}));
      }
    }),
  );
  const [times] = await Promise.all([own && ownRequests.length > 0 ? own(ownRequests) : new Map<string, Readonly<Record<string, string>>>(), asked]);
  return times;
}

/**
 * The target copies' field edit times, by external id: for copies whose edits an earlier round put
 * back, the times their connector gave then; for the others, from the target's field history
 * (with the canonical values' own times where a conflict turns on their record stamps).
 */
async function targetFieldTimes(
  input: ReconcileInput,
  records: Map<string, CanonicalRecordState>,
  items: ReconcileInput['records'],
  current: ReadonlyMap<string, ExternalRecord>,
  copies: CopiesIn,
): Promise<ReadonlyMap<string, Readonly<Record<string, string>>>> {
  const putBack = new Map<string, Readonly<Record<string, string>>>();
  const reads: { canonicalId: string; read: ExternalRecord; state: SyncedState | undefined; askOwn: boolean }[] = [];
  for (const item of items) {
    const externalId = item.targetState?.link.externalId;
    if (externalId === undefined) continue;
    const known = input.targetEditTimes?.get(externalId);
    const read = current.get(externalId);
    if (known) putBack.set(externalId, known);
    if (read) reads.push({ canonicalId: item.canonicalId, read, state: item.targetState, askOwn: !known });
  }
  const asked = await timesBeforeMerge(input, records, input.target, reads, copies);
  return putBack.size > 0 ? new Map([...asked, ...putBack]) : asked;
}

/**
 * The target copies' references as canonical ids, by external id. Ids known from before the
 * read are translated at once; one the target names that nothing referred to (a link someone made
 * there just now) is looked up; one not linked at all is left out (not read): the target's own
 * workflow meets it with its dependency.
 */
export async function canonicalReferencesOf(
  objectType: ObjectType,
  copies: ReadonlyMap<string, ExternalRecord>,
  before: { related: readonly { objectType: ObjectType; canonicalId: string }[]; targetIds: ReadonlyMap<string, string> },
  lookup: ReferenceLookup,
): Promise<Map<string, References>> {
  const slots: Record<string, { to: ObjectType; many: boolean }> = referenceSlots[objectType];
  // By type and id: a vendor numbers each object on its own (Pipedrive's organization 1 and
  // person 1), so an id alone may name a company and a contact.
  const key = (type: ObjectType, targetId: string) => `${type}:${targetId}`;
  const known = new Map<string, string>();
  for (const { objectType: type, canonicalId } of before.related) {
    const targetId = before.targetIds.get(canonicalId);
    if (targetId !== undefined) known.set(key(type, targetId), canonicalId);
  }
  const unknown = new Map<ObjectType, Set<string>>();
  for (const copy of copies.values()) {
    for (const [slot, value] of Object.entries(copy.references)) {
      const spec = slots[slot];
      if (!spec || value === null) continue;
      for (const id of Array.isArray(value) ? value : [value]) {
        if (known.has(key(spec.to, id))) continue;
        const set = unknown.get(spec.to) ?? new Set<string>();
        unknown.set(spec.to, set.add(id));
      }
    }
  }
  for (const [type, ids] of unknown) for (const [targetId, canonicalId] of await lookup.canonicalIdsOf(type, [...ids])) known.set(key(type, targetId), canonicalId);
  const translated = new Map<string, References>();
  for (const copy of copies.values()) {
    const references: References = {};
    for (const [slot, value] of Object.entries(copy.references)) {
      const spec = slots[slot];
      if (!spec) continue;
      if (value === null || (Array.isArray(value) && value.length === 0)) {
        references[slot] = spec.many ? [] : null;
        continue;
      }
      const ids = (Array.isArray(value) ? value : [value]).map((id) => known.get(key(spec.to, id)));
      if (spec.many) references[slot] = ids.filter((id): id is string => id !== undefined);
      else if (ids[0] !== undefined) references[slot] = ids[0];
    }
    translated.set(copy.externalId, references);
  }
  return translated;
}

/** Plain fields a snapshot held that a read did not carry (reference slots are kept by unreadReferenceFields). */
function unreadFields(held: CanonicalFields | undefined, observed: CanonicalFields): CanonicalFields {
  if (!held) return {};
  return Object.fromEntries(Object.entries(held).filter(([path]) => !path.startsWith('@') && !(path in observed)));
}

import type { CanonicalFields } from '../canonical';
import { policyFor, type ConflictPolicy, type ObjectConflictPolicies } from './conflict-policy';
import { compareEditTimes, type EditTime } from './edit-time';
import { flattenFields, isEmptyValue, sameValue, unflattenFields } from './values';

/**
 * The canonical record (docs/architecture.md, "Canonical record"): one per canonical id, holding
 * for each field the value every CRM should hold and where that value came from. Pure functions
 * only; the store keeps these as plain JSON.
 */

/**
 * Where a canonical field's value came from: the connection whose edit it is, and when that edit
 * was made there. `recordStamp`: the time is the stamp of the record as read (vendors stamp
 * records, not fields), so the field's own edit may be older: where that connection keeps a field
 * history, it is asked once a later observation would lose the field only by this time
 * (fieldsLosingToRecordStamp, withFieldEditTimes).
 */
export interface FieldProvenance extends EditTime {
  recordStamp?: true | undefined;
}

export interface CanonicalRecordState {
  fields: CanonicalFields;
  /** By flattened field path (`email`, `custom.tier`); absent for values older than provenance. */
  provenance: Record<string, FieldProvenance>;
}

/** A record as one connection holds it now, read from that CRM. */
export interface Observation extends EditTime {
  fields: CanonicalFields;
  /**
   * What this connection held when we last read or wrote it (its snapshot): the base its own
   * changes are measured against. Undefined on first contact.
   */
  held: CanonicalFields | undefined;
  /**
   * A field's own edit time where the vendor keeps one finer than its record stamp (by canonical
   * field path): that field competes under it instead of `at`.
   */
  fieldAt?: Readonly<Record<string, string>> | undefined;
}

export interface FieldDecision {
  field: string;
  policy: ConflictPolicy['kind'];
  candidates: { connectionId: string; value: unknown; modifiedAt: string | null }[];
  /** The connection whose value stands; null when neither (a third connection owns the field). */
  winnerConnectionId: string | null;
  decidedValue: unknown;
}

export interface MergeResult {
  canonical: CanonicalRecordState;
  /** Fields whose canonical value this observation set. */
  accepted: string[];
  /** Changes of this connection that the field's policy kept out of the canonical record. */
  refused: string[];
  /** True conflicts (this connection changed a value it had not yet received) and how each was decided. */
  decisions: FieldDecision[];
}

export const emptyCanonicalRecord = (): CanonicalRecordState => ({ fields: {}, provenance: {} });

/**
 * Merges what one connection holds into the canonical record. Only that connection's own changes
 * count: fields that differ from what it last held (its snapshot). A value we wrote there comes
 * back equal to the snapshot and changes nothing; an empty value from a connection that never
 * held the field erases nothing. A change made while the connection held the canonical value is
 * a successor edit and stands (policy permitting); a change made to a value it had not received
 * yet competes with that value by the field's policy, and the decision is returned for the audit.
 */
export function mergeObservation(canonical: CanonicalRecordState, observation: Observation, policies: ObjectConflictPolicies): MergeResult {
  const incoming = flattenFields(observation.fields);
  const held = observation.held === undefined ? undefined : flattenFields(observation.held);
  const values = flattenFields(canonical.fields);
  const provenance = { ...canonical.provenance };
  const recordEdit: FieldProvenance = { connectionId: observation.connectionId, at: observation.at, precisionMs: observation.precisionMs, recordStamp: true };
  const result: Omit<MergeResult, 'canonical'> = { accepted: [], refused: [], decisions: [] };

  for (const [field, value] of incoming) {
    const edit = fieldEdit(recordEdit, observation.fieldAt?.[field]);
    const heldBefore = held?.has(field) ?? false;
    if (heldBefore && sameValue(value, held?.get(field))) continue;
    if (!heldBefore && isEmptyValue(value)) continue;
    const hasCurrent = values.has(field);
    const current = values.get(field);
    const policy = policyFor(policies, field);
    const origin = provenance[field];
    if (hasCurrent && sameValue(value, current)) {
      // The same value set again: the later of the two edits is what a competing edit must beat.
      if (policy.kind !== 'owner' && origin && origin.connectionId !== edit.connectionId && decideConflict(policy, edit, origin) === edit.connectionId) provenance[field] = edit;
      continue;
    }

    const successor = !hasCurrent || (heldBefore && sameValue(held?.get(field), current)) || origin?.connectionId === observation.connectionId;
    let accept: boolean;
    if (successor) {
      accept = allowsEdit(policy, observation.connectionId);
      if (!accept) result.refused.push(field);
    } else {
      const winner = decideConflict(policy, edit, origin);
      accept = winner === edit.connectionId;
      result.decisions.push({
        field,
        policy: policy.kind,
        candidates: [
          { connectionId: edit.connectionId, value, modifiedAt: edit.at },
          { connectionId: origin?.connectionId ?? 'unknown', value: current ?? null, modifiedAt: origin?.at ?? null },
        ],
        winnerConnectionId: accept ? edit.connectionId : policy.kind === 'owner' && policy.connectionId !== origin?.connectionId ? null : (origin?.connectionId ?? null),
        decidedValue: accept ? value : (current ?? null),
      });
      if (!accept) result.refused.push(field);
    }
    if (accept) {
      values.set(field, value);
      provenance[field] = edit;
      result.accepted.push(field);
    }
  }
  return { canonical: { fields: unflattenFields(values), provenance }, ...result };
}

/**
 * The fields of an observation that win a true conflict only by its record stamp: a copy met at
 * first contact or under a later stamp, holding a value other than the canonical one, whose
 * record someone saved after the canonical value's edit. Vendors stamp records, not fields: an
 * edit of another field moves the stamp, and a value untouched since the record was created
 * would beat a later edit elsewhere. Where the connection keeps a field history, these fields
 * compete under their own edit times instead (a field time is never later than the record stamp,
 * so a field that loses under the stamp needs none).
 */
export function fieldsWinningByRecordStamp(canonical: CanonicalRecordState, observation: Omit<Observation, 'fieldAt'>, policies: ObjectConflictPolicies): string[] {
  return mergeObservation(canonical, observation, policies)
    .decisions.filter((decision) => decision.policy !== 'owner' && decision.winnerConnectionId === observation.connectionId)
    .map((decision) => decision.field);
}

/**
 * The fields of an observation that lose a true conflict only by the time of the canonical value's
 * provenance, where that time is the record stamp of the copy it came from (`recordStamp`): that
 * value may be untouched since long before the stamp (a person edited another field of that
 * record). By the connection the values came from: its field history can tell (withFieldEditTimes).
 * The reverse of fieldsWinningByRecordStamp: the copy met first under a later stamp, the later
 * edit of the field met after it.
 */
export function fieldsLosingToRecordStamp(canonical: CanonicalRecordState, observation: Omit<Observation, 'fieldAt'>, policies: ObjectConflictPolicies): Map<string, string[]> {
  const byConnection = new Map<string, string[]>();
  if (observation.at === null) return byConnection;
  for (const decision of mergeObservation(canonical, observation, policies).decisions) {
    const origin = canonical.provenance[decision.field];
    if (decision.policy === 'owner' || !origin?.recordStamp || origin.at === null || decision.winnerConnectionId !== origin.connectionId) continue;
    byConnection.set(origin.connectionId, [...(byConnection.get(origin.connectionId) ?? []), decision.field]);
  }
  return byConnection;
}

/**
 * The canonical record with the field edit times a connection's history gave (by field path) for
 * the fields asked, in place of the record stamps their values entered under. A time later than
 * the stamp means the field changed there since it was read (its next read brings that change):
 * the stamp stays, still to be asked. A field the history could not tell keeps its stamp, asked
 * no more.
 */
export function withFieldEditTimes(canonical: CanonicalRecordState, connectionId: string, asked: readonly string[], times: Readonly<Record<string, string>>): CanonicalRecordState {
  let provenance: Record<string, FieldProvenance> | undefined;
  for (const field of asked) {
    const origin = canonical.provenance[field];
    if (!origin?.recordStamp || origin.connectionId !== connectionId || origin.at === null) continue;
    const at = times[field];
    const ms = at === undefined ? Number.NaN : Date.parse(at);
    if (!Number.isNaN(ms) && ms > Date.parse(origin.at)) continue;
    provenance ??= { ...canonical.provenance };
    provenance[field] = { connectionId, at: at === undefined || Number.isNaN(ms) ? origin.at : at, precisionMs: origin.precisionMs };
  }
  return provenance ? { fields: canonical.fields, provenance } : canonical;
}

/** A field's own edit time, when it has one no later than its record's stamp (which covers every field's edit). */
function fieldEdit(record: FieldProvenance, at: string | undefined): FieldProvenance {
  if (at === undefined || record.at === null) return record;
  const ms = Date.parse(at);
  return Number.isNaN(ms) || ms > Date.parse(record.at) ? record : { connectionId: record.connectionId, at, precisionMs: record.precisionMs };
}

/**
 * What a connection must receive so that it holds the canonical record: canonical values that
 * differ from what it holds (`current`, as just read, else `held`, what we last wrote or read).
 * Empty canonical values are written only where a person erased the field (provenance says who);
 * `fill-empty` fields only where the connection has no value.
 */
export function canonicalWrites(
  canonical: CanonicalRecordState,
  holds: { current: CanonicalFields | undefined; held: CanonicalFields | undefined },
  policies: ObjectConflictPolicies,
): CanonicalFields {
  const current = holds.current === undefined ? undefined : flattenFields(holds.current);
  const held = holds.held === undefined ? undefined : flattenFields(holds.held);
  const write = new Map<string, unknown>();
  for (const [field, value] of flattenFields(canonical.fields)) {
    const known = current?.has(field) ? { value: current.get(field) } : held?.has(field) ? { value: held.get(field) } : undefined;
    if (known && sameValue(value, known.value)) continue;
    if (isEmptyValue(value) && (!known || isEmptyValue(known.value) || !canonical.provenance[field])) continue;
    if (policyFor(policies, field).kind === 'fill-empty' && known && !isEmptyValue(known.value)) continue;
    write.set(field, value);
  }
  return unflattenFields(write);
}

/**
 * An edit made on top of the canonical value: only `owner` refuses it. (`fill-empty` keeps the
 * latest value too; it is the writes that never overwrite a value a connection holds.)
 */
function allowsEdit(policy: ConflictPolicy, connectionId: string): boolean {
  return policy.kind !== 'owner' || policy.connectionId === connectionId;
}

/**
 * Two concurrent edits of one field: the winner's connection id. `latest` (and `fill-empty`, for
 * the value it fills empty fields with) compares the edits' times at their clocks' precision; a
 * tie goes to the priority list, then to the smaller connection id, so every worker and every
 * ordering of arrivals decides alike.
 */
function decideConflict(policy: ConflictPolicy, edit: EditTime, origin: EditTime | undefined): string | undefined {
  switch (policy.kind) {
    case 'owner':
      return policy.connectionId === edit.connectionId ? edit.connectionId : origin?.connectionId;
    case 'fill-empty':
    case 'latest': {
      if (!origin) return edit.connectionId;
      const order = compareEditTimes(edit, origin);
      if (order !== 0) return order > 0 ? edit.connectionId : origin.connectionId;
      const priority = policy.kind === 'latest' ? policy.priority : [];
      const rank = (id: string): number => {
        const index = priority.indexOf(id);
        return index === -1 ? Number.MAX_SAFE_INTEGER : index;
      };
      const byRank = rank(edit.connectionId) - rank(origin.connectionId);
      if (byRank !== 0) return byRank < 0 ? edit.connectionId : origin.connectionId;
      return edit.connectionId < origin.connectionId ? edit.connectionId : origin.connectionId;
    }
  }
}

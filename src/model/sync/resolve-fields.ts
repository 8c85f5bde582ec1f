import type { CanonicalFields } from '../canonical';
import { policyFor, type ConflictPolicy, type ObjectConflictPolicies } from './conflict-policy';
import { flattenFields, isEmptyValue, sameValue, unflattenFields } from './values';

/** One side of a sync step: the record as a connection holds it, and when it last changed there. */
export interface SyncSide {
  connectionId: string;
  fields: CanonicalFields;
  /** ISO modstamp of the record in that CRM. */
  modifiedAt: string | null;
}

export interface ResolveFieldsInput {
  source: SyncSide;
  /** The target's current record; undefined when the record does not exist there yet. */
  target: SyncSide | undefined;
  /** What was last synced with the target (its snapshot); undefined before the first sync. */
  snapshot: CanonicalFields | undefined;
  /**
   * What was last synced with the source (its own snapshot): the base of the source's changes.
   * Defaults to `snapshot`, which is the same thing once both sides have synced. They differ
   * while one direction has not caught up (or skipped a stale read), and measuring the source
   * against the target's snapshot then mistakes every difference, empty fields included, for a
   * change of the source, overwriting the target's newer values.
   */
  sourceSnapshot?: CanonicalFields | undefined;
  policies: ObjectConflictPolicies;
}

export interface FieldDecision {
  field: string;
  policy: ConflictPolicy['kind'];
  candidates: { connectionId: string; value: unknown; modifiedAt: string | null }[];
  /** The connection whose value stands; null when neither (a third connection owns the field). */
  winnerConnectionId: string | null;
  decidedValue: unknown;
}

export interface ResolvedFields {
  /** Fields to write to the target; empty = nothing to do. */
  write: CanonicalFields;
  /** Fields both sides changed since the snapshot, and how each was decided (for the audit). */
  decisions: FieldDecision[];
  /**
   * No field the source holds differs from what the target has or last received from us: our own
   * write coming back (or a no-op edit). It must stop here, or changes ping-pong. (A change that
   * policies refuse is not an echo: `write` is empty but `echo` is false.)
   */
  echo: boolean;
}

/**
 * Decides, field by field, what a change from `source` writes to `target`. Pure: the engine feeds
 * it the snapshot and the target's current values it loaded, and records the decisions it returns.
 */
export function resolveFields({ source, target, snapshot, sourceSnapshot = snapshot, policies }: ResolveFieldsInput): ResolvedFields {
  const incoming = flattenFields(source.fields);
  const sourceBase = sourceSnapshot === undefined ? undefined : flattenFields(sourceSnapshot);
  const base = snapshot === undefined ? undefined : flattenFields(snapshot);
  const current = target === undefined ? undefined : flattenFields(target.fields);
  const write = new Map<string, unknown>();
  const decisions: FieldDecision[] = [];
  let differing = 0;

  for (const [field, value] of incoming) {
    const last = base?.get(field);
    const now = current?.get(field);
    // The source still holds what it held when last synced: not a change of the source.
    if (sourceBase !== undefined && sourceBase.has(field) && sameValue(value, sourceBase.get(field))) continue;
    // The target already holds it (both sides made the same edit, or it was synced another way).
    if (current !== undefined && current.has(field) && sameValue(value, now)) continue;
    differing += 1;

    const policy = policyFor(policies, field);
    const targetChanged = base !== undefined && current !== undefined && current.has(field) && !sameValue(now, last);
    if (!targetChanged || target === undefined) {
      if (allowsWithoutConflict(policy, source.connectionId, now)) write.set(field, value);
      continue;
    }

    const decision = decideConflict(policy, { ...source, value }, { ...target, value: now });
    decisions.push({ field, policy: policy.kind, ...decision, candidates: [
      { connectionId: source.connectionId, value, modifiedAt: source.modifiedAt },
      { connectionId: target.connectionId, value: now, modifiedAt: target.modifiedAt },
    ] });
    if (decision.winnerConnectionId === source.connectionId) write.set(field, value);
  }

  return { write: unflattenFields(write), decisions, echo: differing === 0 };
}

/** Only one side changed the field: owner and fill-empty can still refuse the write. */
function allowsWithoutConflict(policy: ConflictPolicy, sourceConnectionId: string, targetValue: unknown): boolean {
  switch (policy.kind) {
    case 'owner':
      return policy.connectionId === sourceConnectionId;
    case 'fill-empty':
      return isEmptyValue(targetValue);
    case 'latest':
      return true;
  }
}

interface Candidate {
  connectionId: string;
  value: unknown;
  modifiedAt: string | null;
}

function decideConflict(policy: ConflictPolicy, source: Candidate, target: Candidate): { winnerConnectionId: string | null; decidedValue: unknown } {
  const wins = (candidate: Candidate): { winnerConnectionId: string; decidedValue: unknown } => ({ winnerConnectionId: candidate.connectionId, decidedValue: candidate.value });
  switch (policy.kind) {
    case 'owner':
      if (policy.connectionId === source.connectionId) return wins(source);
      if (policy.connectionId === target.connectionId) return wins(target);
      return { winnerConnectionId: null, decidedValue: target.value };
    case 'fill-empty':
      return isEmptyValue(target.value) ? wins(source) : wins(target);
    case 'latest': {
      const sourceAt = source.modifiedAt ? Date.parse(source.modifiedAt) : -Infinity;
      const targetAt = target.modifiedAt ? Date.parse(target.modifiedAt) : -Infinity;
      if (sourceAt !== targetAt) return sourceAt > targetAt ? wins(source) : wins(target);
      const rank = (id: string): number => {
        const index = policy.priority.indexOf(id);
        return index === -1 ? Number.MAX_SAFE_INTEGER : index;
      };
      // Equal times: the configured priority decides; with none, the target keeps its value, so a
      // tie can never flip a field back and forth.
      return rank(source.connectionId) < rank(target.connectionId) ? wins(source) : wins(target);
    }
  }
}

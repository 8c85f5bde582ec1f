import type { ExternalRecord, UpsertInput } from '../connectors/connector';
import type { ConnectorErrorInfo } from '../connectors/errors';
import type { ConnectorRegistry } from '../connectors/registry';
import { referenceSlots, type References } from '../model/canonical';
import type { ObjectType } from '../model/identifiers';
import { resolveFields, type ObjectConflictPolicies } from '../model/sync';
import type { ConflictsRepository } from '../store/conflicts-repository';
import type { RecordLinksRepository, SyncedStateWrite } from '../store/record-links-repository';

/** A source record with the canonical id it was linked to before the batch fanned out. */
export interface LinkedRecord extends ExternalRecord {
  canonicalId: string;
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
  | { canonicalId: string; sourceExternalId: string; status: 'created' | 'updated'; targetExternalId: string }
  /** Nothing to write: our own write echoing back, or fields the policies keep from this source. */
  | { canonicalId: string; sourceExternalId: string; status: 'echo' | 'refused-by-policy' }
  /** Could not be written now; the workflow parks it with this reason and retries it later. */
  | { canonicalId: string; sourceExternalId: string; status: 'parked'; reason: 'dependency' | 'failed'; error: ConnectorErrorInfo };

export interface ApplyToTargetResult {
  outcomes: RecordOutcome[];
  conflicts: number;
}

export interface ApplyDependencies {
  connectors: ConnectorRegistry;
  links: RecordLinksRepository;
  conflicts: ConflictsRepository;
}

/**
 * Writes a batch of source records to one target CRM (architecture §2, "Apply"): field deltas
 * against the last-synced snapshot, echoes stopped, per-field conflicts decided and recorded,
 * references translated through links, upsert by sync id, then links and snapshots saved after
 * the vendor confirmed. Idempotent: run twice, the second run finds only echoes.
 */
export async function applyToTarget(deps: ApplyDependencies, input: ApplyToTargetInput): Promise<ApplyToTargetResult> {
  const { tenantId, objectType, sourceConnectionId, targetConnectionId, records, policies } = input;
  const target = await deps.connectors.forConnection(targetConnectionId);

  const states = await deps.links.loadSyncedStates(records.map((record) => record.canonicalId));
  const stateOf = (canonicalId: string, connectionId: string) =>
    states.find((state) => state.link.canonicalId === canonicalId && state.link.connectionId === connectionId);

  // The target's current values, to tell its own changes since the snapshot from ours.
  const linkedInTarget = records.map((record) => stateOf(record.canonicalId, targetConnectionId)?.link.externalId).filter((id): id is string => id !== undefined);
  const current = new Map((await target.readRecords(objectType, linkedInTarget)).map((record) => [record.externalId, record]));

  const outcomes: RecordOutcome[] = [];
  const writes: { record: LinkedRecord; input: UpsertInput; targetFields: Record<string, unknown> }[] = [];
  const decisions: Parameters<ConflictsRepository['record']>[0][number][] = [];

  for (const record of records) {
    const targetState = stateOf(record.canonicalId, targetConnectionId);
    const targetRecord = targetState ? current.get(targetState.link.externalId) : undefined;
    const resolved = resolveFields({
      source: { connectionId: sourceConnectionId, fields: record.fields, modifiedAt: record.modifiedAt },
      target: targetRecord && { connectionId: targetConnectionId, fields: targetRecord.fields, modifiedAt: targetRecord.modifiedAt },
      snapshot: targetState?.snapshot?.fields,
      policies,
    });
    for (const decision of resolved.decisions) {
      decisions.push({ tenantId, objectType, canonicalId: record.canonicalId, ...decision });
    }
    const base = { canonicalId: record.canonicalId, sourceExternalId: record.externalId };
    if (Object.keys(resolved.write).length === 0 && targetState) {
      outcomes.push({ ...base, status: resolved.echo ? 'echo' : 'refused-by-policy' });
      continue;
    }
    const references = await translateReferences(deps.links, objectType, record.references, sourceConnectionId, targetConnectionId);
    if ('missing' in references) {
      outcomes.push({
        ...base,
        status: 'parked',
        reason: 'dependency',
        error: { provider: target.provider, errorClass: 'not-found', message: `waiting for ${references.missing} to be synced to ${targetConnectionId}` },
      });
      continue;
    }
    writes.push({
      record,
      input: { syncId: record.canonicalId, fields: resolved.write, references: references.translated, externalId: targetState?.link.externalId },
      targetFields: { ...(targetState?.snapshot?.fields ?? targetRecord?.fields ?? {}), ...resolved.write },
    });
  }

  const results = writes.length > 0 ? await target.upsertRecords(objectType, writes.map((write) => write.input)) : [];
  const synced: SyncedStateWrite[] = [];
  results.forEach((result, index) => {
    const { record, targetFields } = writes[index] as (typeof writes)[number];
    const base = { canonicalId: record.canonicalId, sourceExternalId: record.externalId };
    if (result.status === 'failed') {
      outcomes.push({ ...base, status: 'parked', reason: 'failed', error: result.error });
      return;
    }
    const outcome = result.status === 'unchanged' ? 'updated' : result.status;
    outcomes.push({ ...base, status: outcome, targetExternalId: result.externalId });
    synced.push(
      {
        link: { canonicalId: record.canonicalId, tenantId, objectType, connectionId: targetConnectionId, externalId: result.externalId },
        fields: targetFields,
        sourceModifiedAt: result.modifiedAt ? new Date(result.modifiedAt) : null,
      },
      {
        link: { canonicalId: record.canonicalId, tenantId, objectType, connectionId: sourceConnectionId, externalId: record.externalId },
        fields: record.fields,
        sourceModifiedAt: new Date(record.modifiedAt),
      },
    );
  });
  // Only after the vendor confirmed: a crash before this line re-runs the activity, which
  // upserts by sync id again (idempotent) instead of losing the link.
  await deps.links.saveSyncedStates(synced);
  await deps.conflicts.record(decisions);
  return { outcomes, conflicts: decisions.length };
}

/** Source ids in reference slots -> target ids, through the canonical links of each related record. */
async function translateReferences(
  links: RecordLinksRepository,
  objectType: ObjectType,
  references: References,
  sourceConnectionId: string,
  targetConnectionId: string,
): Promise<{ translated: References } | { missing: string }> {
  const slots: Record<string, { to: ObjectType; many: boolean }> = referenceSlots[objectType];
  const translated: References = {};
  for (const [slot, value] of Object.entries(references)) {
    const spec = slots[slot];
    if (!spec || value === null) {
      if (spec) translated[slot] = null;
      continue;
    }
    const ids = Array.isArray(value) ? value : [value];
    const mapped: string[] = [];
    for (const id of ids) {
      const sourceLink = await links.findByExternalId(sourceConnectionId, spec.to, id);
      const targetLink = sourceLink && (await links.loadSyncedStates([sourceLink.canonicalId])).find((state) => state.link.connectionId === targetConnectionId);
      if (!targetLink) return { missing: `${spec.to} ${id}` };
      mapped.push(targetLink.link.externalId);
    }
    translated[slot] = spec.many ? mapped : (mapped[0] ?? null);
  }
  return { translated };
}

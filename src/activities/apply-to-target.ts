import type { CrmConnector, ExternalRecord, UpsertInput } from '../connectors/connector';
import type { ConnectorErrorInfo } from '../connectors/errors';
import type { ConnectorRegistry } from '../connectors/registry';
import type { ObjectType } from '../model/identifiers';
import { translateReferences } from './reference-translation';
import { resolveFields, type ObjectConflictPolicies } from '../model/sync';
import { keyValueOf } from '../connectors/unique-keys';
import { syncSettingsSchema } from '../model/sync-settings';
import type { ConflictsRepository } from '../store/conflicts-repository';
import type { ConnectionsRepository } from '../store/connections-repository';
import type { MatchRequest, RecordLinksRepository, RecordSnapshot, SyncedStateWrite } from '../store/record-links-repository';

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
  /** `matched`: the target record existed unlinked and was found by a unique key (first-sync matching). */
  | { canonicalId: string; sourceExternalId: string; status: 'created' | 'updated'; targetExternalId: string; matched?: boolean | undefined }
  /**
   * Nothing to write: our own write echoing back, fields the policies keep from this source, or a
   * stale read (the source already holds a newer version, written by the other direction).
   */
  | { canonicalId: string; sourceExternalId: string; status: 'echo' | 'refused-by-policy' | 'stale' }
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
  /** The target connection's settings (its first-sync match keys). */
  connections: Pick<ConnectionsRepository, 'getConnection'>;
}

/**
 * Writes a batch of source records to one target CRM (architecture §2, "Apply"): field deltas
 * against the last-synced snapshot, echoes stopped, per-field conflicts decided and recorded,
 * references translated through links, upsert by sync id, then links and snapshots saved after
 * the vendor confirmed. Idempotent: run twice, the second run finds only echoes.
 */
export async function applyToTarget(deps: ApplyDependencies, input: ApplyToTargetInput): Promise<ApplyToTargetResult> {
  const { tenantId, objectType, sourceConnectionId, targetConnectionId, policies } = input;
  const target = await deps.connectors.forConnection(targetConnectionId);

  // Canonical ids may have been merged (first-sync matching) since the batch was linked.
  const linkedNow = await deps.links.canonicalIdsOf(sourceConnectionId, objectType, input.records.map((record) => record.externalId));
  let records = input.records.map((record) => ({ ...record, canonicalId: linkedNow.get(record.externalId) ?? record.canonicalId }));
  let states = await deps.links.loadSyncedStates(records.map((record) => record.canonicalId));
  const stateOf = (canonicalId: string, connectionId: string) =>
    states.find((state) => state.link.canonicalId === canonicalId && state.link.connectionId === connectionId);

  const outcomes: RecordOutcome[] = [];
  // Archived by a delete elsewhere (`archive` policy): kept in both CRMs, synced no more either way.
  const isArchived = (record: LinkedRecord) => Boolean(stateOf(record.canonicalId, sourceConnectionId)?.link.archivedAt || stateOf(record.canonicalId, targetConnectionId)?.link.archivedAt);
  for (const record of records.filter(isArchived)) outcomes.push({ canonicalId: record.canonicalId, sourceExternalId: record.externalId, status: 'refused-by-policy' });
  records = records.filter((record) => !isArchived(record));
  // First-sync matching: records the target has no link for are looked up there by unique keys.
  const unlinked = records.filter((record) => !stateOf(record.canonicalId, targetConnectionId));
  const matching = unlinked.length > 0 ? await matchInTarget(deps, target, input, unlinked) : { canonicalIds: new Map<string, string>(), matched: new Map<string, ExternalRecord>(), taken: [] };
  if (matching.canonicalIds.size > 0 || matching.taken.length > 0) {
    const takenIds = new Set(matching.taken.map((outcome) => outcome.sourceExternalId));
    outcomes.push(...matching.taken);
    records = records.filter((record) => !takenIds.has(record.externalId)).map((record) => ({ ...record, canonicalId: matching.canonicalIds.get(record.externalId) ?? record.canonicalId }));
    states = await deps.links.loadSyncedStates(records.map((record) => record.canonicalId));
  }

  // The target's current values, to tell its own changes since the snapshot from ours (matched
  // records were just read by the match itself).
  const linkedInTarget = records
    .filter((record) => !matching.matched.has(record.externalId))
    .map((record) => stateOf(record.canonicalId, targetConnectionId)?.link.externalId)
    .filter((id): id is string => id !== undefined);
  const current = new Map((await target.readRecords(objectType, linkedInTarget)).map((record) => [record.externalId, record]));
  for (const found of matching.matched.values()) current.set(found.externalId, found);

  const writes: { record: LinkedRecord; input: UpsertInput; targetFields: Record<string, unknown> }[] = [];
  const decisions: Parameters<ConflictsRepository['record']>[0][number][] = [];

  for (const record of records) {
    // A read older than the version this CRM already holds (the other direction wrote it after
    // this read was taken): applying it would write back values that were just replaced there.
    const knownInSource = stateOf(record.canonicalId, sourceConnectionId)?.snapshot?.sourceModifiedAt;
    if (knownInSource && Date.parse(record.modifiedAt) < knownInSource.getTime()) {
      outcomes.push({ canonicalId: record.canonicalId, sourceExternalId: record.externalId, status: 'stale' });
      continue;
    }
    const targetState = stateOf(record.canonicalId, targetConnectionId);
    const targetRecord = targetState ? current.get(targetState.link.externalId) : undefined;
    const resolved = resolveFields({
      source: { connectionId: sourceConnectionId, fields: record.fields, modifiedAt: record.modifiedAt },
      target: targetRecord && { connectionId: targetConnectionId, fields: targetRecord.fields, modifiedAt: targetRecord.modifiedAt },
      snapshot: targetState?.snapshot?.fields,
      sourceSnapshot: sourceDeltaBase(stateOf(record.canonicalId, sourceConnectionId)?.snapshot, targetState?.snapshot),
      policies,
    });
    if (targetRecord && !targetState?.snapshot) firstContact(resolved.write, record, targetRecord, sourceConnectionId, targetConnectionId);
    for (const decision of resolved.decisions) {
      decisions.push({ tenantId, objectType, canonicalId: record.canonicalId, ...decision });
    }
    const base = { canonicalId: record.canonicalId, sourceExternalId: record.externalId };
    // A matched record is written even with no field to change: it must carry the sync id.
    if (Object.keys(resolved.write).length === 0 && targetState && !matching.matched.has(record.externalId)) {
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
      // On first contact the target's snapshot records what the SOURCE holds (plus what was
      // written): fields where the target kept its own newer value then read as the target's
      // changes when the other direction runs, and flow back to the source instead of looking
      // already synced while the two CRMs disagree.
      targetFields: { ...(targetState?.snapshot?.fields ?? record.fields), ...resolved.write },
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
    outcomes.push({ ...base, status: outcome, targetExternalId: result.externalId, ...(matching.matched.has(record.externalId) ? { matched: true } : {}) });
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

interface MatchOutcome {
  /** Source external id -> the canonical id it has after matching (changed by a merge). */
  canonicalIds: Map<string, string>;
  /** Source external id -> the target record it was matched to and linked with. */
  matched: Map<string, ExternalRecord>;
  /** Records whose every candidate already pairs with another source record: parked, never stolen. */
  taken: RecordOutcome[];
}

/**
 * Looks for the unlinked records in the target by the target connection's match keys (in order;
 * a record matched by one key is not looked up by the next), then links the matches under the
 * store's matching lock (RecordLinksRepository.adoptMatches: merges the canonical ids both
 * directions of a first sync gave one person; never steals a target record paired with another
 * source record). A candidate already carrying this record's sync id is preferred, then the
 * oldest id, so repeated runs pick the same record.
 */
async function matchInTarget(deps: ApplyDependencies, target: CrmConnector, input: ApplyToTargetInput, unlinked: readonly LinkedRecord[]): Promise<MatchOutcome> {
  const outcome: MatchOutcome = { canonicalIds: new Map(), matched: new Map(), taken: [] };
  const keys = await matchKeysOf(deps, input.targetConnectionId, input.objectType);
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
        const record = byValue.get(request.value)?.find((candidate) => candidate.externalId === result.targetExternalId);
        if (result.via === 'match' && record) outcome.matched.set(request.sourceExternalId, record);
        return;
      }
      outcome.taken.push({
        canonicalId: result.canonicalId,
        sourceExternalId: request.sourceExternalId,
        status: 'parked',
        reason: 'failed',
        error: {
          provider: target.provider,
          errorClass: 'conflict',
          message: `${input.objectType} ${request.sourceExternalId} matches ${request.candidates.join(', ')} in ${input.targetConnectionId} by ${field}, already synced with ${result.heldBy?.sourceExternalId ?? 'another record'} of ${input.sourceConnectionId}: not linked twice (merge the duplicates, or change the ${field})`,
        },
      });
    });
    const handled = new Set(requests.map((request) => request.sourceExternalId));
    remaining = remaining.filter((record) => !handled.has(record.externalId));
  }
  return outcome;
}

/** The target connection's match keys for an object (settings.sync.matchKeys, defaults applied). */
async function matchKeysOf(deps: ApplyDependencies, connectionId: string, objectType: ObjectType): Promise<string[]> {
  const connection = await deps.connections.getConnection(connectionId);
  const settings = syncSettingsSchema.safeParse(connection?.settings.sync ?? {});
  if (!settings.success) throw new Error(`connection ${connectionId} settings.sync is invalid: ${settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return settings.data.matchKeys[objectType] ?? [];
}

/**
 * A matched pair's first sync (no snapshot yet): both directions may read both records before
 * either writes, so each must decide the same way or they swap values. The newer record (by
 * modstamp, then connection id) keeps the fields it holds; the older one only fills its gaps.
 */
/**
 * The base to measure the source's changes against. Snapshots are kept per connection, not per
 * pair: the source's own snapshot is right only when the target was synced at or after it (the
 * target then holds what the source held); otherwise (a third CRM that never received the
 * record, a write that failed and is retried) it would hide fields the target still lacks, so the
 * target's snapshot is used, as before. Per-pair snapshots would remove the guesswork.
 */
function sourceDeltaBase(source: RecordSnapshot | undefined, target: RecordSnapshot | undefined): Record<string, unknown> | undefined {
  if (source && target && source.syncedAt.getTime() <= target.syncedAt.getTime()) return source.fields;
  return target?.fields;
}

function firstContact(write: Record<string, unknown>, source: LinkedRecord, target: ExternalRecord, sourceConnectionId: string, targetConnectionId: string): void {
  const sourceNewer = source.modifiedAt === target.modifiedAt ? sourceConnectionId > targetConnectionId : source.modifiedAt > target.modifiedAt;
  for (const field of Object.keys(write)) {
    if (field === 'custom') continue;
    const held = target.fields[field];
    const targetHasValue = held !== null && held !== undefined;
    // Two CRMs that already held the same person: the newer record's values win where both have
    // one, but an empty value never erases one (which record is "newer" compares two vendors'
    // clocks and can be a matter of milliseconds; a missing job title must not wipe the other's).
    const empty = write[field] === null || write[field] === undefined;
    if (targetHasValue && (!sourceNewer || empty)) delete write[field];
  }
}

function rank(candidate: ExternalRecord, record: LinkedRecord): number {
  return candidate.syncId === record.canonicalId ? 0 : 1;
}

/** Vendor ids in creation order where they are numeric (HubSpot), else as text. */
function compareIds(a: string, b: string): number {
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0;
}


import type { ConnectorErrorInfo } from '../connectors/errors';
import type { ConnectorRegistry } from '../connectors/registry';
import type { ObjectType } from '../model/identifiers';
import type { DeletePolicy } from '../model/sync-settings';
import type { RecordLinksRepository } from '../store/record-links-repository';
import type { HeldDeletionsRepository } from '../store/held-deletions-repository';

export interface PlanDeletionsInput {
  connectionId: string;
  objectType: ObjectType;
  externalIds: string[];
}

export interface DeletionPlan {
  /** The reported records that are synced: the only deletions with anything to do. */
  externalIds: string[];
  /** Records of this object the connection syncs now: the mass-delete guard's base. */
  syncedRecords: number;
}

export interface ApplyDeletionsInput {
  tenantId: string;
  objectType: ObjectType;
  sourceConnectionId: string;
  /** Records deleted in the source CRM. */
  sourceExternalIds: string[];
  policy: DeletePolicy;
  targetConnectionIds: string[];
}

export interface TargetDeletionResult {
  targetConnectionId: string;
  /** Deleted in the target now, or found already gone there. */
  deleted: number;
  /** Kept in the target, no longer synced (`archive`). */
  archived: number;
  /** Could not be deleted in the target: the workflow parks them (by source id) for retry. */
  failed: { sourceExternalId: string; error: ConnectorErrorInfo }[];
}

export interface ApplyDeletionsResult {
  targets: TargetDeletionResult[];
}

export interface DeletionDependencies {
  connectors: ConnectorRegistry;
  links: RecordLinksRepository;
  held: HeldDeletionsRepository;
}

/**
 * Which reported deletions concern synced records, and how many this connection syncs. Ids a hold
 * already keeps in PostgreSQL wait for the operator's decision and are not planned again (the
 * deletion feed's look-back reports them at every poll; the workflow recognises those it holds in
 * its own state).
 */
export async function planDeletions(deps: DeletionDependencies, input: PlanDeletionsInput): Promise<DeletionPlan> {
  const links = await deps.links.activeLinksOf(input.connectionId, input.objectType, input.externalIds);
  const held = new Set(await deps.held.heldAmong(input.connectionId, input.objectType, links.map((link) => link.externalId)));
  return { externalIds: links.map((link) => link.externalId).filter((id) => !held.has(id)), syncedRecords: await deps.links.countActiveLinks(input.connectionId, input.objectType) };
}

/**
 * Applies records deleted in the source to every target, by the object's delete policy, then
 * forgets the source records. Idempotent: a target record already gone counts as deleted, and a
 * rerun after success finds no links left to act on. A record whose delete failed in some target
 * keeps its source link, so the parked retry finds it again.
 */
export async function applyDeletions(deps: DeletionDependencies, input: ApplyDeletionsInput): Promise<ApplyDeletionsResult> {
  const { objectType, sourceConnectionId, policy } = input;
  const sourceLinks = await deps.links.activeLinksOf(sourceConnectionId, objectType, input.sourceExternalIds);
  const sourceIdOf = new Map(sourceLinks.map((link) => [link.canonicalId, link.externalId]));
  const canonicalIds = [...sourceIdOf.keys()];
  const unfinished = new Set<string>();
  const targets: TargetDeletionResult[] = [];

  for (const targetConnectionId of input.targetConnectionIds) {
    const result: TargetDeletionResult = { targetConnectionId, deleted: 0, archived: 0, failed: [] };
    targets.push(result);
    if (policy === 'ignore' || canonicalIds.length === 0) continue;
    const targetLinks = (await deps.links.linksIn(targetConnectionId, canonicalIds)).filter((link) => !link.archivedAt);
    if (targetLinks.length === 0) continue;
    if (policy === 'archive') {
      result.archived = await deps.links.archiveLinks(targetConnectionId, targetLinks.map((link) => link.canonicalId));
      continue;
    }
    const canonicalOf = new Map(targetLinks.map((link) => [link.externalId, link.canonicalId]));
    const connector = await deps.connectors.forConnection(targetConnectionId);
    const outcomes = await connector.deleteRecords(objectType, targetLinks.map((link) => link.externalId));
    const gone: string[] = [];
    for (const outcome of outcomes) {
      const canonicalId = canonicalOf.get(outcome.externalId);
      if (!canonicalId) continue;
      if (outcome.status === 'failed') {
        unfinished.add(canonicalId);
        result.failed.push({ sourceExternalId: sourceIdOf.get(canonicalId) as string, error: outcome.error });
      } else {
        gone.push(canonicalId);
      }
    }
    await deps.links.removeLinks(targetConnectionId, gone);
    result.deleted = gone.length;
  }

  await deps.links.removeLinks(sourceConnectionId, canonicalIds.filter((canonicalId) => !unfinished.has(canonicalId)));
  return { targets };
}

import type { ConnectorRegistry } from '../connectors/registry';
import type { CanonicalRecordsRepository } from '../store/canonical-records-repository';
import type { ConflictsRepository } from '../store/conflicts-repository';
import { isSyncing, type ConnectionsRepository } from '../store/connections-repository';
import type { HeldDeletionsRepository } from '../store/held-deletions-repository';
import type { ParkedRecordsRepository } from '../store/parked-records-repository';
import type { PendingReferencesRepository } from '../store/pending-references-repository';
import type { RecordLinksRepository } from '../store/record-links-repository';
import { applyDeletions, planDeletions, type ApplyDeletionsInput, type PlanDeletionsInput } from './apply-deletions';
import { applyToTarget, spreadContributions, type ApplyToTargetInput, type ApplyToTargetResult } from './apply-to-target';
import { createBackfillActivities } from './backfill-activities';
import { createChangeEventActivities } from './change-events';
import { classifyFailures } from './failures';
import { keptAlive } from './keepalive';
import { recordApplyOutcomes } from './outcome-metrics';
import { createHeldDeletionsActivities } from './held-deletions';
import { createParkedRecordsActivities } from './parked-records';
import { createSupervisorActivities, type TemporalDependency } from './supervisor-activities';
import { createSyncActivities } from './sync-activities';
import { createWebhookRenewalActivities } from './webhook-renewal';
import type { WebhookSubscriptionsRepository } from '../store/webhook-subscriptions-repository';

/** What activities need from the outside world, injected so tests can hand in real, isolated ones. */
export interface ActivityDependencies {
  connections: ConnectionsRepository;
  links: RecordLinksRepository;
  canonical: CanonicalRecordsRepository;
  conflicts: ConflictsRepository;
  /** Links waiting for related records to land in a target. */
  pending: PendingReferencesRepository;
  /** Parked records beyond what a connection workflow keeps in its state. */
  parked: ParkedRecordsRepository;
  /** Held deletions beyond what a connection workflow keeps in its state. */
  held: HeldDeletionsRepository;
  connectors: ConnectorRegistry;
  /** The worker's Temporal client and task queue, for the supervisor that starts connection workflows. */
  temporal?: TemporalDependency | undefined;
  /** What each connection registered at its vendor (webhook subscriptions), for renewals. */
  webhookSubscriptions?: WebhookSubscriptionsRepository | undefined;
}

/**
 * Builds the activity implementations around their dependencies (the Temporal samples'
 * dependency-injection pattern). Workflows `import type` the result, never this module. Every
 * activity leaves with its failures classified (failures.ts).
 */
export function createActivities(dependencies: ActivityDependencies) {
  return classifyFailures({
    ...createSyncActivities(dependencies),
    ...createBackfillActivities(dependencies),
    ...createSupervisorActivities(dependencies),
    ...createParkedRecordsActivities(dependencies),
    ...createHeldDeletionsActivities(dependencies),
    ...createChangeEventActivities(dependencies),
    ...createWebhookRenewalActivities(dependencies),
    applyToTarget: (input: ApplyToTargetInput) => keptAlive(() => applyLive(dependencies, input)),
    planDeletions: (input: PlanDeletionsInput) => planDeletions(dependencies, input),
    applyDeletions: (input: ApplyDeletionsInput) => keptAlive(() => applyDeletions(dependencies, input)),
  });
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * The live apply: one target, then what that target's copies brought spread to the tenant's other
 * connections (the source included), whose own workflows may never hear of those values. Only
 * ids and outcomes go back into history.
 */
async function applyLive(dependencies: ActivityDependencies, input: ApplyToTargetInput): Promise<ApplyToTargetResult> {
  const { contributed = [], ...result } = await applyToTarget(dependencies, input);
  recordApplyOutcomes({ ...input, path: 'live' }, result);
  if (contributed.length > 0) {
    const active = (await dependencies.connections.listConnections(input.tenantId)).filter((connection) => isSyncing(connection.status));
    // What a push could not write stays in the canonical record; the next change of the record brings it.
    await spreadContributions(dependencies, {
      tenantId: input.tenantId,
      objectType: input.objectType,
      canonicalIds: contributed,
      from: input.targetConnectionId,
      connectionIds: active.map((connection) => connection.id),
      policies: input.policies,
    });
  }
  return result;
}

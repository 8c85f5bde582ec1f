import type { ConnectorRegistry } from '../connectors/registry';
import type { CanonicalRecordsRepository } from '../store/canonical-records-repository';
import type { ConflictsRepository } from '../store/conflicts-repository';
import type { ConnectionsRepository } from '../store/connections-repository';
import type { RecordLinksRepository } from '../store/record-links-repository';
import { applyDeletions, planDeletions, type ApplyDeletionsInput, type PlanDeletionsInput } from './apply-deletions';
import { applyToTarget, type ApplyToTargetInput } from './apply-to-target';
import { createBackfillActivities } from './backfill-activities';
import { classifyFailures } from './failures';
import { createSupervisorActivities, type TemporalDependency } from './supervisor-activities';
import { createSyncActivities } from './sync-activities';

/** What activities need from the outside world, injected so tests can hand in real, isolated ones. */
export interface ActivityDependencies {
  connections: ConnectionsRepository;
  links: RecordLinksRepository;
  canonical: CanonicalRecordsRepository;
  conflicts: ConflictsRepository;
  connectors: ConnectorRegistry;
  /** The worker's Temporal client and task queue, for the supervisor that starts connection workflows. */
  temporal?: TemporalDependency | undefined;
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
    applyToTarget: (input: ApplyToTargetInput) => applyToTarget(dependencies, input),
    planDeletions: (input: PlanDeletionsInput) => planDeletions(dependencies, input),
    applyDeletions: (input: ApplyDeletionsInput) => applyDeletions(dependencies, input),
  });
}

export type Activities = ReturnType<typeof createActivities>;

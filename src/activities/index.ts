import type { ConnectionsRepository } from '../store/connections-repository';
import type { RecordLinksRepository } from '../store/record-links-repository';

/** What activities need from the outside world, injected so tests can hand in real, isolated ones. */
export interface ActivityDependencies {
  connections: ConnectionsRepository;
  links: RecordLinksRepository;
}

/**
 * Builds the activity implementations around their dependencies (the Temporal samples'
 * dependency-injection pattern). Workflows `import type` the result, never this module.
 */
export function createActivities(_dependencies: ActivityDependencies) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;

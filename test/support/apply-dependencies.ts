import type { ApplyDependencies } from '../../src/activities/apply-to-target';
import { createStoredConnectionRegistry } from '../../src/connectors/stored-connections';
import { CanonicalRecordsRepository } from '../../src/store/canonical-records-repository';
import { ConflictsRepository } from '../../src/store/conflicts-repository';
import { PendingReferencesRepository } from '../../src/store/pending-references-repository';
import { RecordLinksRepository } from '../../src/store/record-links-repository';
import type { SyncHarness } from './sync-harness';

/**
 * What `applyToTarget` needs, over a harness's database and connections (rate limits off): for
 * tests that call the activity directly to force an interleaving.
 */
export function applyDependencies(h: SyncHarness): ApplyDependencies & { links: RecordLinksRepository; conflicts: ConflictsRepository } {
  return {
    connectors: createStoredConnectionRegistry({ connections: h.connectionsRepository, pool: h.db.pool, defaults: { rateLimits: false } }),
    links: new RecordLinksRepository(h.db.pool),
    canonical: new CanonicalRecordsRepository(h.db.pool),
    conflicts: new ConflictsRepository(h.db.pool),
    connections: h.connectionsRepository,
    pending: new PendingReferencesRepository(h.db.pool),
  };
}

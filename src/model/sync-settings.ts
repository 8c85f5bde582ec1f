import { z } from 'zod';
import { objectTypeSchema } from './identifiers';
import { objectConflictPoliciesSchema } from './sync/conflict-policy';

/**
 * How a connection syncs, stored with the connection (settings.sync) and validated when loaded:
 * a bad value names its path instead of surfacing later as odd behaviour.
 */
export const syncSettingsSchema = z
  .object({
    /** Object types this connection syncs, in dependency order (companies before contacts). */
    objects: z.array(objectTypeSchema).nonempty().default(['company', 'contact', 'deal', 'activity']),
    /** The polling safety net, even when webhooks arrive. */
    pollIntervalMs: z.number().int().min(1000).default(5 * 60_000),
    /** Quiet time after the last change notice before a batch is read (coalesces rapid edits). */
    debounceMs: z.number().int().min(0).max(600_000).default(2000),
    batchSize: z.number().int().min(1).max(200).default(100),
    conflictPolicies: z.partialRecord(objectTypeSchema, objectConflictPoliciesSchema).default({}),
    /**
     * First-sync matching: before creating a record the target has no link for, look for one there
     * holding the same value in one of these canonical fields (tried in order; emails and domains
     * compare case-insensitively, domains by host) and link it instead. Read from the target
     * connection's settings; `[]` for an object turns matching off for it.
     */
    matchKeys: z
      .partialRecord(objectTypeSchema, z.array(z.string().regex(/^(custom\.)?[a-zA-Z][a-zA-Z0-9_]*$/, 'must be a canonical field name or custom.<name>')))
      .default({ contact: ['email'], company: ['domain'] }),
  })
  .strict();

export type SyncSettings = z.output<typeof syncSettingsSchema>;


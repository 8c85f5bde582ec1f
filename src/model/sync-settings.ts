import { z } from 'zod';
import { objectTypeSchema } from './identifiers';
import { objectConflictPoliciesSchema } from './sync/conflict-policy';

export const deletePolicies = ['propagate', 'archive', 'ignore'] as const;
export const deletePolicySchema = z.enum(deletePolicies);
export type DeletePolicy = (typeof deletePolicies)[number];
export const DEFAULT_DELETE_POLICY: DeletePolicy = 'archive';

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
    /**
     * Where changes are heard besides the poll: `webhooks` (the shim's signals, the default), or
     * the vendor's change log read from a position the workflow keeps: `cdc` (Salesforce Change
     * Data Capture over the Pub/Sub API; the connection needs `pubSub` settings) or `journal`
     * (HubSpot's webhooks journal; the connection needs `journal` settings). With a change log the
     * poll stays the safety net and runs when the log cannot say what changed; the shim's signals
     * are still taken, so a connection whose vendor also pushes hears both.
     */
    changeEvents: z.enum(['webhooks', 'cdc', 'journal']).optional(),
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
    /**
     * What a record deleted in this CRM becomes in the tenant's other CRMs, per object:
     * `propagate` deletes it there too (each vendor's own delete: recycle bin, archive);
     * `archive` keeps it there but stops syncing it either way (the link is marked archived);
     * `ignore` leaves it there, still synced (an edit there re-creates it here). Default: archive,
     * the choice that never loses data.
     */
    deletePolicies: z.partialRecord(objectTypeSchema, deletePolicySchema).default({}),
    /**
     * Holds deletions for operator approval (update `approveDeletions`, `crm-sync deletions
     * approve`) when, within `windowMs`, at least `minDeletions` records of one object and more
     * than `maxShare` of this connection's synced records of it were deleted: a mass delete is
     * far more often a mistake or a broken filter than an intent.
     */
    massDeleteGuard: z
      .object({
        maxShare: z.number().min(0).max(1).default(0.1),
        minDeletions: z.number().int().min(1).default(10),
        windowMs: z.number().int().min(0).default(60 * 60_000),
      })
      .strict()
      .default({ maxShare: 0.1, minDeletions: 10, windowMs: 60 * 60_000 }),
    /**
     * Parked records that failed transiently or on a rate limit are retried without anyone asking:
     * `firstRetryMs` after the first parks, then twice as far each time, at most `maxRetryMs` apart
     * (docs/operations.md, "Self-healing"). Tests shorten it; production keeps 1 h and 24 h.
     */
    selfHealing: z
      .object({
        firstRetryMs: z.number().int().min(1000).default(60 * 60_000),
        maxRetryMs: z.number().int().min(1000).default(24 * 60 * 60_000),
      })
      .strict()
      .refine((value) => value.maxRetryMs >= value.firstRetryMs, { message: 'maxRetryMs must be at least firstRetryMs', path: ['maxRetryMs'] })
      .default({ firstRetryMs: 60 * 60_000, maxRetryMs: 24 * 60 * 60_000 }),
  })
  .strict();

export type SyncSettings = z.output<typeof syncSettingsSchema>;


import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { z } from 'zod';
import type { BackfillFailure, BackfillPageResult, BackfillTarget } from '../activities/backfill-activities';
import { crmProviderSchema, objectTypeSchema, slugSchema, type CrmProvider, type ObjectType } from '../model/identifiers';

/**
 * The backfill's input, state and transitions; no Temporal calls here except the id helpers,
 * which the connection workflow and the client share.
 */

/** `backfill:<tenant>:<connection>:<object>`: one backfill per source connection and object at a time. */
export function backfillWorkflowId(tenantId: string, connectionId: string, objectType: ObjectType): string {
  return `backfill:${tenantId}:${connectionId}:${objectType}`;
}

/**
 * Start options that make the id a lock: a second start while one runs is rejected
 * (WorkflowExecutionAlreadyStartedError), a new start after it closed is allowed (a re-run is
 * idempotent: upserts by sync id). Works for `client.workflow.start` and for `startChild`.
 */
export const backfillIdPolicies = {
  workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
} as const;

/**
 * The same for `startChild` (child workflows take no conflict policy: starting a child whose id
 * is running always fails, with WorkflowExecutionAlreadyStartedError in the parent).
 */
export const backfillChildIdPolicy = { workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE } as const;

export type BackfillPhase = 'starting' | 'running' | 'needs-reauth' | 'completed';

export interface BackfillProgress {
  tenantId: string;
  connectionId: string;
  objectType: ObjectType;
  state: BackfillPhase;
  targets: string[];
  /** The export cursor of the next page to read; null before the export started and after the last page. */
  cursor: string | null;
  pagesDone: number;
  recordsRead: number;
  written: Record<string, number>;
  failed: Record<string, number>;
  /** The first failures (capped at FAILURE_LIST_LIMIT); `failed` counts them all. */
  failures: BackfillFailure[];
  /** Page attempts that resumed mid-page from a heartbeat checkpoint (a worker died or timed out). */
  resumedMidPage: number;
  /** Runs of this backfill so far (continue-as-new). */
  run: number;
}

export const FAILURE_LIST_LIMIT = 100;

const countsSchema = z.record(z.string(), z.number().int().nonnegative());

/** What continue-as-new carries: where the export is and what was counted, never records. */
export const backfillCarriedSchema = z.object({
  provider: crmProviderSchema,
  targets: z.array(z.object({ connectionId: slugSchema, provider: crmProviderSchema })),
  cursor: z.string().min(1),
  pagesDone: z.number().int().nonnegative(),
  recordsRead: z.number().int().nonnegative(),
  written: countsSchema,
  failed: countsSchema,
  failures: z.array(z.custom<BackfillFailure>((value) => typeof value === 'object' && value !== null && 'sourceExternalId' in value)).max(FAILURE_LIST_LIMIT),
  resumedMidPage: z.number().int().nonnegative(),
  run: z.number().int().positive(),
  /** The targets' existing records were linked by match keys before the first page (absent in older runs). */
  targetsIndexed: z.boolean().optional(),
});

/** Strict: a misspelt option (`pagesPerrun`, `target`) from the temporal CLI fails the workflow instead of being silently ignored. */
export const backfillInputSchema = z.strictObject({
  tenantId: slugSchema,
  /** The source connection. */
  connectionId: slugSchema,
  objectType: objectTypeSchema,
  /** Target connections; default: the tenant's other active connections. */
  targets: z.array(slugSchema).min(1).optional(),
  /** Only records modified since this instant (ISO-8601). */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Pages per run before continue-as-new, keeping each run's history short. @default 50 */
  pagesPerRun: z.number().int().positive().default(50),
  /** Records per heartbeat checkpoint inside a page. @default 1000 */
  chunkSize: z.number().int().positive().max(10_000).default(1_000),
  /** Heartbeat timeout of a page attempt (how soon a dead worker's page moves on), e.g. '30s'. @default the bulkPage preset's */
  heartbeatTimeout: z.string().regex(/^\d+(ms|s|m)$/, 'must be a duration such as "500ms", "30s" or "2m"').optional(),
  /** Set by continue-as-new only. */
  carried: backfillCarriedSchema.optional(),
});

export type BackfillInput = z.input<typeof backfillInputSchema>;
export type ParsedBackfillInput = z.output<typeof backfillInputSchema>;
export type BackfillCarried = z.output<typeof backfillCarriedSchema>;

export class BackfillState {
  phase: BackfillPhase;
  provider: CrmProvider | undefined;
  targets: BackfillTarget[];
  cursor: string | null;
  pagesDone: number;
  recordsRead: number;
  written: Record<string, number>;
  failed: Record<string, number>;
  failures: BackfillFailure[];
  resumedMidPage: number;
  readonly run: number;
  targetsIndexed: boolean;
  reauthorised = false;

  constructor(readonly input: ParsedBackfillInput) {
    const carried = input.carried;
    this.phase = carried ? 'running' : 'starting';
    this.provider = carried?.provider;
    this.targets = carried?.targets ?? [];
    this.cursor = carried?.cursor ?? null;
    this.pagesDone = carried?.pagesDone ?? 0;
    this.recordsRead = carried?.recordsRead ?? 0;
    this.written = { ...carried?.written };
    this.failed = { ...carried?.failed };
    this.failures = [...(carried?.failures ?? [])];
    this.resumedMidPage = carried?.resumedMidPage ?? 0;
    this.run = carried?.run ?? 1;
    this.targetsIndexed = carried?.targetsIndexed ?? false;
  }

  started(provider: CrmProvider, targets: BackfillTarget[], cursor: string): void {
    this.provider = provider;
    this.targets = targets;
    this.cursor = cursor;
    this.written = Object.fromEntries(targets.map((target) => [target.connectionId, 0]));
    this.failed = Object.fromEntries(targets.map((target) => [target.connectionId, 0]));
    this.phase = 'running';
  }

  pageDone(result: BackfillPageResult): void {
    this.pagesDone += 1;
    this.recordsRead += result.read;
    for (const [target, count] of Object.entries(result.written)) this.written[target] = (this.written[target] ?? 0) + count;
    for (const [target, count] of Object.entries(result.failed)) this.failed[target] = (this.failed[target] ?? 0) + count;
    this.failures.push(...result.failures.slice(0, Math.max(0, FAILURE_LIST_LIMIT - this.failures.length)));
    if (result.resumedAtOffset > 0) this.resumedMidPage += 1;
    this.cursor = result.nextCursor ?? null;
    if (this.cursor === null) this.phase = 'completed';
  }

  get failedTotal(): number {
    return Object.values(this.failed).reduce((sum, count) => sum + count, 0);
  }

  progress(): BackfillProgress {
    return {
      tenantId: this.input.tenantId,
      connectionId: this.input.connectionId,
      objectType: this.input.objectType,
      state: this.phase,
      targets: this.targets.map((target) => target.connectionId),
      cursor: this.cursor,
      pagesDone: this.pagesDone,
      recordsRead: this.recordsRead,
      written: { ...this.written },
      failed: { ...this.failed },
      failures: [...this.failures],
      resumedMidPage: this.resumedMidPage,
      run: this.run,
    };
  }

  /** The next run's input: the same request, plus where this one stopped. */
  continuation(): BackfillInput {
    const { carried: _previous, ...request } = this.input;
    if (!this.provider || this.cursor === null) throw new Error('nothing to continue: the export has not started or is finished');
    return {
      ...request,
      carried: {
        provider: this.provider,
        targets: this.targets,
        cursor: this.cursor,
        pagesDone: this.pagesDone,
        recordsRead: this.recordsRead,
        written: { ...this.written },
        failed: { ...this.failed },
        failures: [...this.failures],
        resumedMidPage: this.resumedMidPage,
        run: this.run + 1,
        ...(this.targetsIndexed ? { targetsIndexed: true } : {}),
      },
    };
  }
}

import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { backfillProgressQuery, backfillWorkflowId, startBackfill, type BackfillInput, type BackfillProgress } from '../client/backfill';
import { objectTypeSchema, type ObjectType } from '../model/identifiers';
import { backfillInputSchema } from '../workflows/backfill-state';
import type { CliContext } from './context';
import { CliError, notFound, usageError } from './errors';
import { print, slug } from './io';
import { RateMeter, renderBar, renderPlainLine, type ProgressView } from './progress';

interface WatchOptions {
  json?: boolean;
  interval: string;
}

function objectType(value: string): ObjectType {
  const parsed = objectTypeSchema.safeParse(value);
  if (!parsed.success) throw usageError(`object must be one of ${objectTypeSchema.options.join(', ')}, got "${value}"`);
  return parsed.data;
}

function intervalMs(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600) throw usageError(`--interval must be seconds from 0.1 to 3600, got "${value}"`);
  return seconds * 1000;
}

/** What the backfill is doing now, read the cheapest way that works for its status. */
interface Observation {
  status: string;
  progress: BackfillProgress | undefined;
  failure?: string | undefined;
}

async function observe(handle: WorkflowHandle, last: BackfillProgress | undefined): Promise<Observation> {
  const status = (await handle.describe()).status.name;
  if (status === 'RUNNING') {
    // Between two runs (continue-as-new) or while no worker polls, the query fails: keep the last sample.
    const progress = await handle.query(backfillProgressQuery).catch(() => last);
    return { status, progress };
  }
  try {
    // The last run's result is the final progress; no worker needed to read it.
    return { status, progress: (await handle.result()) as BackfillProgress };
  } catch (error) {
    return { status, progress: last, failure: error instanceof WorkflowFailedError ? rootCause(error) : (error as Error).message };
  }
}

/** "Activity task failed" says little: the innermost cause is the vendor's or the validation's message. */
function rootCause(error: Error): string {
  let deepest = error;
  while (deepest.cause instanceof Error) deepest = deepest.cause;
  return deepest.message;
}

function summary(workflowId: string, observation: Observation): string {
  const { status, progress, failure } = observation;
  if (!progress) return `${workflowId}: ${status.toLowerCase()}${failure ? `: ${failure}` : ''}`;
  const written = Object.entries(progress.written).map(([target, count]) => `${target} ${count}`).join(', ') || '-';
  const failedTotal = Object.values(progress.failed).reduce((sum, count) => sum + count, 0);
  const lines = [
    `${workflowId}: ${status === 'RUNNING' ? progress.state : status.toLowerCase()}${failure ? `: ${failure}` : ''}`,
    `  records read ${progress.recordsRead} (pages ${progress.pagesDone}, run ${progress.run}); written: ${written}; failed: ${failedTotal}`,
    ...progress.failures.slice(0, 5).map((f) => `  failed ${f.sourceExternalId} -> ${f.targetConnectionId}: ${f.error.errorClass}: ${f.error.message}`),
  ];
  return lines.join('\n');
}

/**
 * Follows the backfill until it closes: a bar redrawn in place on a terminal, a plain line per
 * interval otherwise (CI logs, pipes). The records done are the records read from the source.
 */
async function watch(handle: WorkflowHandle, label: string, every: number): Promise<Observation> {
  const tty = process.stdout.isTTY === true;
  const meter = new RateMeter();
  const started = Date.now();
  let observation: Observation = { status: 'RUNNING', progress: undefined };
  for (;;) {
    observation = await observe(handle, observation.progress);
    const done = observation.progress?.recordsRead ?? 0;
    const now = Date.now();
    const view: ProgressView = {
      label,
      state: observation.status === 'RUNNING' ? (observation.progress?.state ?? 'starting') : observation.status.toLowerCase(),
      done,
      rate: meter.sample(now, done),
      elapsedMs: now - started,
    };
    if (tty) process.stdout.write(`\r\x1b[K${renderBar(view)}`);
    else process.stdout.write(`${renderPlainLine(view)}\n`);
    if (observation.status !== 'RUNNING') break;
    await delay(every);
  }
  if (tty) process.stdout.write('\n');
  const elapsed = (Date.now() - started) / 1000;
  const read = observation.progress?.recordsRead ?? 0;
  process.stdout.write(`${label}: ${observation.status.toLowerCase()} after ${elapsed.toFixed(1)} s, ${read} records (${Math.round(read / Math.max(elapsed, 0.001))} rec/s overall)\n`);
  return observation;
}

async function backfillHandle(ctx: CliContext, connectionId: string, object: string): Promise<{ client: Client; handle: WorkflowHandle; workflowId: string }> {
  const type = objectType(object);
  const connection = await ctx.connection(connectionId);
  const client = await ctx.client();
  const workflowId = backfillWorkflowId(connection.tenantId, connection.id, type);
  return { client, handle: client.workflow.getHandle(workflowId), workflowId };
}

function outcome(observation: Observation, workflowId: string): void {
  if (observation.status !== 'COMPLETED' && observation.status !== 'RUNNING') {
    throw new CliError(`backfill ${workflowId} ended ${observation.status.toLowerCase()}${observation.failure ? `: ${observation.failure}` : ''}`);
  }
}

export function registerBackfillCommands(program: Command, ctx: CliContext): void {
  const backfill = program.command('backfill').description('bulk copies of one object from a connection to its peers');

  backfill
    .command('start <connection> <object>')
    .description('start a backfill of an object (contact, company, deal, activity) from a connection')
    .option('--since <iso>', 'only records modified since this instant (ISO-8601 with offset)')
    .option('--targets <ids>', 'comma-separated target connections (default: every other active connection of the tenant)')
    .option('--watch', 'follow the progress until the backfill ends')
    .option('--interval <seconds>', 'seconds between progress samples with --watch', '1')
    .action(async (connectionId: string, object: string, options: { since?: string; targets?: string; watch?: boolean; interval: string }) => {
      const type = objectType(object);
      const every = intervalMs(options.interval);
      const connection = await ctx.connection(connectionId);
      const targets = options.targets?.split(',').map((id) => slug(id.trim(), 'target connection'));
      const input: BackfillInput = { tenantId: connection.tenantId, connectionId: connection.id, objectType: type, since: options.since, targets };
      const parsed = backfillInputSchema.safeParse(input);
      if (!parsed.success) throw usageError(parsed.error.issues.map((issue) => `--${String(issue.path[0] ?? 'input')} ${issue.message}`).join('; '));
      for (const target of targets ?? []) {
        const peer = await (await ctx.connections()).getConnection(target);
        if (!peer || peer.tenantId !== connection.tenantId) throw notFound(`unknown target connection "${target}" in tenant ${connection.tenantId}`);
      }
      const client = await ctx.client();
      let handle: WorkflowHandle;
      try {
        handle = await startBackfill(client, ctx.taskQueue, input);
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          throw new CliError(`a ${type} backfill from ${connection.id} is already running (crm-sync backfill status ${connection.id} ${type} --watch)`);
        }
        throw error;
      }
      process.stdout.write(`backfill ${handle.workflowId} started\n`);
      if (options.watch) outcome(await watch(handle, `${type} from ${connection.id}`, every), handle.workflowId);
    });

  backfill
    .command('status <connection> <object>')
    .description("a backfill's progress: records read, written and failed per target")
    .option('--json', 'print JSON')
    .option('--watch', 'follow the progress until the backfill ends')
    .option('--interval <seconds>', 'seconds between progress samples with --watch', '1')
    .action(async (connectionId: string, object: string, options: WatchOptions & { watch?: boolean }) => {
      const every = intervalMs(options.interval);
      const { handle, workflowId } = await backfillHandle(ctx, connectionId, object);
      let observation: Observation;
      try {
        observation = options.watch && !options.json ? await watch(handle, `${object} from ${connectionId}`, every) : await observe(handle, undefined);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw notFound(`no ${object} backfill from ${connectionId} (start one: crm-sync backfill start ${connectionId} ${object})`);
        throw error;
      }
      print(options.json, { workflowId, status: observation.status, progress: observation.progress ?? null, failure: observation.failure ?? null }, () => summary(workflowId, observation));
      outcome(observation, workflowId);
    });

  backfill
    .command('cancel <connection> <object>')
    .description('cancel a running backfill (records already written stay)')
    .action(async (connectionId: string, object: string) => {
      const { handle, workflowId } = await backfillHandle(ctx, connectionId, object);
      let status: string;
      try {
        status = (await handle.describe()).status.name;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw notFound(`no ${object} backfill from ${connectionId}`);
        throw error;
      }
      if (status !== 'RUNNING') throw new CliError(`backfill ${workflowId} is not running (${status.toLowerCase()})`);
      await handle.cancel();
      process.stdout.write(`cancellation of ${workflowId} requested\n`);
    });
}

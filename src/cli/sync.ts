import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { ParkedRecordsRepository } from '../store/parked-records-repository';
import { syncWorkflowId } from '../webhooks/signal';
import type { HeldDeletionsSummary, ParkedRecord, SyncStatus } from '../workflows/connection-sync-state';
import {
  approveDeletionsUpdate,
  heldDeletionsQuery,
  parkedRecordsQuery,
  rejectDeletionsUpdate,
  retryParkedUpdate,
  skipParkedUpdate,
  syncStatusQuery,
} from '../workflows/messages';
import type { CliContext } from './context';
import { notFound } from './errors';
import { print, table } from './io';
import { waitingLinks } from './links';
import { connectionHealth, healthRows, type ConnectionHealth } from './connection-health';

/** The running connection workflow of a stored connection. */
async function syncHandle(ctx: CliContext, connectionId: string): Promise<{ client: Client; handle: WorkflowHandle }> {
  const connection = await ctx.connection(connectionId);
  const client = await ctx.client();
  return { client, handle: client.workflow.getHandle(syncWorkflowId({ tenantId: connection.tenantId, connectionId })) };
}

function renderStatus(status: SyncStatus & { linksWaiting: number } & ConnectionHealth): string {
  const watermarks = Object.entries(status.watermarks).map(([object, at]) => `${object} ${at}`).join(', ');
  const { synced, echoes, conflicts, refusedByPolicy, duplicatesDropped, staleReads, deletesApplied, deletesArchived } = status.stats;
  return table(
    ['CONNECTION', `${status.connectionId} (tenant ${status.tenantId})`],
    [
      ['state', status.state + (status.pausedReason ? ` (${status.pausedReason})` : '')],
      ['pending', String(status.pending)],
      ['parked', String(status.parked) + (status.parkedInStore > 0 ? ` (${status.parkedInStore} beyond the workflow's window, in PostgreSQL)` : '') + (status.parked > 0 ? `  (crm-sync parked list ${status.connectionId})` : '')],
      ['oldest parked', status.oldestParkedAt ?? '-'],
      ['quota paused until', status.quotaPausedUntil ?? '-'],
      ['links waiting', String(status.linksWaiting) + (status.linksWaiting > 0 ? `  (crm-sync links waiting ${status.connectionId})` : '')],
      ['held deletions', String(status.heldDeletions) + (status.heldDeletions > 0 ? `  (crm-sync deletions list ${status.connectionId})` : '')],
      ['last synced', status.lastSyncedAt ?? '-'],
      ['last polled', status.lastPolledAt ?? '-'],
      ['poll error', status.pollError ?? '-'],
      ['store error', status.storeError ?? '-'],
      ['watermarks', watermarks || '-'],
      ...(status.changeEvents ? [['change log', changeLogLine(status.changeEvents)] as [string, string]] : []),
      ...healthRows(status),
      ['stats', `synced ${synced}, echoes ${echoes}, conflicts ${conflicts}, refused by policy ${refusedByPolicy}, duplicates dropped ${duplicatesDropped}, stale reads ${staleReads}, deletes applied ${deletesApplied}, deletes archived ${deletesArchived}`],
    ],
  );
}

/** Where the CDC read stands and when it last had to fall back to a poll (and why). */
function changeLogLine(changeEvents: NonNullable<SyncStatus['changeEvents']>): string {
  const fallback = changeEvents.lastFallback ? `; last fell back to a poll at ${changeEvents.lastFallback.at}: ${changeEvents.lastFallback.reason}` : '';
  const failing = changeEvents.lastError ? `; failing: ${changeEvents.lastError}` : '';
  return `${changeEvents.received} events read, replay id ${changeEvents.replayId ?? '(newest)'}${fallback}${failing}`;
}

function renderParked(records: readonly ParkedRecord[]): string {
  if (records.length === 0) return 'no parked records';
  return table(
    ['KEY', 'REASON', 'ATTEMPTS', 'PARKED AT', 'ERROR'],
    records.map((record) => [record.key, record.reason, String(record.attempts), record.parkedAt, `${record.error.errorClass}: ${record.error.message}`]),
  );
}

function renderHeld(held: readonly HeldDeletionsSummary[]): string {
  if (held.length === 0) return 'no held deletions';
  return table(
    ['ID', 'OBJECT', 'RECORDS', 'HELD AT', 'WHY'],
    held.map((batch) => [batch.id, batch.objectType, String(batch.count), batch.heldAt, batch.reason]),
  );
}

/**
 * Every parked record of the connection: those in the workflow's state (its query) and those it
 * moved to PostgreSQL beyond its window. A record in both (parked again, not yet written) shows as the workflow has it.
 */
async function allParked(ctx: CliContext, handle: WorkflowHandle, connectionId: string): Promise<ParkedRecord[]> {
  const [inState, inStore] = await Promise.all([handle.query(parkedRecordsQuery), new ParkedRecordsRepository(ctx.pool).list(connectionId)]);
  const keys = new Set(inState.map((record) => record.key));
  return [...inState, ...inStore.filter((record) => !keys.has(record.key))];
}

/** Keys the operator named that are not parked: a typo should not pass as "0 retried". */
async function requireParked(ctx: CliContext, handle: WorkflowHandle, connectionId: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const parked = new Set((await allParked(ctx, handle, connectionId)).map((record) => record.key));
  const unknown = keys.filter((key) => !parked.has(key));
  if (unknown.length > 0) throw notFound(`not parked: ${unknown.join(', ')} (see: crm-sync parked list)`);
}

export function registerSyncCommands(program: Command, ctx: CliContext): void {
  program
    .command('sync')
    .description('the connection workflow')
    .command('status <connection>')
    .description("the connection workflow's state, backlog, parked count and counters")
    .option('--json', 'print JSON')
    .action(async (connectionId: string, options: { json?: boolean }) => {
      const { handle } = await syncHandle(ctx, connectionId);
      const [status, waiting, health] = await Promise.all([handle.query(syncStatusQuery), waitingLinks(ctx, connectionId), connectionHealth(ctx, connectionId)]);
      const shown = { ...status, linksWaiting: waiting.length, ...health };
      print(options.json, shown, () => renderStatus(shown));
    });

  const parked = program.command('parked').description('records that could not be synced, kept until retried or skipped');

  parked
    .command('list <connection>')
    .description('list parked records with the error of their last attempt')
    .option('--json', 'print JSON')
    .action(async (connectionId: string, options: { json?: boolean }) => {
      const { handle } = await syncHandle(ctx, connectionId);
      const records = await allParked(ctx, handle, connectionId);
      print(options.json, records, () => renderParked(records));
    });

  parked
    .command('retry <connection> [keys...]')
    .description('re-queue parked records (all, or these keys) for another attempt')
    .action(async (connectionId: string, keys: string[]) => {
      const { handle } = await syncHandle(ctx, connectionId);
      await requireParked(ctx, handle, connectionId, keys);
      const count = await handle.executeUpdate(retryParkedUpdate, { args: [keys.length > 0 ? { keys } : {}] });
      process.stdout.write(`${count} parked record${count === 1 ? '' : 's'} re-queued\n`);
    });

  parked
    .command('skip <connection> <keys...>')
    .description('drop parked records the operator decided not to sync')
    .action(async (connectionId: string, keys: string[]) => {
      const { handle } = await syncHandle(ctx, connectionId);
      await requireParked(ctx, handle, connectionId, keys);
      const count = await handle.executeUpdate(skipParkedUpdate, { args: [{ keys }] });
      process.stdout.write(`${count} parked record${count === 1 ? '' : 's'} skipped\n`);
    });

  const deletions = program.command('deletions').description('deletions held by the mass-delete guard, waiting for an operator');

  deletions
    .command('list <connection>')
    .description('held batches: object, how many records, why, and a sample of ids (--json)')
    .option('--json', 'print JSON')
    .action(async (connectionId: string, options: { json?: boolean }) => {
      const { handle } = await syncHandle(ctx, connectionId);
      const held = await handle.query(heldDeletionsQuery);
      print(options.json, held, () => renderHeld(held));
    });

  for (const [verb, update, effect] of [
    ['approve', approveDeletionsUpdate, 'applied to the other CRMs by the delete policy'],
    ['reject', rejectDeletionsUpdate, 'dropped: the records stay in the other CRMs'],
  ] as const) {
    deletions
      .command(`${verb} <connection> <id>`)
      .description(`${verb} a held batch (id from \`deletions list\`): ${effect}`)
      .action(async (connectionId: string, id: string) => {
        const { handle } = await syncHandle(ctx, connectionId);
        const held = await handle.query(heldDeletionsQuery);
        if (!held.some((batch) => batch.id === id)) {
          throw notFound(`no held deletions "${id}" on ${connectionId}; held now: ${held.map((batch) => batch.id).join(', ') || 'none'}`);
        }
        const count = await handle.executeUpdate(update, { args: [{ id }] });
        process.stdout.write(`${count} deletion${count === 1 ? '' : 's'} ${verb === 'approve' ? 'approved' : 'rejected'} (${id})\n`);
      });
  }
}

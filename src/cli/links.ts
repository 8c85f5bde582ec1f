import type { Command } from 'commander';
import { PendingReferencesRepository, type PendingReferenceRow } from '../store/pending-references-repository';
import { RecordLinksRepository } from '../store/record-links-repository';
import type { CliContext } from './context';
import { print, table } from './io';

/** A waiting link as the operator reads it: both records by their ids in the connection they live in. */
export interface WaitingLinkView {
  holder: { objectType: string; canonicalId: string; externalId: string | null };
  slot: string;
  waitsFor: { objectType: string; canonicalId: string; copies: { connectionId: string; externalId: string }[] };
  since: string;
}

/** Links written to `connectionId` without their related record, which has no copy there yet. */
export async function waitingLinks(ctx: CliContext, connectionId: string): Promise<WaitingLinkView[]> {
  const connection = await ctx.connection(connectionId);
  const rows = await new PendingReferencesRepository(ctx.pool).list({ tenantId: connection.tenantId, targetConnectionId: connectionId });
  const links = new RecordLinksRepository(ctx.pool);
  const holders = await links.externalIdsIn(connectionId, rows.map((row) => row.holderCanonicalId));
  const related = await links.loadSyncedStates([...new Set(rows.map((row) => row.relatedCanonicalId))]);
  return rows.map((row: PendingReferenceRow) => ({
    holder: { objectType: row.holderObjectType, canonicalId: row.holderCanonicalId, externalId: holders.get(row.holderCanonicalId) ?? null },
    slot: row.slot,
    waitsFor: {
      objectType: row.relatedObjectType,
      canonicalId: row.relatedCanonicalId,
      copies: related.filter((state) => state.link.canonicalId === row.relatedCanonicalId).map((state) => ({ connectionId: state.link.connectionId, externalId: state.link.externalId })),
    },
    since: row.since.toISOString(),
  }));
}

function renderWaiting(connectionId: string, views: readonly WaitingLinkView[]): string {
  if (views.length === 0) return `no links waiting in ${connectionId}`;
  return table(
    ['HOLDER', 'SLOT', 'WAITS FOR', 'IN', 'SINCE'],
    views.map((view) => [
      `${view.holder.objectType} ${view.holder.externalId ?? view.holder.canonicalId}`,
      view.slot,
      `${view.waitsFor.objectType} ${view.waitsFor.canonicalId}`,
      view.waitsFor.copies.map((copy) => `${copy.connectionId} ${copy.externalId}`).join(', ') || '-',
      view.since,
    ]),
  );
}

export function registerLinkCommands(program: Command, ctx: CliContext): void {
  program
    .command('links')
    .description('associations between records')
    .command('waiting <connection>')
    .description('links written to this CRM without their related record, which has no copy there yet (parked, or not synced yet): each is written when that record lands')
    .option('--json', 'print JSON')
    .action(async (connectionId: string, options: { json?: boolean }) => {
      const views = await waitingLinks(ctx, connectionId);
      print(options.json, views, () => renderWaiting(connectionId, views));
    });
}

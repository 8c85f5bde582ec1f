import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { ConnectorError } from '../connectors/errors';
import { connectionSettingsIssues } from '../connectors/stored-connections';
import { describeSubscribeOutcome, storedWebhookRegistration, WebhookSetupError, type WebhookRegistration } from '../lifecycle/webhook-registration';
import { syncSettingsSchema } from '../model/sync-settings';
import { ConnectionTokensRepository } from '../store/connection-tokens-repository';
import type { ConnectionSummary } from '../store/connections-repository';
import { syncWorkflowId } from '../webhooks/signal';
import type { SyncStatus } from '../workflows/connection-sync-state';
import { configChangedSignal, syncStatusQuery } from '../workflows/messages';
import type { CliContext } from './context';
import { CliError, exitCodes, usageError } from './errors';
import { readJsonObject } from './io';

/**
 * The connection lifecycle after connect (issue #15): register webhooks, change settings, disable,
 * delete. Each says what it did in one line, and refuses without `--yes` what would lose data
 * (the workflow's parked records or pending changes, credentials, links and snapshots).
 */
export function registerConnectionLifecycleCommands(connection: Command, ctx: CliContext): void {
  connection
    .command('subscribe <id>')
    .description("register the connection's webhooks at its CRM (again): deliveries go to <SHIM_PUBLIC_URL>/webhooks/<provider>/<id>")
    .action(async (id: string) => {
      const stored = await activeConnection(ctx, id, 'subscribe');
      const outcome = await withRegistration(ctx, (registration) => registration.subscribe(id));
      // The workflow re-reads what lapses (and when) with its config.
      await signalIfRunning(await ctx.client(), stored, configChangedSignal);
      process.stdout.write(`connection ${id}: ${describeSubscribeOutcome(outcome)}\n`);
    });

  connection
    .command('settings <id>')
    .description('replace the non-secret settings (validated as at add), and tell the running workflow')
    .requiredOption('--settings-file <file>', 'JSON file with the settings (URLs, sync settings, mapping override)')
    .option('--yes', 'also when the settings point the connection at another CRM account (its links would then name records of the old one)')
    .action(async (id: string, options: { settingsFile: string; yes?: boolean }) => {
      const stored = await activeConnection(ctx, id, 'change the settings of');
      const settings = await readJsonObject(options.settingsFile, 'settings');
      const sync = syncSettingsSchema.safeParse(settings.sync ?? {});
      const issues = [...connectionSettingsIssues(stored.provider, settings), ...(sync.success ? [] : sync.error.issues.map((issue) => `sync.${issue.path.join('.')}: ${issue.message}`))];
      if (issues.length > 0) throw usageError(`invalid settings for ${stored.provider}: ${issues.join('; ')}`);
      const moved = ACCOUNT_SETTINGS.filter((key) => stored.settings[key] !== undefined && settings[key] !== stored.settings[key]);
      if (moved.length > 0 && !options.yes) {
        throw new CliError(`refusing: the settings change ${moved.join(', ')}, which names the CRM account itself; the connection's links would point at the old one's records (run with --yes if that is intended)`);
      }
      await (await ctx.connections()).updateSettings(id, settings);
      const told = await signalIfRunning(await ctx.client(), stored, configChangedSignal);
      process.stdout.write(`connection ${id} settings replaced; ${told ? 'its workflow reloads them now' : 'no running workflow (they apply when it starts)'}\n`);
    });

  connection
    .command('disable <id>')
    .description('remove its webhook subscriptions, stop its workflow and its syncing; links, snapshots and credentials stay')
    .option('--yes', "also when its workflow still holds parked records or pending changes (they are dropped)")
    .action(async (id: string, options: { yes?: boolean }) => {
      const stored = await ctx.connection(id);
      if (stored.status === 'disabled' || stored.status === 'deleted') {
        process.stdout.write(`connection ${id} is already ${stored.status}\n`);
        return;
      }
      const client = await ctx.client();
      await refuseToDropWorkState(client, stored, 'disabling', options.yes);
      const unsubscribed = await withRegistration(ctx, (registration) => registration.unsubscribe(id));
      await (await ctx.connections()).setStatus(id, 'disabled');
      const stopped = await stopWorkflow(client, stored, 'connection disabled (crm-sync connection disable)');
      process.stdout.write(`connection ${id} disabled: ${removedText(unsubscribed)}, workflow ${stopped ? 'stopped' : 'was not running'}; links, snapshots and credentials kept (to turn it back on: crm-sync connection resume ${id}, then crm-sync connection subscribe ${id})\n`);
    });

  connection
    .command('delete <id>')
    .description('disable it and remove its credentials; --purge also removes its links and snapshots')
    .option('--purge', "also remove the connection's record links and snapshots (it cannot be resumed or re-linked afterwards)")
    .option('--yes', 'confirm: credentials (and with --purge, links and snapshots) cannot be recovered')
    .action(async (id: string, options: { purge?: boolean; yes?: boolean }) => {
      const stored = await ctx.connection(id);
      const client = await ctx.client();
      const links = await ctx.pool.query<{ count: string }>('SELECT count(*) AS count FROM record_links WHERE connection_id = $1', [id]);
      const linkCount = Number(links.rows[0]?.count ?? 0);
      if (!options.yes) {
        const what = options.purge ? `its credentials, ${linkCount} record link(s) and their snapshots` : 'its credentials (re-connecting needs a new consent)';
        throw new CliError(`refusing: deleting connection ${id} removes ${what}; run with --yes to confirm`);
      }
      await refuseToDropWorkState(client, stored, 'deleting', options.yes);
      let unsubscribed = { removed: 0, kept: 0 };
      if (stored.status !== 'deleted') {
        unsubscribed = await withRegistration(ctx, (registration) => registration.unsubscribe(id));
        await (await ctx.connections()).setStatus(id, 'disabled');
      }
      const stopped = await stopWorkflow(client, stored, 'connection deleted (crm-sync connection delete)');
      const connections = await ctx.connections();
      if (options.purge) {
        const purged = await connections.purgeConnection(id);
        process.stdout.write(`connection ${id} purged: ${removedText(unsubscribed)}, workflow ${stopped ? 'stopped' : 'was not running'}, credentials, ${purged.links} record link(s) and their snapshots deleted\n`);
        return;
      }
      await connections.removeCredentials(id);
      process.stdout.write(`connection ${id} deleted: ${removedText(unsubscribed)}, workflow ${stopped ? 'stopped' : 'was not running'}, credentials removed; ${linkCount} record link(s) and their snapshots kept (crm-sync connection delete ${id} --purge --yes removes them)\n`);
    });
}

/** Settings that name the CRM account itself: changing one re-points every link. */
const ACCOUNT_SETTINGS = ['instanceUrl', 'orgUrl', 'apiDomain', 'basePath', 'region'] as const;

async function activeConnection(ctx: CliContext, id: string, verb: string): Promise<ConnectionSummary> {
  const stored = await ctx.connection(id);
  if (stored.status === 'deleted') throw new CliError(`cannot ${verb} connection ${id}: it was deleted (its credentials are gone)`);
  return stored;
}

/** Runs `work` with a registration over the CLI's PostgreSQL and the workers' shared tokens; vendor refusals become one line. */
async function withRegistration<T>(ctx: CliContext, work: (registration: WebhookRegistration) => Promise<T>): Promise<T> {
  const connections = await ctx.connections();
  const tokens = new ConnectionTokensRepository(ctx.pool, await ctx.cipher(), { lockPoolSize: 1 });
  try {
    return await work(storedWebhookRegistration({ pool: ctx.pool, connections, tokens, publicUrl: ctx.config.SHIM_PUBLIC_URL }));
  } catch (error) {
    if (error instanceof WebhookSetupError) throw new CliError(error.message, exitCodes.config);
    if (error instanceof ConnectorError) {
      const info = error.toInfo();
      throw new CliError(`the CRM refused: ${info.errorClass}${info.vendorCode ? ` (${info.vendorCode})` : ''}: ${info.message}; nothing else was changed`);
    }
    throw error;
  } finally {
    await tokens.close();
  }
}

/** A workflow stopped with parked records or pending changes in its state drops them: only with --yes. */
async function refuseToDropWorkState(client: Client, connection: ConnectionSummary, doing: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  let status: SyncStatus;
  try {
    status = await client.workflow.getHandle(syncWorkflowId({ tenantId: connection.tenantId, connectionId: connection.id })).query(syncStatusQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return;
    throw error;
  }
  const held = [
    status.parked > 0 ? `${status.parked} parked record(s)` : '',
    status.pending > 0 ? `${status.pending} pending change(s)` : '',
    status.heldDeletions > 0 ? `${status.heldDeletions} held deletion(s)` : '',
  ].filter(Boolean);
  if (held.length > 0) throw new CliError(`refusing: ${doing} connection ${connection.id} stops its workflow, which still holds ${held.join(', ')}; retry or skip them first, or run with --yes to drop them`);
}

/** Terminates the connection's workflow; false when none ran. */
function stopWorkflow(client: Client, connection: ConnectionSummary, reason: string): Promise<boolean> {
  return ifRunning(client, connection, (handle) => handle.terminate(reason));
}

function signalIfRunning(client: Client, connection: ConnectionSummary, signal: typeof configChangedSignal): Promise<boolean> {
  return ifRunning(client, connection, (handle) => handle.signal(signal));
}

/** Acts on the connection's workflow; false when none runs. */
async function ifRunning(client: Client, connection: ConnectionSummary, act: (handle: WorkflowHandle) => Promise<unknown>): Promise<boolean> {
  try {
    await act(client.workflow.getHandle(syncWorkflowId({ tenantId: connection.tenantId, connectionId: connection.id })));
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** "2 webhook subscription(s) removed", and those kept because other connections share them. */
function removedText({ removed, kept }: { removed: number; kept: number }): string {
  return `${removed} webhook subscription(s) removed${kept > 0 ? ` (${kept} kept: other connections of the same app still receive through them)` : ''}`;
}

import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { ConnectorError } from '../connectors/errors';
import { createStoredConnectionRegistry, InvalidConnectionError } from '../connectors/stored-connections';
import { crmProviderSchema, objectTypes } from '../model/identifiers';
import { ConnectionTokensRepository } from '../store/connection-tokens-repository';
import type { ConnectionSummary } from '../store/connections-repository';
import { temporalSignalConnection, syncWorkflowId } from '../webhooks/signal';
import { backfillReauthorisedSignal } from '../workflows/backfill-messages';
import { backfillWorkflowId } from '../workflows/backfill-state';
import { pauseSyncSignal, reauthorisedSignal, resumeSyncSignal } from '../workflows/messages';
import { registerConnectionLifecycleCommands } from './connection-lifecycle';
import type { CliContext } from './context';
import { CliError, classifyError, exitCodes, notFound, usageError } from './errors';
import { print, readJsonObject, slug, table } from './io';
import { ConsentInputError } from '../oauth/consent-flow';
import { ConsentStateSigner } from '../oauth/consent-state';
import { loadOAuthApps } from '../oauth/oauth-apps';
import { ConsentSetupError, startConsent } from '../oauth/start-consent';
import { loadEncryptionKeyring } from '../store/keyring';
import { OAuthConsentsRepository } from '../store/oauth-consents-repository';

export function registerConnectionCommands(program: Command, ctx: CliContext): void {
  const connection = program.command('connection').description('CRM connections of a tenant');

  connection
    .command('add <tenant> <id>')
    .description('store a connection (credentials sealed with the active key) and start its sync workflow')
    .requiredOption('--provider <provider>', crmProviderSchema.options.join(' | '))
    .requiredOption('--settings-file <file>', 'JSON file with non-secret settings (URLs, sync settings, mapping override)')
    .requiredOption('--credentials-file <file>', 'JSON file with the credentials, or - to read them from stdin (never pass secrets as arguments)')
    .action(async (tenantArg: string, idArg: string, options: { provider: string; settingsFile: string; credentialsFile: string }) => {
      const tenantId = slug(tenantArg, 'tenant id');
      const id = slug(idArg, 'connection id');
      const provider = crmProviderSchema.safeParse(options.provider);
      if (!provider.success) throw usageError(`--provider must be one of ${crmProviderSchema.options.join(', ')}, got "${options.provider}"`);
      const settings = await readJsonObject(options.settingsFile, 'settings');
      const credentials = await readJsonObject(options.credentialsFile, 'credentials');
      const connections = await ctx.connections();
      try {
        await connections.addConnection({ id, tenantId, provider: provider.data, settings, credentials });
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === '23503') throw notFound(`unknown tenant "${tenantId}" (add it first: crm-sync tenant add ${tenantId})`);
        if (code === '23505') throw new CliError(`connection "${id}" already exists`);
        throw error;
      }
      try {
        // What the webhook shim does for a delivery: start the workflow unless it runs.
        await temporalSignalConnection({ client: await ctx.client(), taskQueue: ctx.taskQueue, timeoutMs: 10_000 })({ tenantId, connectionId: id }, { events: [] });
      } catch (error) {
        const failure = classifyError(error);
        throw new CliError(
          `connection ${id} stored, but its workflow could not be started (${failure?.message ?? (error as Error).message}); the supervisor starts it once Temporal is reachable`,
          failure?.exitCode === exitCodes.unavailable ? exitCodes.unavailable : exitCodes.failed,
        );
      }
      process.stdout.write(`connection ${id} (${provider.data}) added to tenant ${tenantId}; workflow ${syncWorkflowId({ tenantId, connectionId: id })} running\n`);
    });

  connection
    .command('connect <tenant> <id>')
    .description("print the vendor's consent URL; once a person approves there, the shim stores the connection (tokens sealed) and starts its sync")
    .requiredOption('--provider <provider>', crmProviderSchema.options.join(' | '))
    .option('--region <region>', "Zoho's data centre: us | eu | in | au | jp | ca | cn (default us)")
    .option('--org-url <url>', 'Dynamics: the environment URL, https://<org>.crm.dynamics.com')
    .option('--settings-file <file>', 'JSON file with non-secret settings (sync settings, mapping override)')
    .action(async (tenantArg: string, idArg: string, options: { provider: string; region?: string; orgUrl?: string; settingsFile?: string }) => {
      const tenantId = slug(tenantArg, 'tenant id');
      const id = slug(idArg, 'connection id');
      const provider = crmProviderSchema.safeParse(options.provider);
      if (!provider.success) throw usageError(`--provider must be one of ${crmProviderSchema.options.join(', ')}, got "${options.provider}"`);
      const settings = options.settingsFile ? await readJsonObject(options.settingsFile, 'settings') : {};
      if (options.orgUrl !== undefined) settings.orgUrl = options.orgUrl;
      let apps;
      try {
        apps = loadOAuthApps();
      } catch (error) {
        throw classifyError(error) ?? error;
      }
      const connections = await ctx.connections();
      if (await connections.getConnection(id)) throw new CliError(`connection "${id}" already exists (to replace its credentials: crm-sync connection reauthorise ${id})`);
      const consents = new OAuthConsentsRepository(ctx.pool, await ctx.cipher());
      const signer = new ConsentStateSigner(await loadEncryptionKeyring(ctx.config));
      let started;
      try {
        started = await startConsent({ apps, signer, consents }, { tenantId, connectionId: id, provider: provider.data, region: options.region, settings });
      } catch (error) {
        if (error instanceof ConsentInputError) throw usageError(error.message);
        if (error instanceof ConsentSetupError) throw new CliError(error.message, exitCodes.config);
        if ((error as { code?: string }).code === '23503') throw notFound(`unknown tenant "${tenantId}" (add it first: crm-sync tenant add ${tenantId})`);
        throw error;
      }
      process.stdout.write(
        `Open this URL in a browser to connect ${id} (${provider.data}) to tenant ${tenantId}; it works once, until ${started.expiresAt.toISOString()}:\n\n${started.url.toString()}\n\nThe vendor then returns to ${started.redirectUri}, which stores the connection and starts its sync.\n`,
      );
    });

  connection
    .command('list')
    .description('list connections')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--json', 'print JSON')
    .action(async (options: { tenant?: string; json?: boolean }) => {
      const connections = await ctx.connections();
      const rows = options.tenant
        ? await connections.listConnections(slug(options.tenant, 'tenant id'))
        : await connections.listConnectionsWithStatus(['active', 'paused', 'needs-reauth', 'disabled']);
      // Settings are not secret, but they are long: JSON shows them, the table does not.
      print(options.json, rows, () =>
        rows.length === 0
          ? 'no connections'
          : table(
              ['ID', 'TENANT', 'PROVIDER', 'STATUS', 'UPDATED'],
              rows.map((row) => [row.id, row.tenantId, row.provider, row.status, row.updatedAt.toISOString()]),
            ),
      );
    });

  connection
    .command('test <id>')
    .description('check the stored credentials with one cheap authenticated call to the CRM (contact changes since now)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const stored = await ctx.connection(id);
      const connections = await ctx.connections();
      // The workers' shared tokens: a refresh here must store a rotated refresh token as theirs does.
      const tokens = new ConnectionTokensRepository(ctx.pool, await ctx.cipher(), { lockPoolSize: 1 });
      const registry = createStoredConnectionRegistry({ connections, pool: ctx.pool, tokens, defaults: { requestTimeoutMs: 15_000, maxBudgetWaitMs: 5_000 } });
      let connector;
      try {
        connector = await registry.forConnection(id);
        // One authenticated read every connector and vendor supports: contact changes since now
        // (an empty page). It proves the credentials and the read permission the sync needs.
        await connector.listChanges('contact', { since: new Date().toISOString(), limit: 1 });
        print(options.json, { connectionId: id, provider: stored.provider, ok: true }, () => `ok: ${stored.provider} accepted the credentials of ${id} (read contact changes)`);
      } catch (error) {
        if (error instanceof ConnectorError) {
          const info = error.toInfo();
          if (options.json) print(true, { connectionId: id, provider: stored.provider, ok: false, error: info }, () => '');
          throw new CliError(`failed: ${info.errorClass}${info.vendorCode ? ` (${info.vendorCode})` : ''}: ${info.message}`);
        }
        if (error instanceof InvalidConnectionError) throw new CliError(error.message);
        throw error;
      } finally {
        await (connector as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => undefined);
        await tokens.close();
      }
    });

  connection
    .command('pause <id>')
    .description('pause syncing (stored, so it survives restarts) and signal the running workflow')
    .option('--reason <text>', 'shown in sync status')
    .action(async (id: string, options: { reason?: string }) => {
      const stored = await ctx.connection(id);
      await (await ctx.connections()).setStatus(id, 'paused');
      const signalled = await signalIfRunning(await ctx.client(), stored, (handle) => handle.signal(pauseSyncSignal, options.reason === undefined ? {} : { reason: options.reason }));
      process.stdout.write(`connection ${id} paused${signalled ? '' : ' (no running workflow: it starts paused)'}\n`);
    });

  connection
    .command('resume <id>')
    .description('resume a paused connection')
    .action(async (id: string) => {
      const stored = await ctx.connection(id);
      if (stored.status === 'deleted') throw new CliError(`cannot resume connection ${id}: it was deleted (its credentials are gone; connect it again under a new id)`);
      await (await ctx.connections()).setStatus(id, 'active');
      const signalled = await signalIfRunning(await ctx.client(), stored, (handle) => handle.signal(resumeSyncSignal));
      process.stdout.write(`connection ${id} resumed${signalled ? '' : ' (no running workflow: the supervisor starts it)'}\n`);
    });

  connection
    .command('reauthorise <id>')
    .alias('reauthorize')
    .description('replace the credentials (sealed with the active key) and wake what waited for them')
    .requiredOption('--credentials-file <file>', 'JSON file with the new credentials, or - for stdin')
    .action(async (id: string, options: { credentialsFile: string }) => {
      const stored = await ctx.connection(id);
      const credentials = await readJsonObject(options.credentialsFile, 'credentials');
      const connections = await ctx.connections();
      await connections.replaceCredentials(id, credentials);
      if (stored.status === 'needs-reauth') await connections.setStatus(id, 'active');
      const client = await ctx.client();
      const signalled = await signalIfRunning(client, stored, (handle) => handle.signal(reauthorisedSignal));
      // Backfills reading from or writing to this connection may be waiting too.
      const peers = await connections.listConnections(stored.tenantId);
      for (const peer of peers) {
        for (const objectType of objectTypes) {
          await client.workflow
            .getHandle(backfillWorkflowId(stored.tenantId, peer.id, objectType))
            .signal(backfillReauthorisedSignal)
            .catch((error: unknown) => {
              if (!(error instanceof WorkflowNotFoundError)) throw error;
            });
        }
      }
      process.stdout.write(`connection ${id} re-authorised${signalled ? '' : ' (no running workflow)'}\n`);
    });

  registerConnectionLifecycleCommands(connection, ctx);
}

/** Signals the connection's workflow; false when none runs (the stored status then applies when it starts). */
async function signalIfRunning(client: Client, connection: ConnectionSummary, send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>): Promise<boolean> {
  try {
    await send(client.workflow.getHandle(syncWorkflowId({ tenantId: connection.tenantId, connectionId: connection.id })));
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

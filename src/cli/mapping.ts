import type { Command } from 'commander';
import { dynamicsDefaultMapping } from '../connectors/dynamics/default-mapping';
import { hubspotDefaultMapping } from '../connectors/hubspot/default-mapping';
import { pipedriveDefaultMapping } from '../connectors/pipedrive/default-mapping';
import { salesforceDefaultMapping } from '../connectors/salesforce/default-mapping';
import { zohoDefaultMapping } from '../connectors/zoho/default-mapping';
import { crmProviderSchema, type CrmProvider } from '../model/identifiers';
import { compileMapping, MappingSpecError, type ConnectorMappingSpec, type MappingIssue } from '../model/mapping';
import { signalConfigChanged } from './config-changed';
import type { CliContext } from './context';
import { CliError, usageError } from './errors';
import { print, readJsonObject } from './io';

const defaultMappings: Record<CrmProvider, ConnectorMappingSpec> = {
  salesforce: salesforceDefaultMapping,
  hubspot: hubspotDefaultMapping,
  dynamics: dynamicsDefaultMapping,
  pipedrive: pipedriveDefaultMapping,
  zoho: zohoDefaultMapping,
};

export function registerMappingCommands(program: Command, ctx: CliContext): void {
  const mapping = program.command('mapping').description('field mappings');

  mapping
    .command('validate <file>')
    .description("compile a mapping override (or a connection settings file's mappingOverride) against the provider's defaults; prints every problem with its path")
    .requiredOption('--provider <provider>', Object.keys(defaultMappings).join(' | '))
    .option('--json', 'print JSON')
    .action(async (file: string, options: { provider: string; json?: boolean }) => {
      const provider = crmProviderSchema.safeParse(options.provider);
      const defaults = provider.success ? defaultMappings[provider.data] : undefined;
      if (!defaults) throw usageError(`--provider must be one of ${Object.keys(defaultMappings).join(', ')}, got "${options.provider}"`);
      const json = await readJsonObject(file, 'mapping');
      const override = 'mappingOverride' in json ? json.mappingOverride : json;
      let issues: readonly MappingIssue[] = [];
      try {
        compileMapping(defaults, override);
      } catch (error) {
        if (!(error instanceof MappingSpecError)) throw error;
        issues = error.issues;
      }
      print(options.json, { valid: issues.length === 0, issues }, () =>
        issues.length === 0 ? `ok: ${file} is a valid ${provider.data} mapping` : issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'),
      );
      if (issues.length > 0) throw new CliError(`mapping ${file} is invalid: ${issues.length} problem${issues.length === 1 ? '' : 's'}`);
    });

  mapping
    .command('set <connection> <file>')
    .description("replace a connection's mapping override (fields, and the owner map `owners`: vendor user id -> email), validated against its provider's defaults first; takes effect on the next activity")
    .option('--json', 'print JSON')
    .action(async (connectionId: string, file: string, options: { json?: boolean }) => {
      const stored = await ctx.connection(connectionId);
      const json = await readJsonObject(file, 'mapping');
      const override = 'mappingOverride' in json ? json.mappingOverride : json;
      let issues: readonly MappingIssue[] = [];
      try {
        compileMapping(defaultMappings[stored.provider], override);
      } catch (error) {
        if (!(error instanceof MappingSpecError)) throw error;
        issues = error.issues;
      }
      if (issues.length > 0) {
        print(options.json, { valid: false, issues }, () => issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
        // Nothing is stored: the connection keeps the override it had.
        throw new CliError(`mapping ${file} is invalid for ${stored.provider}: ${issues.length} problem${issues.length === 1 ? '' : 's'}; connection ${connectionId} unchanged`);
      }
      await (await ctx.connections()).updateSettings(connectionId, { ...stored.settings, mappingOverride: override });
      // The override is stored whatever happens next: activities read it from now on.
      await signalConfigChanged(ctx, stored.tenantId).catch((error: unknown) => {
        process.stderr.write(`warning: the running syncs were not told (${error instanceof Error ? error.message : String(error)}): records parked on validation failures wait for crm-sync parked retry\n`);
      });
      const owners = (override as { owners?: Record<string, string> }).owners;
      print(options.json, { connection: connectionId, owners: owners ? Object.keys(owners).length : 0 }, () => `connection ${connectionId}: mapping override stored${owners ? ` (${Object.keys(owners).length} owners mapped)` : ' (no owner map: owners are not synced)'}`);
    });
}

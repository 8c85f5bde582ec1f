import type { Command } from 'commander';
import type { CliContext } from './context';
import { CliError } from './errors';
import { print, slug, table } from './io';

export function registerTenantCommands(program: Command, ctx: CliContext): void {
  const tenant = program.command('tenant').description('tenants: the companies whose CRMs are synced');

  tenant
    .command('add <id>')
    .description('add a tenant (id: lowercase letters, digits, hyphens)')
    .option('--name <name>', 'display name (default: the id)')
    .action(async (id: string, options: { name?: string }) => {
      const connections = await ctx.connections();
      try {
        await connections.addTenant(slug(id, 'tenant id'), options.name ?? id);
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new CliError(`tenant "${id}" already exists`);
        throw error;
      }
      process.stdout.write(`tenant ${id} added\n`);
    });

  tenant
    .command('list')
    .description('list tenants')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const tenants = await (await ctx.connections()).listTenants();
      print(options.json, tenants, () =>
        tenants.length === 0 ? 'no tenants (add one: crm-sync tenant add <id>)' : table(['ID', 'NAME', 'CREATED'], tenants.map((t) => [t.id, t.name, t.createdAt.toISOString()])),
      );
    });
}

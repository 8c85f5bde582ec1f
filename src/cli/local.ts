import type { Command } from 'commander';
import type { CliContext } from './context';

/**
 * Local-work commands. Both run the existing entry points (src/sandbox/cli.ts, src/dev/start.ts)
 * rather than copies of them, so `crm-sync dev` is always exactly `npm start`.
 */
export function registerLocalCommands(program: Command, ctx: CliContext): void {
  program
    .command('sandbox')
    .description('start the Salesforce, HubSpot and Dynamics sandboxes with seeded records (same as npm run sandbox); Ctrl-C stops them')
    .option('--contacts <n>', 'contacts to seed in each', '50')
    .option('--port-base <port>', 'Salesforce on this port, HubSpot +1, Dynamics +2; 0 for free ports', '4010')
    .action(async (options: { contacts: string; portBase: string }) => {
      // The sandbox entry point reads its own options from argv.
      process.argv = [process.argv[0] ?? 'node', 'sandbox', '--contacts', options.contacts, '--port-base', options.portBase];
      ctx.keepAlive = true;
      await import('../sandbox/cli');
    });

  program
    .command('dev')
    .description('everything for local work, as npm start: Temporal dev server, database, worker (Ctrl-C stops what it started)')
    .action(async () => {
      ctx.keepAlive = true;
      await import('../dev/start');
    });
}

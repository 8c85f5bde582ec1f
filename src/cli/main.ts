/**
 * `crm-sync`: the operator CLI. Each command group lives in its own module; this file wires them
 * and turns every failure into one line on stderr and a documented exit code (see errors.ts).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerBackfillCommands } from './backfill';
import { registerConnectionCommands } from './connection';
import { CliContext } from './context';
import { classifyError, exitCodeHelp, exitCodes } from './errors';
import { registerKeysCommands } from './keys';
import { registerLinkCommands } from './links';
import { registerLocalCommands } from './local';
import { registerMappingCommands } from './mapping';
import { registerSyncCommands } from './sync';
import { registerTenantCommands } from './tenant';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const debug = process.argv.includes('--debug') || process.env.CRM_SYNC_DEBUG === '1';
const ctx = new CliContext();

const program = new Command('crm-sync')
  .description('Operate crm-sync: tenants, connections, backfills, sync status, parked records, keys.')
  .version(version)
  .option('--debug', 'print the stack trace of an unexpected error')
  .exitOverride()
  .showSuggestionAfterError(true)
  // Commander's messages ("error: unknown option '--x'\n(Did you mean --y?)") as one line.
  .configureOutput({ outputError: (message, write) => write(`crm-sync: ${message.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`) })
  .addHelpText(
    'after',
    `\n${exitCodeHelp}\n\nConfiguration comes from the environment: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,\nTEMPORAL_TASK_QUEUE, CRM_SYNC_ENCRYPTION_KEYS, CRM_SYNC_ACTIVE_KEY_ID (see the README).`,
  );

registerTenantCommands(program, ctx);
registerConnectionCommands(program, ctx);
registerMappingCommands(program, ctx);
registerBackfillCommands(program, ctx);
registerSyncCommands(program, ctx);
registerLinkCommands(program, ctx);
registerKeysCommands(program, ctx);
registerLocalCommands(program, ctx);

async function exit(code: number): Promise<never> {
  await ctx.close();
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed its message (or the help/version text).
    const shown = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
    await exit(shown ? exitCodes.ok : exitCodes.usage);
  }
  const known = classifyError(error);
  if (known) {
    process.stderr.write(`crm-sync: ${known.message}\n`);
    if (debug && known.stack) process.stderr.write(`${known === error ? known.stack : (error as Error).stack}\n`);
    await exit(known.exitCode);
  }
  process.stderr.write(
    debug ? `crm-sync: unexpected error: ${(error as Error).stack ?? String(error)}\n` : `crm-sync: unexpected error: ${(error as Error).message ?? String(error)} (rerun with --debug for details)\n`,
  );
  await exit(exitCodes.failed);
}
if (!ctx.keepAlive) await exit(exitCodes.ok);

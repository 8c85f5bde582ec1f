import type { Command } from 'commander';
import type { CliContext } from './context';
import { print } from './io';

export function registerKeysCommands(program: Command, ctx: CliContext): void {
  program
    .command('keys')
    .description('credential encryption keys')
    .command('rotate')
    .description(
      're-encrypt every connection\'s credentials under the active key (CRM_SYNC_ACTIVE_KEY_ID); keep the old key in CRM_SYNC_ENCRYPTION_KEYS until this has run and no retained workflow history was encrypted under it',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const cipher = await ctx.cipher();
      const result = await (await ctx.connections()).reencryptCredentials();
      print(options.json, { activeKeyId: cipher.activeKeyId, ...result }, () =>
        `${result.reencrypted} of ${result.connections} connection${result.connections === 1 ? '' : 's'} re-encrypted under key "${cipher.activeKeyId}"` +
        (result.reencrypted === 0 ? ' (all were already)' : ''),
      );
    });
}

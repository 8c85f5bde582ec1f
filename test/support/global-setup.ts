import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config';
import { findFreePort, startDevServer, type RunningDevServer } from '../../src/devserver/dev-server';
import { resolveTemporalCli } from '../../src/devserver/temporal-cli';
import { ensureDatabase } from '../../src/store/database';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    temporalCliPath: string;
    testDatabaseUrl: string;
  }
}

let server: RunningDevServer | undefined;

/**
 * Starts one in-memory, headless dev server on a free port for the whole run (or uses
 * TEMPORAL_ADDRESS), through the same code `npm start` uses, and makes sure the test database
 * exists. Test files get isolated task queues and schemas on top of these.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadConfig();
  const cli = await resolveTemporalCli({
    cacheDir: config.CRM_SYNC_CACHE_DIR,
    explicitPath: config.TEMPORAL_CLI_PATH,
    log: (line) => console.log(`[global-setup] ${line}`),
  });
  if (config.TEMPORAL_ADDRESS) {
    project.provide('temporalAddress', config.TEMPORAL_ADDRESS);
  } else {
    server = await startDevServer({ cliPath: cli.path, port: await findFreePort() });
    project.provide('temporalAddress', server.address);
  }
  project.provide('temporalNamespace', 'default');
  project.provide('temporalCliPath', cli.path);

  const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm_sync_test';
  await ensureDatabase(testDatabaseUrl);
  project.provide('testDatabaseUrl', testDatabaseUrl);

  return async () => {
    await server?.stop();
  };
}

/**
 * `npm run temporal:install`: makes sure the pinned Temporal CLI is available (building it once
 * into the cache if needed) and prints where it is. CI calls this so the build is a visible step.
 */
import { loadConfigOrExit } from '../config';
import { resolveTemporalCli, TemporalCliUnavailableError } from './temporal-cli';

const config = loadConfigOrExit();
try {
  const started = Date.now();
  const cli = await resolveTemporalCli({
    cacheDir: config.CRM_SYNC_CACHE_DIR,
    explicitPath: config.TEMPORAL_CLI_PATH,
    log: (line) => console.log(line),
  });
  console.log(`temporal CLI: ${cli.path} (from ${cli.source}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (error) {
  if (!(error instanceof TemporalCliUnavailableError)) throw error;
  console.error(error.message);
  process.exit(69); // EX_UNAVAILABLE
}

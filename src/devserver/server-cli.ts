/**
 * `npm run temporal:server`: runs (or reuses) the dev server alone, with the project's search
 * attributes, until interrupted. Useful when the worker runs under a debugger.
 */
import { loadConfigOrExit } from '../config';
import { ensureTemporal } from './ensure-temporal';
import { TemporalCliUnavailableError } from './temporal-cli';

const config = loadConfigOrExit();
try {
  const temporal = await ensureTemporal(config, (line) => console.log(line));
  console.log(`Temporal frontend: ${temporal.address} (namespace ${temporal.namespace})`);
  if (temporal.uiUrl) console.log(`Temporal Web UI:   ${temporal.uiUrl}`);
  if (temporal.server) {
    const stop = (): void => void temporal.server?.stop().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    console.log('Press Ctrl-C to stop.');
  }
} catch (error) {
  if (!(error instanceof TemporalCliUnavailableError)) throw error;
  console.error(error.message);
  process.exit(69);
}

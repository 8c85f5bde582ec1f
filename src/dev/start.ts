/**
 * `npm start`: brings up (or reuses) the Temporal dev server, prepares PostgreSQL and runs the
 * worker, printing where to look. Ctrl-C stops what it started.
 */
import { loadConfigOrExit } from '../config';
import { ensureTemporal } from '../devserver/ensure-temporal';
import { TemporalCliUnavailableError } from '../devserver/temporal-cli';
import { createPool, ensureDatabase } from '../store/database';
import { migrateUp } from '../store/migrate';
import { createWorker } from '../worker';

const log = (line: string): void => console.log(`[crm-sync] ${line}`);
const config = loadConfigOrExit();

let temporal;
try {
  temporal = await ensureTemporal(config, log);
} catch (error) {
  if (!(error instanceof TemporalCliUnavailableError)) throw error;
  console.error(error.message);
  process.exit(69);
}

log(`PostgreSQL: database ${await ensureDatabase(config.DATABASE_URL)}.`);
const applied = await migrateUp({ databaseUrl: config.DATABASE_URL });
log(`Migrations: ${applied.length ? applied.join(', ') : 'up to date'}.`);

const pool = createPool(config.DATABASE_URL);
const worker = await createWorker({ config, address: temporal.address, pool, log });

log(`Temporal frontend: ${temporal.address} (namespace ${temporal.namespace})`);
if (temporal.uiUrl) log(`Temporal Web UI:   ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows`);
log(`Worker polling task queue "${config.TEMPORAL_TASK_QUEUE}". Press Ctrl-C to stop.`);

const stop = (): void => worker.shutdown();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
await worker.run();
await pool.end();
await temporal.server?.stop();
log('Stopped.');

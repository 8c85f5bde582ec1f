/** `npm run shim`: the webhook shim process. */
import { Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { createPool } from '../store/database';
import { buildShimApp } from './app';

const config = loadConfigOrExit();
const pool = createPool(config.DATABASE_URL, { max: 4 });
const temporalAddress = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
let temporal: Connection | undefined;

const app = buildShimApp({
  readiness: {
    postgres: async () => {
      await pool.query('SELECT 1');
    },
    temporal: async () => {
      temporal ??= await Connection.connect({ address: temporalAddress, connectTimeout: 2000 });
      await temporal.healthService.check({});
    },
  },
});

await app.listen({ host: '0.0.0.0', port: config.SHIM_PORT });
console.log(`Webhook shim listening on :${config.SHIM_PORT} (GET /healthz, /readyz).`);

// Finish in-flight requests, then release connections.
const shutdown = async (): Promise<void> => {
  await app.close();
  await temporal?.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

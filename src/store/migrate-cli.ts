/** `npm run migrate`: creates the database if missing and applies pending migrations. */
import { loadConfigOrExit } from '../config';
import { ensureDatabase } from './database';
import { migrateUp } from './migrate';

const config = loadConfigOrExit();
const created = await ensureDatabase(config.DATABASE_URL);
const applied = await migrateUp({ databaseUrl: config.DATABASE_URL });
console.log(`database ${created}; migrations applied: ${applied.length ? applied.join(', ') : 'none pending'}`);

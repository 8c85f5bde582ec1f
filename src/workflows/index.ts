/**
 * Every workflow the worker registers. The worker bundles this file for Temporal's deterministic
 * sandbox, so nothing here (or imported from here) may do I/O; activities are `import type` only.
 */
export { connectionSync } from './connection-sync';
export { supervisor } from './supervisor';
export { backfill } from './backfill';

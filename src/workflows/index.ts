/**
 * Every workflow the worker registers. The worker bundles this file for Temporal's deterministic
 * sandbox, so nothing here (or imported from here) may do I/O; activities are `import type` only.
 *
 * The connection sync and backfill workflows arrive with the sync-engine issue; until then the
 * worker registers none and polls its task queue for activities only.
 */
export {};

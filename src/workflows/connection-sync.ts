import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { loadFirstConfig, reloadConfig } from './connection-sync/config';
import { changeLogReadSettled, pollWaitsForChangeLog, readChangeEvents, readsChangeLog } from './connection-sync/change-events';
import { deletePolicyOf } from './connection-sync/deletions';
import { applyDecidedDeletions, flushHeldDeletions } from './connection-sync/held-deletions';
import { HELD_WINDOW } from './connection-sync/held-window';
import { setConnectionSyncHandlers } from './connection-sync/handlers';
import { applyNoticedChanges } from './connection-sync/noticed-changes';
import { PARKED_WINDOW } from './connection-sync/parked-records';
import { flushParked, queueParkedRetryPage } from './connection-sync/parked-store';
import { firstPollAt } from './connection-sync/poll-schedule';
import { pollChanges } from './connection-sync/polling';
import { healParked, retryAfterConfigChange, selfHealingDueAt } from './connection-sync/self-healing';
import { publishSearchAttributes } from './connection-sync/search-attributes';
import { WebhookRenewal } from './connection-sync/webhook-renewal';
import { ConnectionSyncState, connectionSyncInputSchema } from './connection-sync-state';

/**
 * Workflow changes that running executions meet (each a `patched` marker; recorded histories of
 * runs from before each replay in CI, test/workflows/product-replay.test.ts).
 */
const PATCHES = {
  /** Parked records beyond a small window move to PostgreSQL; runs from before keep them all in state. */
  parkedOverflow: 'parked-overflow',
  /** lastPolledAt moves only when a poll got through every object (it moved after failed polls too). */
  lastPolledOnSuccess: 'last-polled-on-success',
  /** needsReauth rides across continue-as-new (the next run forgot it and called the CRM again). */
  carryNeedsReauth: 'carry-needs-reauth',
  /** A paused, re-authorising or quota-paused run still continues as new (its history grew without bound). */
  continueAsNewWhilePaused: 'continue-as-new-while-paused',
  /** Applying a long queue of notices stops for continue-as-new (one pass could outgrow the history size limit). */
  noticesYield: 'notices-yield-to-continue-as-new',
  /** Transient and rate-limited parked records retry on a growing timer; validation ones after a config change. */
  parkedSelfHealing: 'parked-self-healing',
  /** lastPolledAt rides across continue-as-new: the next run polls an interval after it (it polled at once). */
  carryLastPolledAt: 'carry-last-polled-at',
  /** Continue-as-new carries a bounded number of notices and held deletion ids (the rest: a poll, PostgreSQL). */
  boundedCarry: 'bounded-carry',
  /** Subscriptions that lapse (Zoho's channel_expiry) are renewed by this workflow's timer, carried across continue-as-new. */
  webhookRenewal: 'webhook-renewal',
} as const;

/**
 * One tenant-CRM connection, for as long as it exists (workflow id `sync:<tenant>:<connection>`).
 * Change notices arrive as signals from the webhook shim, or from the vendor's change log read at a
 * position kept here (Salesforce CDC); a timer polls as the safety net; each
 * batch is read once from this CRM and applied to every other CRM of the tenant in parallel, each
 * target failing on its own. What cannot be written is parked, visible and retryable; beyond a few
 * hundred, parked records live in PostgreSQL so the run's state stays small. A failure of
 * crm-sync's own database never ends the run (that would lose its state): see fromStore.
 */
export async function connectionSync(rawInput: unknown): Promise<void> {
  const parsed = connectionSyncInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid connectionSync input: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`, 'InvalidInput');
  }
  const { tenantId, connectionId, carried, continueAsNewAfterEvents, parkedWindow, heldWindow } = parsed.data;
  const state = new ConnectionSyncState(
    tenantId,
    connectionId,
    carried,
    patched(PATCHES.parkedOverflow) ? (parkedWindow ?? PARKED_WINDOW) : Infinity,
    patched(PATCHES.boundedCarry) ? (heldWindow ?? HELD_WINDOW) : Infinity,
  );
  setConnectionSyncHandlers(state);

  let config = await loadFirstConfig(state);
  state.provider = config.provider;
  publishSearchAttributes(state, config);
  const webhooks = await WebhookRenewal.start(connectionId, patched(PATCHES.webhookRenewal), carried?.webhookRenewal);
  let nextPollAt = patched(PATCHES.carryLastPolledAt) ? firstPollAt(state, config) : Date.now();

  const continueAsNewDue = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (continueAsNewAfterEvents !== undefined && info.historyLength >= continueAsNewAfterEvents);
  };
  /** Hands over to a new run; returns (and the loop goes on) only while parked records wait for the store. */
  const continueAsNewIfDue = async (): Promise<void> => {
    if (!continueAsNewDue() || !(await flushParked(state)) || !(await flushHeldDeletions(state))) return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof connectionSync>({
      tenantId,
      connectionId,
      continueAsNewAfterEvents,
      parkedWindow,
      heldWindow,
      carried: { ...state.carry({ withReauth: patched(PATCHES.carryNeedsReauth), withLastPolledAt: patched(PATCHES.carryLastPolledAt), bounded: patched(PATCHES.boundedCarry) }), ...webhooks.carry() },
    });
  };

  for (;;) {
    // Reading the change log waits for changes itself; without one, wait for a notice or the poll.
    const changeLog = readsChangeLog(config);
    if (!changeLog) {
      await condition(
        () =>
          state.configChanged ||
          (!state.paused && !state.needsReauth && !state.quotaPaused(Date.now()) && (state.pending.size > 0 || state.approvedDeletions.length > 0 || state.parked.pendingRetry !== null)),
        Math.max(1, Math.min(nextPollAt, selfHealingDueAt(state) ?? Infinity, webhooks.dueAt()) - Date.now()),
      );
    }
    if (state.configChanged || state.configStale) {
      state.configChanged = false;
      config = await reloadConfig(state, config);
      if (!state.configStale && patched(PATCHES.parkedSelfHealing)) retryAfterConfigChange(state);
      await webhooks.onConfigReloaded();
    }
    await webhooks.renewIfDue();
    state.requeueDeferredDeletions();
    if (state.paused || state.needsReauth || state.quotaPaused(Date.now())) {
      publishSearchAttributes(state, config);
      if (!patched(PATCHES.continueAsNewWhilePaused)) {
        await condition(() => (!state.paused && !state.needsReauth) || state.configChanged);
        continue;
      }
      // Notices keep arriving while paused: the history they grow is handed over like any other.
      const quotaLeftMs = state.quotaPausedUntil === null ? 0 : Date.parse(state.quotaPausedUntil) - Date.now();
      const resumed = () => !state.paused && !state.needsReauth && !state.quotaPaused(Date.now());
      if (quotaLeftMs > 0) await condition(() => resumed() || state.configChanged || continueAsNewDue(), quotaLeftMs);
      else await condition(() => resumed() || state.configChanged || continueAsNewDue());
      if (!state.quotaPaused(Date.now())) state.quotaPausedUntil = null;
      await continueAsNewIfDue();
      continue;
    }
    // Operator decisions first: the next poll reports the same deletions again (look-back).
    while (state.approvedDeletions.length > 0 && !state.paused && !state.needsReauth) {
      const decided = state.approvedDeletions[0] as (typeof state.approvedDeletions)[number];
      const policy = decided.decision === 'rejected' ? 'ignore' : deletePolicyOf(config, decided.objectType);
      if (!(await applyDecidedDeletions(state, config, decided, policy))) break;
      state.approvedDeletions.shift();
    }
    if (changeLog) {
      await readChangeEvents(state, config, nextPollAt);
      if (state.changeEvents.pollNow) {
        state.changeEvents.pollNow = false;
        nextPollAt = Date.now();
      }
    }
    if (Date.now() >= nextPollAt && !pollWaitsForChangeLog(state, changeLog, nextPollAt)) {
      const pollGotThrough = await pollChanges(state, config, continueAsNewDue);
      if (pollGotThrough || !patched(PATCHES.lastPolledOnSuccess)) state.lastPolledAt = new Date(Date.now()).toISOString();
      if (pollGotThrough) state.pollAtOnce = false;
      nextPollAt = Date.now() + config.settings.pollIntervalMs;
    }
    await flushParked(state);
    await flushHeldDeletions(state);
    if (patched(PATCHES.parkedSelfHealing)) healParked(state, config);
    if (state.parked.pendingRetry !== null && state.pending.size < config.settings.batchSize) {
      await queueParkedRetryPage(state, config.settings.batchSize);
    }
    if (state.pending.size > 0) {
      // Let a burst of edits settle, so ten keystrokes become one write (a change-log read waited for its burst).
      if (!changeLogReadSettled(changeLog)) await sleep(config.settings.debounceMs);
      // A flood of notices is handed over with the rest of the queue rather than grow one history past its limit.
      while (state.pending.size > 0 && !state.paused && !state.needsReauth && !state.quotaPaused(Date.now()) && !(continueAsNewDue() && patched(PATCHES.noticesYield))) {
        await applyNoticedChanges(state, config);
        await flushParked(state);
      }
    }
    state.settleStoreError();
    publishSearchAttributes(state, config);
    await continueAsNewIfDue();
  }
}

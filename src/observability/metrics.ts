/**
 * Every metric crm-sync exposes, defined here and nowhere else (prom-client, Prometheus text
 * format). Recorded as side effects where they happen: in activities, the connectors' rate budget
 * and token provider, and the webhook shim; never in workflow code, which replays.
 *
 * Labels are bounded: tenant, connection, object type, provider, window names and outcomes, never
 * a record id, a URL or an error message. A connection id arriving in a webhook URL is not a label
 * either (anyone can send one), only the provider, and only when it is one we know.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { crmProviders } from '../model/identifiers';

/** The process's registry: the worker's and the shim's `/metrics` serve it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'crm_sync_process_' });

/** What happened to one record applied to one target (`applyToTarget`'s outcomes, backfills included). */
export type RecordOutcome = 'synced' | 'echoed' | 'conflicted' | 'parked' | 'refused-by-policy' | 'stale';

const records = new Counter({
  name: 'crm_sync_records_total',
  help: 'Records applied to a target connection, by outcome: synced (written or already equal), echoed (our own write read back), conflicted (a true conflict decided), parked (could not be written), refused-by-policy, stale.',
  labelNames: ['tenant', 'connection', 'object', 'outcome', 'path'] as const,
  registers: [metricsRegistry],
});

const webhookDeliveries = new Counter({
  name: 'crm_sync_webhook_deliveries_total',
  help: 'Webhook deliveries answered by the shim, by provider and HTTP status code.',
  labelNames: ['provider', 'code'] as const,
  registers: [metricsRegistry],
});

const rateBudgetUsed = new Gauge({
  name: 'crm_sync_rate_budget_used_ratio',
  help: 'Share of a connection rate window in use after the last admitted call (1 = the usable limit, the reserve excluded).',
  labelNames: ['provider', 'connection', 'window'] as const,
  registers: [metricsRegistry],
});

const rateBudgetWaits = new Counter({
  name: 'crm_sync_rate_budget_waits_total',
  help: 'Times a call waited for room in a connection rate window before it was sent.',
  labelNames: ['provider', 'connection', 'window'] as const,
  registers: [metricsRegistry],
});

const rateBudgetWaitSeconds = new Counter({
  name: 'crm_sync_rate_budget_wait_seconds_total',
  help: 'Time calls spent waiting for room in a connection rate window.',
  labelNames: ['provider', 'connection', 'window'] as const,
  registers: [metricsRegistry],
});

const rateBudgetRefusals = new Counter({
  name: 'crm_sync_rate_budget_refusals_total',
  help: 'Calls the rate budget refused without sending: quota-exhausted (the connection pauses) or rate-limited (no room within the longest wait).',
  labelNames: ['provider', 'connection', 'window', 'reason'] as const,
  registers: [metricsRegistry],
});

const tokenRefreshes = new Counter({
  name: 'crm_sync_token_refreshes_total',
  help: 'Access-token renewals asked of the vendor, by outcome: ok, refused (the grant: the connection needs re-authorisation) or failed (transient).',
  labelNames: ['provider', 'outcome'] as const,
  registers: [metricsRegistry],
});

const backfillRecords = new Counter({
  name: 'crm_sync_backfill_records_total',
  help: 'Records a backfill wrote to a target (rate() of it is the backfill throughput).',
  labelNames: ['tenant', 'connection', 'object', 'target'] as const,
  registers: [metricsRegistry],
});

const pollLag = new Gauge({
  name: 'crm_sync_poll_lag_seconds',
  help: 'Now minus the watermark a poll started from, at the last poll of the connection and object.',
  labelNames: ['tenant', 'connection', 'object'] as const,
  registers: [metricsRegistry],
});

const pollCompleted = new Gauge({
  name: 'crm_sync_poll_last_completed_timestamp_seconds',
  help: 'When a poll page of the connection and object was last read (Unix seconds): a sync that stops polling stops moving it.',
  labelNames: ['tenant', 'connection', 'object'] as const,
  registers: [metricsRegistry],
});

const pollRecords = new Counter({
  name: 'crm_sync_poll_records_total',
  help: 'Records changed since the watermark that polls read (with a high poll lag: the poll is behind, not idle).',
  labelNames: ['tenant', 'connection', 'object'] as const,
  registers: [metricsRegistry],
});

const needsReauth = new Counter({
  name: 'crm_sync_needs_reauth_total',
  help: 'Calls that ended in an auth failure after a token refresh: the connection needs re-authorisation.',
  labelNames: ['provider', 'connection'] as const,
  registers: [metricsRegistry],
});

interface RecordScope {
  tenantId: string;
  connectionId: string;
  objectType: string;
  /** live (webhooks and polls) or backfill. */
  path: 'live' | 'backfill';
}

export function recordOutcomes(scope: RecordScope, outcomes: Partial<Record<RecordOutcome, number>>): void {
  for (const [outcome, count] of Object.entries(outcomes)) {
    if (count && count > 0) records.inc({ tenant: scope.tenantId, connection: scope.connectionId, object: scope.objectType, outcome, path: scope.path }, count);
  }
}

const KNOWN_PROVIDERS: ReadonlySet<string> = new Set(crmProviders);

/** `provider` comes from the URL: anything else than a provider we serve counts as `unknown`. */
export function recordWebhookDelivery(provider: string, statusCode: number): void {
  webhookDeliveries.inc({ provider: KNOWN_PROVIDERS.has(provider) ? provider : 'unknown', code: String(statusCode) });
}

interface WindowScope {
  provider: string;
  connectionId: string;
  window: string;
}

const windowLabels = (scope: WindowScope) => ({ provider: scope.provider, connection: scope.connectionId, window: scope.window });

export function recordRateBudgetUse(scope: WindowScope, used: number, usable: number): void {
  rateBudgetUsed.set(windowLabels(scope), usable > 0 ? used / usable : 0);
}

export function recordRateBudgetWait(scope: WindowScope, waitMs: number): void {
  rateBudgetWaits.inc(windowLabels(scope));
  rateBudgetWaitSeconds.inc(windowLabels(scope), waitMs / 1000);
}

export function recordRateBudgetRefusal(scope: WindowScope, reason: 'quota-exhausted' | 'rate-limited'): void {
  rateBudgetRefusals.inc({ ...windowLabels(scope), reason });
}

export function recordTokenRefresh(provider: string, outcome: 'ok' | 'refused' | 'failed'): void {
  tokenRefreshes.inc({ provider, outcome });
}

export function recordBackfillWrites(scope: { tenantId: string; connectionId: string; objectType: string }, written: Record<string, number>): void {
  for (const [target, count] of Object.entries(written)) {
    if (count > 0) backfillRecords.inc({ tenant: scope.tenantId, connection: scope.connectionId, object: scope.objectType, target }, count);
  }
}

/** A poll page read from `since`: the lag is measured against the watermark the workflow handed in. */
export function recordPoll(scope: { tenantId: string; connectionId: string; objectType: string }, since: string, recordsRead: number, nowMs = Date.now()): void {
  const labels = { tenant: scope.tenantId, connection: scope.connectionId, object: scope.objectType };
  const watermark = Date.parse(since);
  if (Number.isFinite(watermark)) pollLag.set(labels, Math.max(0, (nowMs - watermark) / 1000));
  pollCompleted.set(labels, nowMs / 1000);
  if (recordsRead > 0) pollRecords.inc(labels, recordsRead);
}

export function recordNeedsReauth(provider: string, connectionId: string): void {
  needsReauth.inc({ provider, connection: connectionId });
}

const connectionState = new Gauge({
  name: 'crm_sync_connection_state',
  help: 'A connection workflow state as its SyncState search attribute says (running, paused, needs-reauth, awaiting-approval, degraded): 1 for the current one. Set by the supervisor pass.',
  labelNames: ['tenant', 'connection', 'state'] as const,
  registers: [metricsRegistry],
});

const connectionParked = new Gauge({
  name: 'crm_sync_connection_parked_records',
  help: 'Records parked in a connection workflow (its ParkedCount search attribute). Set by the supervisor pass.',
  labelNames: ['tenant', 'connection'] as const,
  registers: [metricsRegistry],
});

const connectionLastSynced = new Gauge({
  name: 'crm_sync_connection_last_synced_timestamp_seconds',
  help: 'When a connection workflow last applied a batch to its peers (its LastSyncedAt search attribute, Unix seconds). Set by the supervisor pass.',
  labelNames: ['tenant', 'connection'] as const,
  registers: [metricsRegistry],
});

export interface ObservedConnection {
  tenantId: string;
  connectionId: string;
  state: string;
  parked: number;
  lastSyncedAt?: Date | undefined;
}

/**
 * The running connection workflows as one supervisor pass saw them. Replaces the previous pass's
 * series, so a connection whose workflow ended (or changed state) leaves no stale one behind.
 */
export function recordConnectionStates(observed: readonly ObservedConnection[]): void {
  connectionState.reset();
  connectionParked.reset();
  connectionLastSynced.reset();
  for (const connection of observed) {
    const labels = { tenant: connection.tenantId, connection: connection.connectionId };
    connectionState.set({ ...labels, state: connection.state }, 1);
    connectionParked.set(labels, connection.parked);
    if (connection.lastSyncedAt) connectionLastSynced.set(labels, connection.lastSyncedAt.getTime() / 1000);
  }
}

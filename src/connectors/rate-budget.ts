import type pg from 'pg';
import type { CrmProvider } from '../model/identifiers';
import { recordRateBudgetRefusal, recordRateBudgetUse, recordRateBudgetWait } from '../observability/metrics';
import { ConnectorError } from './errors';
import { MemoryRateBudgetStore, PostgresRateBudgetStore, type Bucket, type BucketAdd, type RateBudgetStore, type WindowBuckets, type WindowRetention } from './rate-budget-store';

/**
 * A connection's request budget, enforced before each call and shared by every worker (the log
 * lives in PostgreSQL), so a fleet of workers never trips a CRM's limit together.
 *
 * The vendors count a rolling window of arrival times, so the budget keeps a rolling log too: per
 * window, requests counted in buckets of ~1/200 of the window (at least 25 ms). A call is admitted
 * when every bucket that overlaps the window ending now, widened by a small guard, leaves room for
 * it. Any rolling window then holds at most the limit, and the price is at most one bucket plus
 * the guard (1.5 % of a 10 s window at the default 100 ms guard). The guard absorbs the jitter
 * between our admission and the vendor's clock (serialising the body, event-loop lag at both
 * ends); a spec sets a wider one where a window is spent in bursts (HubSpot's, see its spec). Fixed slots of length S, which this replaced, had to
 * give each slot L/(k+1) for a window of k slots and so never used more than k/(k+1) of L.
 */
export interface RateWindowPolicy {
  /** e.g. `ten-secondly`, `daily`, `service-protection`. */
  name: string;
  /** The vendor's limit for the window. */
  limit: number;
  windowMs: number;
  /** @deprecated Ignored: the budget keeps a rolling log, not fixed slots. */
  slots?: number;
  /** Share of the limit left unused (daily quotas: room for people and other integrations). */
  reserve?: number;
  /** Spent = pause the connection (quota-exhausted) rather than wait inside a call. */
  quota?: boolean;
  /**
   * Added to the window: a call admitted here reaches the vendor a little later, and calls overtake
   * each other on the way (scheduling, connection reuse, network jitter). Default
   * min(100 ms, windowMs / 20).
   */
  guardMs?: number;
}

export interface RateBudgetOptions {
  provider: CrmProvider;
  connectionId: string;
  windows: readonly RateWindowPolicy[];
  /** Shared log; omit for an in-process budget (single worker, tests of pure logic). */
  pool?: pg.Pool | undefined;
  /** Replaces the store `pool` selects (tests with their own clock). */
  store?: RateBudgetStore | undefined;
  /** Longest a call waits for room before failing rate-limited (so activities stay short). */
  maxWaitMs?: number | undefined;
  /** Injected for tests, with `now` (the clock maxWaitMs is measured on) and the store's clock. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface RateWindowUsage {
  name: string;
  /** The usable limit: the vendor's, less the reserve. */
  limit: number;
  /** Requests counted in the rolling window (with the guard). */
  used: number;
  remaining: number;
  /** Until the oldest counted bucket leaves the window (0 when none is counted). */
  resetsInMs: number;
}

export interface RateBudgetSnapshot {
  connectionId: string;
  windows: RateWindowUsage[];
}

/** A policy resolved to what the log needs. */
export interface WindowGeometry {
  name: string;
  /** The vendor's limit. */
  limit: number;
  reserve: number;
  /** floor(limit · (1 - reserve)): what the budget may take. */
  usable: number;
  windowMs: number;
  bucketMs: number;
  guardMs: number;
  quota: boolean;
}

export type Admission = { admitted: true; take: BucketAdd[] } | { admitted: false; window: WindowGeometry; retryAfterMs: number };

/** About 200 buckets per window, so a key keeps ~200 rows per window (plus `observe`'s look-back). */
const BUCKETS_PER_WINDOW = 200;
const MIN_BUCKET_MS = 25;
const MAX_DEFAULT_GUARD_MS = 100;
/** How old a vendor's usage figure may be assumed when the caller does not say (see `observe`). */
const DEFAULT_OBSERVE_AGE_MS = 1_000;
/** Buckets are kept this long past the window so `observe` can look back as far. */
const MAX_OBSERVE_AGE_MS = 10_000;
/** A quota closed by the vendor's figure opens again after this share of its window (see `observedBucketStart`). */
const QUOTA_RECHECK_SHARE = 0.1;

export function windowGeometry(policy: RateWindowPolicy): WindowGeometry {
  const reserve = policy.reserve ?? 0;
  return {
    name: policy.name,
    limit: policy.limit,
    reserve,
    usable: Math.max(1, Math.floor(policy.limit * (1 - reserve))),
    windowMs: policy.windowMs,
    bucketMs: Math.max(Math.ceil(policy.windowMs / BUCKETS_PER_WINDOW), MIN_BUCKET_MS),
    guardMs: policy.guardMs ?? Math.min(MAX_DEFAULT_GUARD_MS, Math.ceil(policy.windowMs / 20)),
    quota: policy.quota ?? false,
  };
}

export function bucketStart(window: WindowGeometry, nowMs: number): number {
  return Math.floor(nowMs / window.bucketMs) * window.bucketMs;
}

/**
 * Buckets that overlap the guarded window ending at `nowMs`, oldest first. A request taken at t
 * sits in a bucket that ends after t, so it is counted for at least windowMs + guardMs.
 */
export function countedBuckets(window: WindowGeometry, buckets: readonly Bucket[], nowMs: number, lookBackMs = 0): Bucket[] {
  const from = nowMs - window.windowMs - window.guardMs - lookBackMs;
  return buckets.filter((bucket) => bucket.startMs + window.bucketMs > from).sort((a, b) => a.startMs - b.startMs);
}

const total = (buckets: readonly Bucket[]): number => buckets.reduce((sum, bucket) => sum + bucket.used, 0);

/** When `bucket` stops being counted. */
const leavesAt = (window: WindowGeometry, bucket: Bucket): number => bucket.startMs + window.bucketMs + window.windowMs + window.guardMs;

/**
 * The admission decision, for all windows at once: `cost` is taken from every window or from none.
 * Refused, it names the window to blame (a spent quota first, else the one that frees last) and
 * the exact wait until enough old buckets have left every window for `cost` to fit.
 */
export function decideAdmission(windows: readonly WindowGeometry[], buckets: WindowBuckets, nowMs: number, cost: number): Admission {
  const refusals: { window: WindowGeometry; retryAfterMs: number }[] = [];
  for (const window of windows) {
    const counted = countedBuckets(window, buckets.get(window.name) ?? [], nowMs);
    const excess = total(counted) + cost - window.usable;
    if (excess <= 0) continue;
    // Oldest first: the wait ends when the bucket that frees the last needed request leaves.
    let freed = 0;
    const enough = counted.find((bucket) => (freed += bucket.used) >= excess);
    refusals.push({ window, retryAfterMs: Math.max(1, enough ? leavesAt(window, enough) - nowMs : window.windowMs + window.guardMs) });
  }
  if (refusals.length > 0) {
    const retryAfterMs = Math.max(...refusals.map((refusal) => refusal.retryAfterMs));
    const blamed = refusals.reduce((worst, refusal) =>
      (refusal.window.quota && !worst.window.quota) || (refusal.window.quota === worst.window.quota && refusal.retryAfterMs > worst.retryAfterMs) ? refusal : worst,
    );
    return { admitted: false, window: blamed.window, retryAfterMs };
  }
  return { admitted: true, take: windows.map((window) => ({ window: window.name, startMs: bucketStart(window, nowMs), used: cost })) };
}

/**
 * How many requests to add to the current bucket so that the log holds at least what the vendor
 * counts (people, other integrations, other apps). `ageMs` is how long ago the observed call was
 * admitted: the vendor counted at its arrival, so our own requests that have left the window since
 * are still in its figure, and the log is compared over the window widened by that age. A vendor
 * reporting the allowance (less the reserve) spent closes the window.
 */
export function reconcileObserved(window: WindowGeometry, buckets: readonly Bucket[], nowMs: number, usage: { used: number; limit: number }, ageMs: number): number {
  const spent = usage.used >= Math.floor(usage.limit * (1 - window.reserve));
  const target = spent ? window.usable : Math.min(usage.used, window.usable);
  const ours = total(countedBuckets(window, buckets, nowMs, Math.min(Math.max(0, ageMs), MAX_OBSERVE_AGE_MS)));
  return Math.max(0, target - ours);
}

/**
 * Where `observe` puts what the vendor counted beyond our log. Short windows: now, so it leaves
 * with the window. Quota windows: backdated so it leaves after a tenth of the window, when one
 * call (paid by the reserve) asks the vendor again. Usage we cannot see may age out long before
 * it would in our log (a rolling day), or vanish at once (HubSpot's and Pipedrive's days reset at
 * midnight); closing the quota for a whole day on a guess would stall a connection for nothing.
 */
export function observedBucketStart(window: WindowGeometry, nowMs: number): number {
  return bucketStart(window, window.quota ? nowMs - window.windowMs + Math.ceil(window.windowMs * QUOTA_RECHECK_SHARE) : nowMs);
}

export function windowUsage(window: WindowGeometry, buckets: readonly Bucket[], nowMs: number): RateWindowUsage {
  const counted = countedBuckets(window, buckets, nowMs);
  const used = total(counted);
  const oldest = counted[0];
  return {
    name: window.name,
    limit: window.usable,
    used,
    remaining: Math.max(0, window.usable - used),
    resetsInMs: oldest ? Math.max(0, leavesAt(window, oldest) - nowMs) : 0,
  };
}

export class RateBudget {
  private readonly windows: WindowGeometry[];
  private readonly retention: WindowRetention[];
  private readonly store: RateBudgetStore;
  private readonly key: string;
  private readonly maxWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: RateBudgetOptions) {
    this.key = `${options.provider}:${options.connectionId}`;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.windows = options.windows.map(windowGeometry);
    this.retention = this.windows.map((window) => ({ window: window.name, retainMs: window.windowMs + window.guardMs + window.bucketMs + MAX_OBSERVE_AGE_MS }));
    this.store = options.store ?? (options.pool ? new PostgresRateBudgetStore(options.pool) : new MemoryRateBudgetStore());
  }

  /**
   * Takes `cost` requests from every window, waiting (up to maxWaitMs) for room. A spent quota
   * window throws quota-exhausted at once: the caller pauses instead of failing at the vendor.
   */
  async acquire(cost = 1): Promise<void> {
    const tooBig = this.windows.find((window) => cost > window.usable);
    if (tooBig) throw new RangeError(`a cost of ${cost} can never fit the ${tooBig.name} budget of ${tooBig.usable}`);
    const deadline = this.now() + this.maxWaitMs;
    for (;;) {
      const admission = await this.store.update(this.key, this.retention, (buckets, nowMs) => {
        const decision = decideAdmission(this.windows, buckets, nowMs, cost);
        // What each window holds with this call in it, for the budget-used gauge (metrics.ts).
        const used = decision.admitted ? this.windows.map((window) => total(countedBuckets(window, buckets.get(window.name) ?? [], nowMs)) + cost) : [];
        return { result: { decision, used }, add: decision.admitted ? decision.take : [] };
      });
      const metricScope = (window: WindowGeometry) => ({ provider: this.options.provider, connectionId: this.options.connectionId, window: window.name });
      if (admission.decision.admitted) {
        this.windows.forEach((window, index) => recordRateBudgetUse(metricScope(window), admission.used[index] ?? 0, window.usable));
        return;
      }
      const { window, retryAfterMs } = admission.decision;
      if (window.quota || this.now() + retryAfterMs > deadline) {
        recordRateBudgetRefusal(metricScope(window), window.quota ? 'quota-exhausted' : 'rate-limited');
        throw new ConnectorError({
          provider: this.options.provider,
          errorClass: window.quota ? 'quota-exhausted' : 'rate-limited',
          message: `${window.name} budget of connection ${this.options.connectionId} is spent (${window.limit} per ${window.windowMs / 1000} s, reserve ${Math.round(window.reserve * 100)}%)`,
          retryAfterMs,
        });
      }
      recordRateBudgetWait(metricScope(window), retryAfterMs);
      await this.sleep(retryAfterMs);
    }
  }

  /**
   * Feeds the vendor's own usage figure (Sforce-Limit-Info, X-HubSpot-RateLimit-*). The vendor
   * counts what we cannot see (people, other integrations): whatever it counts beyond our log is
   * added to it, so the window stays that much fuller until those age out (a quota: until a tenth
   * of its window has passed), and a reported spent allowance closes it (a spent quota then pauses
   * the next call here instead of the vendor refusing it). `ageMs`: time since the call that
   * brought the figure was admitted; the default assumes at most a second.
   */
  async observe(windowName: string, usage: { used: number; limit: number }, ageMs = DEFAULT_OBSERVE_AGE_MS): Promise<void> {
    const window = this.windows.find((candidate) => candidate.name === windowName);
    if (!window) return;
    await this.store.update(this.key, this.retention, (buckets, nowMs) => {
      const missing = reconcileObserved(window, buckets.get(window.name) ?? [], nowMs, usage, ageMs);
      return { result: undefined, add: missing > 0 ? [{ window: window.name, startMs: observedBucketStart(window, nowMs), used: missing }] : [] };
    });
  }

  async snapshot(): Promise<RateBudgetSnapshot> {
    const windows = await this.store.update(this.key, this.retention, (buckets, nowMs) => ({
      result: this.windows.map((window) => windowUsage(window, buckets.get(window.name) ?? [], nowMs)),
      add: [],
    }));
    return { connectionId: this.options.connectionId, windows };
  }
}

import type pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { CrmProvider } from '../model/identifiers';
import { ConnectorError } from './errors';

/**
 * A connection's request budget, enforced before each call and shared by every worker (counters
 * live in PostgreSQL), so a fleet of workers never trips a CRM's limit together.
 *
 * The vendors' windows roll; the limiter library counts fixed windows ("slots") of whole
 * seconds. A rolling window of length W overlaps at most ceil(W/S)+1 slots of length S, so each
 * slot allows floor(L·(1 - reserve) / (ceil(W/S)+1)) requests: the rolling total can never
 * exceed the vendor's L, at the cost of about 1/(k+1) of the ceiling for k = W/S slots.
 */
export interface RateWindowPolicy {
  /** e.g. `ten-secondly`, `daily`, `service-protection`. */
  name: string;
  /** The vendor's limit for the window. */
  limit: number;
  windowMs: number;
  /** Fixed slots per window, at least 1 s each (see above); more slots = closer to the ceiling. Default 10. */
  slots?: number;
  /** Share of the limit left unused (daily quotas: room for people and other integrations). */
  reserve?: number;
  /** Spent = pause the connection (quota-exhausted) rather than wait inside a call. */
  quota?: boolean;
}

export interface RateBudgetOptions {
  provider: CrmProvider;
  connectionId: string;
  windows: readonly RateWindowPolicy[];
  /** Shared counters; omit for an in-process budget (single worker, tests of pure logic). */
  pool?: pg.Pool | undefined;
  /** Longest a call waits for a slot before failing rate-limited (so activities stay short). */
  maxWaitMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RateWindowUsage {
  name: string;
  limit: number;
  /** Requests counted in the current slot, scaled to the window. */
  used: number;
  remaining: number;
  resetsInMs: number;
}

export interface RateBudgetSnapshot {
  connectionId: string;
  windows: RateWindowUsage[];
}

interface Slotted {
  policy: Required<Omit<RateWindowPolicy, 'quota'>> & { quota: boolean };
  perSlot: number;
  /** Slots a rolling window overlaps: perSlot × overlapping never exceeds the vendor's limit. */
  overlapping: number;
  limiter: RateLimiterAbstract;
}

export class RateBudget {
  private readonly windows: Slotted[];
  private readonly key: string;
  private readonly maxWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: RateBudgetOptions) {
    this.key = options.connectionId;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.windows = options.windows.map((window) => {
      const policy = { slots: 10, reserve: 0, quota: false, ...window };
      const slotSeconds = Math.max(1, Math.round(policy.windowMs / policy.slots / 1000));
      const overlapping = Math.ceil(policy.windowMs / (slotSeconds * 1000)) + 1;
      const perSlot = Math.max(1, Math.floor((policy.limit * (1 - policy.reserve)) / overlapping));
      const duration = slotSeconds;
      const common = { points: perSlot, duration, keyPrefix: `${options.provider}:${policy.name}` };
      const limiter = options.pool
        ? new RateLimiterPostgres({ ...common, storeClient: options.pool, tableName: 'rate_budget_counters', tableCreated: true })
        : new RateLimiterMemory(common);
      return { policy, perSlot, overlapping, limiter };
    });
  }

  /**
   * Takes `cost` requests from every window, waiting (up to maxWaitMs) for a slot. A spent quota
   * window throws quota-exhausted at once: the caller pauses instead of failing at the vendor.
   */
  async acquire(cost = 1): Promise<void> {
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const refusal = await this.tryConsume(cost);
      if (!refusal) return;
      const { window, retryAfterMs } = refusal;
      if (window.policy.quota || Date.now() + retryAfterMs > deadline) {
        throw new ConnectorError({
          provider: this.options.provider,
          errorClass: window.policy.quota ? 'quota-exhausted' : 'rate-limited',
          message: `${window.policy.name} budget of connection ${this.key} is spent (${window.policy.limit} per ${window.policy.windowMs / 1000} s, reserve ${Math.round(window.policy.reserve * 100)}%)`,
          retryAfterMs,
        });
      }
      await this.sleep(retryAfterMs);
    }
  }

  /**
   * Feeds the vendor's own usage figure (Sforce-Limit-Info, X-HubSpot-RateLimit-*). The vendor
   * counts what we cannot see (people, other integrations), so when it reports the allowance
   * (less the reserve) spent, the window closes for the rest of its slot: the next call pauses
   * here instead of being refused by the vendor.
   */
  async observe(windowName: string, usage: { used: number; limit: number }): Promise<void> {
    const window = this.windows.find((candidate) => candidate.policy.name === windowName);
    if (!window) return;
    if (usage.used >= Math.floor(usage.limit * (1 - window.policy.reserve))) {
      await window.limiter.penalty(this.key, window.perSlot);
    }
  }

  async snapshot(): Promise<RateBudgetSnapshot> {
    const windows = await Promise.all(
      this.windows.map(async ({ policy, perSlot, overlapping, limiter }) => {
        const state = await limiter.get(this.key);
        const used = (state?.consumedPoints ?? 0) * overlapping;
        const limit = perSlot * overlapping;
        return { name: policy.name, limit, used: Math.min(used, limit), remaining: Math.max(0, limit - used), resetsInMs: state?.msBeforeNext ?? 0 };
      }),
    );
    return { connectionId: this.key, windows };
  }

  private async tryConsume(cost: number): Promise<{ window: Slotted; retryAfterMs: number } | undefined> {
    const taken: Slotted[] = [];
    for (const window of this.windows) {
      try {
        await window.limiter.consume(this.key, cost);
        taken.push(window);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        // All or nothing: give back what the earlier windows already counted.
        await Promise.all(taken.map((earlier) => earlier.limiter.reward(this.key, cost)));
        return { window, retryAfterMs: Math.max(1, error.msBeforeNext) };
      }
    }
    return undefined;
  }
}

import { RateWindow } from '../core/rate-window';
import { DataverseError, ErrorCodes } from './errors';

/** Service protection limits, evaluated per user over a 5-minute sliding window [D14]. */
export interface ServiceProtectionOptions {
  /** false turns every limit off (benchmarks). */
  enabled?: boolean;
  /** Default 6,000. */
  requestsPerWindow?: number;
  /** Default 1,200,000 ms of combined execution time. */
  executionTimeMs?: number;
  /** Default 52. */
  concurrency?: number;
  /** Default 300,000 ms. */
  windowMs?: number;
  /** Simulated server time per request, holding its concurrency slot and counting as execution time. */
  executionDelayMs?: number;
}

interface UserBudget {
  requests: RateWindow;
  executions: { at: number; ms: number }[];
  inFlight: number;
}

export interface Admission {
  /** Call when the request finished; records its execution time and frees the slot. */
  release(): void;
  headers(): Record<string, string>;
}

function tooMany(code: string, message: string, retryAfterMs: number): DataverseError {
  return new DataverseError(429, code, message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) });
}

export class ServiceProtection {
  private readonly users = new Map<string, UserBudget>();
  private options: Required<ServiceProtectionOptions>;

  constructor(
    options: ServiceProtectionOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.options = ServiceProtection.withDefaults(options);
  }

  static withDefaults(options: ServiceProtectionOptions): Required<ServiceProtectionOptions> {
    return {
      enabled: options.enabled ?? true,
      requestsPerWindow: options.requestsPerWindow ?? 6000,
      executionTimeMs: options.executionTimeMs ?? 1_200_000,
      concurrency: options.concurrency ?? 52,
      windowMs: options.windowMs ?? 300_000,
      executionDelayMs: options.executionDelayMs ?? 0,
    };
  }

  configure(options: ServiceProtectionOptions): Required<ServiceProtectionOptions> {
    this.options = ServiceProtection.withDefaults({ ...this.options, ...options });
    for (const budget of this.users.values()) budget.requests.limit = this.options.requestsPerWindow;
    return this.current();
  }

  current(): Required<ServiceProtectionOptions> {
    return { ...this.options };
  }

  executionDelayMs(): number {
    return this.options.executionDelayMs;
  }

  /** Admits one request (a whole $batch counts as one [D14]) or throws the vendor's 429. */
  admit(userId: string): Admission {
    const started = this.now();
    if (!this.options.enabled) return { release: () => undefined, headers: () => ({}) };
    const budget = this.budget(userId);
    if (budget.inFlight >= this.options.concurrency) {
      throw tooMany(ErrorCodes.concurrencyLimit, `Number of concurrent requests exceeded the limit of ${this.options.concurrency}.`, 1000);
    }
    const spent = this.executionSpent(budget);
    if (spent >= this.options.executionTimeMs) {
      const oldest = budget.executions[0]?.at ?? started;
      throw tooMany(
        ErrorCodes.executionTimeLimit,
        `Combined execution time of incoming requests exceeded limit of ${this.options.executionTimeMs.toLocaleString('en-US')} milliseconds over time window of ${this.options.windowMs / 1000} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
        oldest + this.options.windowMs - started,
      );
    }
    const state = budget.requests.take();
    if (!state.allowed) {
      throw tooMany(
        ErrorCodes.requestsLimit,
        `Number of requests exceeded the limit of ${this.options.requestsPerWindow} over time window of ${this.options.windowMs / 1000} seconds.`,
        state.retryAfterMs,
      );
    }
    budget.inFlight += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        budget.inFlight -= 1;
        budget.executions.push({ at: this.now(), ms: this.now() - started });
      },
      headers: () => this.headers(budget, state.remaining),
    };
  }

  /** Marks `count` requests as already made by `userId` in the current window. */
  spend(userId: string, count: number): void {
    this.budget(userId).requests.consume(count);
  }

  reset(): void {
    this.users.clear();
  }

  private headers(budget: UserBudget, remaining: number): Record<string, string> {
    const seconds = Math.max(0, this.options.executionTimeMs - this.executionSpent(budget)) / 1000;
    return {
      'x-ms-ratelimit-burst-remaining-xrm-requests': String(remaining),
      'x-ms-ratelimit-time-remaining-xrm-requests': seconds.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    };
  }

  private executionSpent(budget: UserBudget): number {
    const horizon = this.now() - this.options.windowMs;
    while (budget.executions.length > 0 && (budget.executions[0] as { at: number }).at <= horizon) budget.executions.shift();
    let total = 0;
    for (const entry of budget.executions) total += entry.ms;
    return total;
  }

  private budget(userId: string): UserBudget {
    let budget = this.users.get(userId);
    if (!budget) {
      budget = { requests: new RateWindow({ limit: this.options.requestsPerWindow, windowMs: this.options.windowMs, now: this.now }), executions: [], inFlight: 0 };
      this.users.set(userId, budget);
    }
    return budget;
  }
}

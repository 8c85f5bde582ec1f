import { RateWindow } from '../core/rate-window';
import { errorBody, ZohoError } from './errors';

/** `false` turns a limit off; `limits: false` on the sandbox turns both off. */
export interface ZohoLimitOptions {
  /** API credits per rolling 24 h [Z10]; default 50,000 (Standard edition's base). */
  credits?: { limit: number; windowMs?: number } | false;
  /** Calls in flight at once per organisation; default 10 (Standard, secondary [Z11]). */
  concurrency?: number | false;
}

export interface ZohoLimitsState {
  credits: { limit: number; used: number; remaining: number; windowMs: number } | false;
  concurrency: { limit: number; inFlight: number } | false;
}

const DAY_MS = 86_400_000;

/**
 * Credits per call (secondary, UNCONFIRMED in detail): a read costs 1 whatever its page size, a
 * write 1 per 10 records (a 100-record upsert costs 10). Refusals are 429s whose codes are
 * UNCONFIRMED: `LIMIT_EXCEEDED` when the day's credits are spent, `TOO_MANY_REQUESTS` when too
 * many calls are in flight.
 */
export function creditsFor(method: string, records: number): number {
  if (method === 'GET') return 1;
  return Math.max(1, Math.ceil(records / 10));
}

export class ZohoLimits {
  private credits: RateWindow | undefined;
  private concurrency: number | undefined;
  private inFlight = 0;

  constructor(
    options: ZohoLimitOptions | false | undefined,
    private readonly now: () => number,
  ) {
    this.configure(options === false ? { credits: false, concurrency: false } : (options ?? {}));
  }

  configure(options: ZohoLimitOptions): void {
    if (options.credits !== undefined || this.credits === undefined) {
      const credits = options.credits === undefined ? { limit: 50_000 } : options.credits;
      this.credits = credits === false ? undefined : new RateWindow({ limit: credits.limit, windowMs: credits.windowMs ?? DAY_MS, now: this.now });
    }
    if (options.concurrency !== undefined) this.concurrency = options.concurrency === false ? undefined : options.concurrency;
    else this.concurrency ??= 10;
  }

  /** Enters a call: throws the vendor's 429 when the organisation is at its concurrency limit. */
  enter(): void {
    if (this.concurrency !== undefined && this.inFlight >= this.concurrency) {
      throw new ZohoError(429, errorBody('TOO_MANY_REQUESTS', 'concurrency limit exceeded', { limit: this.concurrency }));
    }
    this.inFlight += 1;
  }

  leave(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** Spends credits for a call; throws the vendor's 429 when the rolling day's credits are spent. Returns rate headers. */
  spend(cost: number): Record<string, string> {
    if (!this.credits) return {};
    const state = this.credits.take(cost);
    const headers = { 'x-ratelimit-limit': String(state.limit), 'x-ratelimit-remaining': String(state.remaining) };
    if (!state.allowed) {
      throw new ZohoError(
        429,
        errorBody('LIMIT_EXCEEDED', 'API credits for the last 24 hours are exhausted', { limit: state.limit, retry_after_ms: state.retryAfterMs }),
        { ...headers, 'retry-after': String(Math.ceil(state.retryAfterMs / 1000)) },
      );
    }
    return headers;
  }

  spendCredits(count: number): void {
    this.credits?.consume(count);
  }

  state(): ZohoLimitsState {
    const peek = this.credits?.peek();
    return {
      credits: this.credits && peek ? { limit: this.credits.limit, used: peek.used, remaining: peek.remaining, windowMs: this.credits.windowMs } : false,
      concurrency: this.concurrency === undefined ? false : { limit: this.concurrency, inFlight: this.inFlight },
    };
  }
}

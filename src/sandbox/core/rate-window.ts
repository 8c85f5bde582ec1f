/**
 * A sliding-window request budget (e.g. HubSpot's 100 per 10 s, Dynamics' 6,000 per 5 min,
 * Salesforce's rolling 24 h allocation). Sliding, not fixed, because the vendors' windows are
 * rolling: a burst at the end of one window and the start of the next is still refused.
 */
export interface RateWindowOptions {
  limit: number;
  windowMs: number;
  now?: () => number;
}

export interface RateWindowState {
  allowed: boolean;
  limit: number;
  /** Left in the window after this request (0 when refused). */
  remaining: number;
  /** Requests counted in the window, including this one if allowed. */
  used: number;
  /** Milliseconds until a slot frees up (0 when allowed). */
  retryAfterMs: number;
}

export class RateWindow {
  private readonly stamps: number[] = [];
  private head = 0;
  private readonly now: () => number;
  limit: number;
  readonly windowMs: number;

  constructor(options: RateWindowOptions) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.now = options.now ?? Date.now;
  }

  /** Counts `cost` requests if they fit; otherwise counts nothing. */
  take(cost = 1): RateWindowState {
    const now = this.now();
    this.expire(now);
    const used = this.stamps.length - this.head;
    if (used + cost > this.limit) {
      const oldest = this.stamps[this.head + Math.max(0, used + cost - this.limit - 1)] ?? now;
      return { allowed: false, limit: this.limit, remaining: 0, used, retryAfterMs: Math.max(1, oldest + this.windowMs - now) };
    }
    for (let i = 0; i < cost; i += 1) this.stamps.push(now);
    return { allowed: true, limit: this.limit, remaining: this.limit - used - cost, used: used + cost, retryAfterMs: 0 };
  }

  /** Current usage without counting anything. */
  peek(): { used: number; remaining: number } {
    this.expire(this.now());
    const used = this.stamps.length - this.head;
    return { used, remaining: Math.max(0, this.limit - used) };
  }

  /** Marks `count` requests as already used (e.g. "the daily quota is nearly spent"). */
  consume(count: number): void {
    const now = this.now();
    for (let i = 0; i < count; i += 1) this.stamps.push(now);
  }

  reset(): void {
    this.stamps.length = 0;
    this.head = 0;
  }

  private expire(now: number): void {
    while (this.head < this.stamps.length && (this.stamps[this.head] as number) <= now - this.windowMs) this.head += 1;
    // Compact occasionally so a long-running sandbox does not grow without bound.
    if (this.head > 4096 && this.head * 2 > this.stamps.length) {
      this.stamps.splice(0, this.head);
      this.head = 0;
    }
  }
}

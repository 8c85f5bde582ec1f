import { randomUUID } from 'node:crypto';
import { CalendarDayCount } from '../core/calendar-day';
import { RateWindow } from '../core/rate-window';
import type { AppIdentity } from './auth';

export interface WindowLimit {
  max: number;
  intervalMs: number;
}

/** Each limit can be set or turned off (`false`); `limits: false` on the sandbox turns all off. */
export interface HubSpotLimitOptions {
  /** Per app, rolling; default 100 per 10 s, the Free/Starter private-app figure [H16]. */
  tenSecondly?: WindowLimit | false;
  /** Per portal per day; default 250,000 [H16]. Resets at midnight UTC. */
  daily?: number | false;
  /** Per portal; search only; default 5 per second [H33]. */
  search?: WindowLimit | false;
}

export interface LimitsState {
  tenSecondly: (WindowLimit & { used: Record<string, number> }) | false;
  daily: { limit: number; used: number; resetsAt: string } | false;
  search: (WindowLimit & { used: number }) | false;
}

export type RateLimitPolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';

export interface LimitDecision {
  headers: Record<string, string>;
  refusal?: { policy: RateLimitPolicy; body: Record<string, unknown> };
}

const DEFAULTS = { tenSecondly: { max: 100, intervalMs: 10_000 }, daily: 250_000, search: { max: 5, intervalMs: 1000 } };

/**
 * HubSpot's three budgets: the per-app rolling ten-second window, the portal's daily quota and the
 * search endpoints' own per-second limit. Every answer carries the X-HubSpot-RateLimit-* headers [H18].
 */
export class HubSpotLimits {
  private tenSecondly: WindowLimit | false = DEFAULTS.tenSecondly;
  private dailyLimit: number | false = DEFAULTS.daily;
  private searchLimit: WindowLimit | false = DEFAULTS.search;
  private readonly appWindows = new Map<number, { rolling: RateWindow; secondly: RateWindow }>();
  private searchWindow: RateWindow | undefined;
  private readonly today = new CalendarDayCount(() => this.now());

  constructor(
    options: HubSpotLimitOptions | false | undefined,
    private readonly portalId: number,
    private readonly now: () => number = Date.now,
  ) {
    this.configure(options === false ? { tenSecondly: false, daily: false, search: false } : (options ?? {}));
  }

  /** Replaces the named limits (unnamed ones keep their setting) and clears the rolling windows. */
  configure(options: HubSpotLimitOptions): void {
    if (options.tenSecondly !== undefined) this.tenSecondly = options.tenSecondly;
    if (options.daily !== undefined) this.dailyLimit = options.daily;
    if (options.search !== undefined) this.searchLimit = options.search;
    this.appWindows.clear();
    this.searchWindow = this.searchLimit ? new RateWindow({ limit: this.searchLimit.max, windowMs: this.searchLimit.intervalMs, now: this.now }) : undefined;
  }

  /** Counts one request for `app`, or says which policy refuses it (refusals count nothing). */
  take(app: AppIdentity, isSearch: boolean): LimitDecision {
    const windows = this.windowsFor(app.appId);
    if (this.dailyLimit !== false && this.today.used >= this.dailyLimit) return this.refuse('DAILY', app);
    if (isSearch && this.searchWindow && !this.searchWindow.take().allowed) return this.refuse('SECONDLY', app);
    if (!isSearch && windows && !windows.rolling.take().allowed) return this.refuse('TEN_SECONDLY_ROLLING', app);
    windows?.secondly.take();
    this.today.add(1);
    return { headers: this.headers(app) };
  }

  /** Headers for an answer that did not go through `take` (injected faults, auth failures). */
  headers(app: AppIdentity | undefined): Record<string, string> {
    const figures = this.tenSecondly || DEFAULTS.tenSecondly;
    const windows = app ? this.windowsFor(app.appId) : undefined;
    const rolling = windows?.rolling.peek().remaining ?? figures.max;
    const secondlyMax = Math.ceil(figures.max / (figures.intervalMs / 1000));
    const secondly = windows?.secondly.peek().remaining ?? secondlyMax;
    const daily = this.dailyLimit === false ? DEFAULTS.daily : this.dailyLimit;
    return {
      'X-HubSpot-RateLimit-Daily': String(daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, daily - (this.dailyLimit === false ? 0 : this.today.used))),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(figures.intervalMs),
      'X-HubSpot-RateLimit-Max': String(figures.max),
      'X-HubSpot-RateLimit-Remaining': String(rolling),
      'X-HubSpot-RateLimit-Secondly': String(secondlyMax),
      'X-HubSpot-RateLimit-Secondly-Remaining': String(secondly),
    };
  }

  /** The 429 body the SDK keys its retries on (`policyName`, and for SECONDLY the exact message) [H9][H20][H21]. */
  rateLimitBody(policy: RateLimitPolicy, app: AppIdentity | undefined): Record<string, unknown> {
    const appId = app?.appId ?? 0;
    const [message, groupName] =
      policy === 'DAILY'
        ? ['You have reached your daily limit.', `publicapi:portal-daily:${this.portalId}`]
        : policy === 'SECONDLY'
          ? ['You have reached your secondly limit.', `publicapi:search-secondly:${this.portalId}`]
          : ['You have reached your ten_secondly_rolling limit.', `publicapi:app-ten-secondly:${appId}:${this.portalId}`];
    return { status: 'error', message, errorType: 'RATE_LIMIT', correlationId: randomUUID(), policyName: policy, groupName };
  }

  /** Pre-spends the daily quota, as if other integrations had used it. */
  spendDaily(count: number): void {
    this.today.add(count);
  }

  state(): LimitsState {
    const used: Record<string, number> = {};
    for (const [appId, windows] of this.appWindows) used[String(appId)] = windows.rolling.peek().used;
    return {
      tenSecondly: this.tenSecondly ? { ...this.tenSecondly, used } : false,
      daily: this.dailyLimit === false ? false : { limit: this.dailyLimit, used: this.today.used, resetsAt: this.today.resetsAt() },
      search: this.searchLimit ? { ...this.searchLimit, used: this.searchWindow?.peek().used ?? 0 } : false,
    };
  }

  private refuse(policy: RateLimitPolicy, app: AppIdentity): LimitDecision {
    return { headers: this.headers(app), refusal: { policy, body: this.rateLimitBody(policy, app) } };
  }

  private windowsFor(appId: number): { rolling: RateWindow; secondly: RateWindow } | undefined {
    if (!this.tenSecondly) return undefined;
    let windows = this.appWindows.get(appId);
    if (!windows) {
      const { max, intervalMs } = this.tenSecondly;
      windows = {
        rolling: new RateWindow({ limit: max, windowMs: intervalMs, now: this.now }),
        secondly: new RateWindow({ limit: Math.ceil(max / (intervalMs / 1000)), windowMs: 1000, now: this.now }),
      };
      this.appWindows.set(appId, windows);
    }
    return windows;
  }

}

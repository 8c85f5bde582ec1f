import { CalendarDayCount } from '../core/calendar-day';
import { RateWindow } from '../core/rate-window';
import type { Caller } from './auth';
import { rateLimited, type PipedriveErrorBody } from './errors';

/**
 * What a call costs against the company's daily token budget [P3]; `sublist` is what the v1
 * reference gives a deal's participants and participants changelog (10) [P13][P15].
 */
export const TOKEN_COSTS = { get: 2, list: 20, update: 10, delete: 6, search: 40, sublist: 10 } as const;
export type CallKind = keyof typeof TOKEN_COSTS;

export interface PipedriveLimitOptions {
  /** Daily token budget of the company: 30,000 x plan multiplier x seats [P3]. Default Growth, 1 seat: 60,000. */
  dailyTokens?: number | false;
  /** Requests per rolling 2 s per API token (Growth: 40) [P3]. */
  apiTokenBurst?: number | false;
  /** Requests per rolling 2 s per OAuth token (Growth: 160) [P3]. */
  oauthBurst?: number | false;
  /** Search requests per rolling 2 s per token (10) [P3]. */
  searchBurst?: number | false;
  /** The burst window; 2 s at Pipedrive. */
  burstWindowMs?: number;
}

export interface LimitsState {
  dailyTokens: { limit: number; used: number; resetsAt: string } | false;
  apiTokenBurst: number | false;
  oauthBurst: number | false;
  searchBurst: number | false;
  burstWindowMs: number;
}

export interface LimitDecision {
  headers: Record<string, string>;
  refusal?: PipedriveErrorBody;
}

const DEFAULTS = { dailyTokens: 60_000, apiTokenBurst: 40, oauthBurst: 160, searchBurst: 10, burstWindowMs: 2_000 };

/**
 * Pipedrive's two limits [P3]: a daily token budget per company (each call costs by kind; spent ->
 * 429 until the server's midnight, UTC here) and a rolling 2-second burst per token (search has
 * its own, lower one). Every answer carries `x-ratelimit-limit`, `x-ratelimit-remaining`,
 * `x-ratelimit-reset` (seconds) and `x-daily-requests-left`.
 */
export class PipedriveLimits {
  private options: Required<PipedriveLimitOptions> = { ...DEFAULTS };
  private readonly windows = new Map<string, RateWindow>();
  private readonly today = new CalendarDayCount(() => this.now());

  constructor(
    options: PipedriveLimitOptions | false | undefined,
    private readonly now: () => number,
  ) {
    this.configure(options === false ? { dailyTokens: false, apiTokenBurst: false, oauthBurst: false, searchBurst: false } : (options ?? {}));
  }

  configure(options: PipedriveLimitOptions): void {
    this.options = { ...this.options, ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) };
    this.windows.clear();
  }

  take(caller: Caller, kind: CallKind): LimitDecision {
    const cost = TOKEN_COSTS[kind];
    const daily = this.options.dailyTokens;
    if (daily !== false && this.today.used + cost > daily) {
      return { headers: this.headers(caller, kind), refusal: rateLimited('Daily API token budget exceeded. Try again after midnight.') };
    }
    const search = kind === 'search' ? this.window(caller, 'search') : undefined;
    if (search && !search.take().allowed) return { headers: this.headers(caller, kind), refusal: rateLimited('Request over limit (search)') };
    const burst = this.window(caller, 'burst');
    if (burst && !burst.take().allowed) return { headers: this.headers(caller, kind), refusal: rateLimited('Request over limit') };
    this.today.add(cost);
    return { headers: this.headers(caller, kind) };
  }

  headers(caller: Caller | undefined, kind: CallKind = 'get'): Record<string, string> {
    const windowName = kind === 'search' ? 'search' : 'burst';
    const limit = (caller ? this.limitFor(caller, windowName) : false) || DEFAULTS.apiTokenBurst;
    const window = caller ? this.window(caller, windowName) : undefined;
    const remaining = window ? window.peek().remaining : limit;
    const daily = this.options.dailyTokens;
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(Math.ceil(this.options.burstWindowMs / 1000)),
      'x-daily-requests-left': String(daily === false ? DEFAULTS.dailyTokens : Math.max(0, daily - this.today.used)),
    };
  }

  /** Pre-spends daily tokens, as if other integrations had used them. */
  spendDaily(tokens: number): void {
    this.today.add(tokens);
  }

  state(): LimitsState {
    const { dailyTokens, apiTokenBurst, oauthBurst, searchBurst, burstWindowMs } = this.options;
    return {
      dailyTokens: dailyTokens === false ? false : { limit: dailyTokens, used: this.today.used, resetsAt: this.today.resetsAt() },
      apiTokenBurst,
      oauthBurst,
      searchBurst,
      burstWindowMs,
    };
  }

  private limitFor(caller: Caller, name: 'burst' | 'search'): number | false {
    if (name === 'search') return this.options.searchBurst;
    return caller.kind === 'oauth' ? this.options.oauthBurst : this.options.apiTokenBurst;
  }

  private window(caller: Caller, name: 'burst' | 'search'): RateWindow | undefined {
    const limit = this.limitFor(caller, name);
    if (limit === false) return undefined;
    const key = `${name}:${caller.token}`;
    let window = this.windows.get(key);
    if (!window) {
      window = new RateWindow({ limit, windowMs: this.options.burstWindowMs, now: this.now });
      this.windows.set(key, window);
    }
    return window;
  }

}

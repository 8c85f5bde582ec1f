import { Agent, request } from 'undici';
import { ConnectorError, networkFailure } from '../errors';
import { RateBudget, type RateBudgetSnapshot, type RateWindowPolicy } from '../rate-budget';
import { withFreshToken, type SingleFlightTokenProvider } from '../token-provider';
import { classifyPipedriveFailure, msUntilDailyReset } from './errors';
import { TOKEN_COSTS, WINDOW_NAMES, type CallKind } from './spec';
import type pg from 'pg';

/** How a connection authenticates: a personal API token, or OAuth (single-flight refresh). */
export type PipedriveCredential = { kind: 'api-token'; apiToken: string } | { kind: 'oauth'; tokens: SingleFlightTokenProvider };

export interface PipedriveCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path under the API domain, e.g. `/api/v2/persons`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** The daily-budget cost class of the call [P3]. */
  kind: CallKind;
}

/** The v2 envelope: `{ success, data, additional_data }` [P1]. */
export interface Envelope<T> {
  success: boolean;
  data: T;
  additional_data?: { next_cursor?: string | null } | null;
}

export interface PipedriveHttpOptions {
  connectionId: string;
  /** One keep-alive pool per connection (a sync makes thousands of calls); the token endpoint shares it. */
  agent: Agent;
  apiDomain: string;
  credential: PipedriveCredential;
  windows: readonly RateWindowPolicy[];
  pool?: pg.Pool | undefined;
  maxBudgetWaitMs?: number | undefined;
  timeoutMs: number;
}

/**
 * Every Pipedrive call goes through `send`: the budget first (the day at the call's token cost,
 * then the burst window, and for a search the search window with it: Pipedrive counts a search
 * in both), then the call with the credential (one refresh on a 401 for
 * OAuth), a timeout, and the vendor's rate headers fed back into the budget. Failures leave as
 * ConnectorError.
 */
export class PipedriveHttp {
  readonly agent: Agent;
  private readonly burst: RateBudget | undefined;
  /** Burst and search windows taken together, all or nothing. */
  private readonly search: RateBudget | undefined;
  private readonly daily: RateBudget | undefined;
  private readonly dailyPolicy: RateWindowPolicy | undefined;
  /** The vendor's last word on the day's tokens: people and other integrations spend them too. */
  private vendorDaily: { left: number; day: number } | undefined;
  private requests = 0;

  constructor(private readonly options: PipedriveHttpOptions) {
    this.agent = options.agent;
    const budget = (...names: string[]): RateBudget | undefined => {
      const selected = options.windows.filter((window) => names.includes(window.name));
      return selected.length === 0
        ? undefined
        : new RateBudget({ provider: 'pipedrive', connectionId: options.connectionId, windows: selected, pool: options.pool, ...(options.maxBudgetWaitMs !== undefined ? { maxWaitMs: options.maxBudgetWaitMs } : {}) });
    };
    this.burst = budget(WINDOW_NAMES.burst);
    this.search = budget(WINDOW_NAMES.burst, WINDOW_NAMES.search);
    this.daily = budget(WINDOW_NAMES.daily);
    this.dailyPolicy = options.windows.find((window) => window.name === WINDOW_NAMES.daily);
  }

  get requestCount(): number {
    return this.requests;
  }

  async snapshot(): Promise<RateBudgetSnapshot> {
    const budgets = [this.burst, this.search, this.daily].filter((budget): budget is RateBudget => budget !== undefined);
    const parts = await Promise.all(budgets.map((budget) => budget.snapshot()));
    // The search budget repeats the burst window: report each window once.
    const windows = parts.flatMap((part) => part.windows).filter((window, index, all) => all.findIndex((other) => other.name === window.name) === index);
    return { connectionId: this.options.connectionId, windows };
  }

  async json<T>(call: PipedriveCall): Promise<Envelope<T>> {
    const text = await this.send(call);
    try {
      return JSON.parse(text) as Envelope<T>;
    } catch (error) {
      throw new ConnectorError({ provider: 'pipedrive', errorClass: 'transient', message: `Pipedrive answered with a body that is not JSON: ${text.slice(0, 200)}` }, { cause: error });
    }
  }

  async send(call: PipedriveCall): Promise<string> {
    this.assertDailyLeft();
    // The token before the budget: a renewal may wait on another worker's refresh, and a call
    // admitted before that wait would reach Pipedrive late, counted in a window our log has already
    // moved past. Admitted, the call leaves at once; a retry after a 401 is admitted again.
    const admitted = async (auth: Record<string, string>): Promise<string> => {
      await this.daily?.acquire(TOKEN_COSTS[call.kind]);
      await (call.kind === 'search' ? this.search : this.burst)?.acquire();
      return this.once(call, auth);
    };
    const credential = this.options.credential;
    if (credential.kind === 'api-token') return admitted({ 'x-api-token': credential.apiToken });
    return withFreshToken(credential.tokens, 'pipedrive', (token) => admitted({ authorization: `Bearer ${token}` }));
  }

  private async once(call: PipedriveCall, auth: Record<string, string>): Promise<string> {
    const url = new URL(`${this.options.apiDomain}${call.path}`);
    for (const [name, value] of Object.entries(call.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    this.requests += 1;
    let status: number;
    let headers: Record<string, string>;
    let text: string;
    try {
      const response = await request(url, {
        method: call.method,
        dispatcher: this.agent,
        headers: { accept: 'application/json', ...auth, ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = response.statusCode;
      headers = flatten(response.headers);
      text = await response.body.text();
    } catch (error) {
      throw networkFailure('pipedrive', error);
    }
    await this.observe(headers);
    if (status >= 400) {
      const failure = classifyPipedriveFailure(status, text, headers);
      if (failure.errorClass === 'quota-exhausted') this.vendorDaily = { left: 0, day: utcDay() };
      throw failure;
    }
    return text;
  }

  /** Feeds `x-ratelimit-*` into the burst window and remembers `x-daily-requests-left` [P3]. */
  private async observe(headers: Record<string, string>): Promise<void> {
    const figure = (name: string): number | undefined => {
      const value = headers[name] === undefined ? NaN : Number(headers[name]);
      return Number.isFinite(value) ? value : undefined;
    };
    const left = figure('x-daily-requests-left');
    if (left !== undefined) this.vendorDaily = { left, day: utcDay() };
    const limit = figure('x-ratelimit-limit');
    const remaining = figure('x-ratelimit-remaining');
    // The burst headers describe whichever window answered; only the general one feeds `burst`.
    if (limit !== undefined && remaining !== undefined && limit === this.burstLimit()) await this.burst?.observe(WINDOW_NAMES.burst, { used: limit - remaining, limit });
  }

  private burstLimit(): number | undefined {
    return this.options.windows.find((window) => window.name === WINDOW_NAMES.burst)?.limit;
  }

  /**
   * The day's tokens are shared with people and other integrations: once the vendor says only the
   * reserve is left, pause (quota-exhausted until midnight) instead of spending it or collecting 429s.
   */
  private assertDailyLeft(): void {
    const daily = this.vendorDaily;
    if (!daily || !this.dailyPolicy) return;
    if (daily.day !== utcDay()) {
      this.vendorDaily = undefined;
      return;
    }
    if (daily.left > Math.floor(this.dailyPolicy.limit * (this.dailyPolicy.reserve ?? 0))) return;
    throw new ConnectorError({
      provider: 'pipedrive',
      errorClass: 'quota-exhausted',
      vendorCode: 'DAILY_BUDGET',
      message: `Pipedrive's daily token budget is down to its reserve (${daily.left} tokens left); pausing until the reset`,
      retryAfterMs: msUntilDailyReset(),
    });
  }
}

export function createAgent(timeoutMs: number): Agent {
  return new Agent({ keepAliveTimeout: 30_000, connections: 16, connectTimeout: Math.min(timeoutMs, 30_000) });
}

function utcDay(): number {
  return Math.floor(Date.now() / 86_400_000);
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

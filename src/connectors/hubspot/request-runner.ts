import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { ConnectorError } from '../errors';
import { RateBudget, type RateBudgetSnapshot, type RateWindowPolicy } from '../rate-budget';
import { withFreshToken, type SingleFlightTokenProvider } from '../token-provider';
import { msUntilDailyReset, toConnectorError } from './errors';
import { WINDOW_NAMES } from './spec';
import type pg from 'pg';

/** The parts of the SDK's RequestContext / ResponseContext the middleware touches (every codegen module has its own class). */
interface RequestShape {
  setHeaderParam(key: string, value: string): void;
  setAgent(agent: http.Agent | https.Agent): void;
}
interface ResponseShape {
  httpStatusCode: number;
  headers: Record<string, string>;
}

/** Per-call SDK options: our middleware only (the SDK ignores the Client's own, see BEHAVIOR.md). */
export interface CallOptions {
  middleware: { pre<C extends RequestShape>(context: C): Promise<C>; post<R extends ResponseShape>(context: R): Promise<R> }[];
  middlewareMergeStrategy: 'replace';
}

export type CallKind = 'standard' | 'search';

/** The SDK has no timeout; a socket idle for longer than this is destroyed, failing the call (transient). */
class TimeoutAgent extends http.Agent {
  constructor(private readonly ms: number) {
    super({ keepAlive: true, maxSockets: 16 });
  }

  // The callback is left out on purpose: net.createConnection would take it for a connect listener.
  override createConnection(options: http.ClientRequestArgs): Duplex {
    return destroyWhenIdle(super.createConnection(options) as Socket, this.ms);
  }
}

class TimeoutHttpsAgent extends https.Agent {
  constructor(private readonly ms: number) {
    super({ keepAlive: true, maxSockets: 16 });
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    return destroyWhenIdle(super.createConnection(options) as Socket, this.ms);
  }
}

function destroyWhenIdle(socket: Socket, ms: number): Socket {
  socket.setTimeout(ms, () => socket.destroy(new Error(`timed out after ${ms} ms`)));
  return socket;
}

export interface RequestRunnerOptions {
  connectionId: string;
  basePath: string;
  tokens: SingleFlightTokenProvider;
  windows: readonly RateWindowPolicy[] | false;
  pool?: pg.Pool | undefined;
  maxBudgetWaitMs?: number | undefined;
  requestTimeoutMs: number;
}

/**
 * Every HubSpot call goes through `run`: a fresh token, then the budget (daily, then the search
 * or ten-secondly window), then at once the call with a timeout and our middleware, which feeds the
 * X-HubSpot-RateLimit-* headers back into the budget. Failures leave as ConnectorError.
 */
export class RequestRunner {
  private readonly agent: http.Agent;
  private readonly daily: RateBudget | undefined;
  private readonly standard: RateBudget | undefined;
  private readonly search: RateBudget | undefined;
  private readonly dailyReserve: number;
  /** The vendor's last word on the day: what other integrations spent is only visible here. */
  private vendorDaily: { limit: number; remaining: number; day: number } | undefined;
  private requests = 0;

  constructor(private readonly options: RequestRunnerOptions) {
    this.agent = options.basePath.startsWith('https:') ? new TimeoutHttpsAgent(options.requestTimeoutMs) : new TimeoutAgent(options.requestTimeoutMs);
    const windows = options.windows === false ? [] : options.windows;
    const budget = (selected: RateWindowPolicy[]): RateBudget | undefined =>
      selected.length === 0
        ? undefined
        : new RateBudget({ provider: 'hubspot', connectionId: options.connectionId, windows: selected, pool: options.pool, maxWaitMs: options.maxBudgetWaitMs });
    this.daily = budget(windows.filter((window) => window.name === WINDOW_NAMES.daily));
    this.search = budget(windows.filter((window) => window.name === WINDOW_NAMES.search));
    this.standard = budget(windows.filter((window) => window.name !== WINDOW_NAMES.daily && window.name !== WINDOW_NAMES.search));
    this.dailyReserve = windows.find((window) => window.name === WINDOW_NAMES.daily)?.reserve ?? 0;
  }

  /** Calls sent to HubSpot (tests and metrics). */
  get requestCount(): number {
    return this.requests;
  }

  async run<T>(kind: CallKind, call: (options: CallOptions) => Promise<T>): Promise<T> {
    this.assertDailyLeft();
    // The token before the budget: a renewal may wait on another worker's refresh, and a call
    // admitted before that wait would reach HubSpot late, counted in a window our log has already
    // moved past. Admitted, the call leaves at once; a retry after a 401 is admitted again, as
    // HubSpot counts it too.
    return withFreshToken(this.options.tokens, 'hubspot', async (token) => {
      await this.daily?.acquire();
      await (kind === 'search' ? this.search : this.standard)?.acquire();
      return this.send(token, call);
    });
  }

  /** Options for calls that do not go through `run` (the OAuth token endpoint): timeout only. */
  plainOptions(): CallOptions {
    return this.callOptions(undefined);
  }

  async snapshot(): Promise<RateBudgetSnapshot> {
    const budgets = [this.standard, this.search, this.daily].filter((budget): budget is RateBudget => budget !== undefined);
    const parts = await Promise.all(budgets.map((budget) => budget.snapshot()));
    return { connectionId: this.options.connectionId, windows: parts.flatMap((part) => part.windows) };
  }

  private async send<T>(token: string, call: (options: CallOptions) => Promise<T>): Promise<T> {
    this.requests += 1;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new ConnectorError({ provider: 'hubspot', errorClass: 'transient', message: `network: timed out after ${this.options.requestTimeoutMs} ms` })),
        this.options.requestTimeoutMs + 250,
      );
    });
    try {
      return await Promise.race([call(this.callOptions(token)), timeout]);
    } catch (error) {
      const failure = toConnectorError(error);
      if (failure.errorClass === 'quota-exhausted') this.vendorDaily = { limit: this.vendorDaily?.limit ?? 0, remaining: 0, day: utcDay() };
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  private callOptions(token: string | undefined): CallOptions {
    const agent = this.agent;
    return {
      middlewareMergeStrategy: 'replace',
      middleware: [
        {
          pre: async (context) => {
            context.setAgent(agent);
            if (token !== undefined) context.setHeaderParam('Authorization', `Bearer ${token}`);
            return context;
          },
          post: async (response) => {
            await this.observe(response.headers);
            return response;
          },
        },
      ],
    };
  }

  /** Feeds HubSpot's usage headers [H18][H19] to the shared budget and to the daily guard. */
  private async observe(headers: Record<string, string>): Promise<void> {
    const figure = (name: string): number | undefined => {
      const value = Number(headers[name] ?? headers[name.toLowerCase()]);
      return Number.isFinite(value) && (headers[name] ?? headers[name.toLowerCase()]) !== undefined ? value : undefined;
    };
    const daily = figure('x-hubspot-ratelimit-daily');
    const dailyRemaining = figure('x-hubspot-ratelimit-daily-remaining');
    if (daily !== undefined && dailyRemaining !== undefined) {
      this.vendorDaily = { limit: daily, remaining: dailyRemaining, day: utcDay() };
      await this.daily?.observe(WINDOW_NAMES.daily, { used: daily - dailyRemaining, limit: daily });
    }
    const max = figure('x-hubspot-ratelimit-max');
    const remaining = figure('x-hubspot-ratelimit-remaining');
    if (max !== undefined && remaining !== undefined) await this.standard?.observe(WINDOW_NAMES.tenSecondly, { used: max - remaining, limit: max });
  }

  /**
   * HubSpot's day is spent by everyone on the portal; once its headers say only the reserve is
   * left, pause until the reset instead of spending the people's share or collecting DAILY 429s.
   */
  private assertDailyLeft(): void {
    const daily = this.vendorDaily;
    if (!daily || !this.daily) return;
    // The figure is from before midnight UTC: the vendor's day has reset since.
    if (daily.day !== utcDay()) {
      this.vendorDaily = undefined;
      return;
    }
    if (daily.remaining > Math.floor(daily.limit * this.dailyReserve)) return;
    throw new ConnectorError({
      provider: 'hubspot',
      errorClass: 'quota-exhausted',
      vendorCode: 'DAILY',
      message: `HubSpot's daily budget is spent: ${daily.remaining} of ${daily.limit} left, reserve ${Math.round(this.dailyReserve * 100)}%`,
      retryAfterMs: msUntilDailyReset(),
    });
  }
}

function utcDay(): number {
  return Math.floor(Date.now() / 86_400_000);
}

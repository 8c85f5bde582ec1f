import { Connection } from 'jsforce';
import type { CrmProvider } from '../../model/identifiers';
import type pg from 'pg';
import { RateBudget, type RateWindowPolicy } from '../rate-budget';
import { withFreshToken, type SingleFlightTokenProvider } from '../token-provider';
import { createTokenProvider, type SalesforceAuthOptions } from './auth';
import { toConnectorError } from './errors';
import { salesforceSpec } from './spec';
import { SalesforceTransport, traced, type ApiUsage, type CallTrace } from './transport';

const provider: CrmProvider = 'salesforce';

export interface SessionOptions extends Omit<SalesforceAuthOptions, 'onInstanceUrl' | 'transport'> {
  instanceUrl: string;
  requestTimeoutMs: number;
  budget: RateBudget | undefined;
  /** `Sforce-Call-Options: client=…`: the org's change events name us, so our own echoes are recognisable. */
  clientName: string;
}

/**
 * One org connection: a jsforce Connection, its tokens and its rate budget. Every vendor call
 * goes through `call`, which takes the budget first, retries a 401 once after a single-flight
 * refresh, classifies failures and feeds `Sforce-Limit-Info` back into the budget.
 */
export class SalesforceSession {
  readonly conn: Connection;
  readonly tokens: SingleFlightTokenProvider;
  private lastUsage: ApiUsage | undefined;

  constructor(private readonly options: SessionOptions) {
    const transport = new SalesforceTransport({ timeoutMs: options.requestTimeoutMs, onApiUsage: (usage) => (this.lastUsage = usage) });
    // No refreshToken/oauth2 here on purpose: jsforce would then refresh on its own (see auth.ts).
    this.conn = new Connection({ instanceUrl: options.instanceUrl, version: salesforceSpec.apiVersion, callOptions: { client: options.clientName } });
    this.conn._transport = transport;
    this.conn.bulk2.pollInterval = salesforceSpec.bulk.pollIntervalMs;
    this.tokens = createTokenProvider({ ...options, transport, onInstanceUrl: (url) => (this.conn.instanceUrl = url) });
  }

  /** The vendor's latest usage figure, as the last response reported it. */
  get apiUsage(): ApiUsage | undefined {
    return this.lastUsage;
  }

  /** One vendor request (or `cost` of them) under the budget, with auth retry and classification. */
  async call<T>(call: (conn: Connection) => Promise<T>, cost = 1): Promise<T> {
    return (await this.run(call, cost)).value;
  }

  /** Like `call`, but also hands back the response headers (Bulk 2.0 query locators). */
  async callWithHeaders<T>(call: (conn: Connection) => Promise<T>): Promise<{ value: T; headers: Record<string, string> }> {
    const { value, trace } = await this.run(call, 1);
    return { value, headers: trace.headers ?? {} };
  }

  private async run<T>(call: (conn: Connection) => Promise<T>, cost: number): Promise<{ value: T; trace: CallTrace }> {
    await this.options.budget?.acquire(cost);
    try {
      return await withFreshToken(this.tokens, provider, async (token) => {
        this.conn.accessToken = token;
        const result = await traced(() => call(this.conn));
        if ('error' in result) throw toConnectorError(result.error, result.trace, this.options.requestTimeoutMs);
        return result;
      });
    } finally {
      // The vendor counts what we cannot see (people, other integrations): its figure closes the window.
      if (this.lastUsage) await this.options.budget?.observe('daily', this.lastUsage);
    }
  }
}

export function createBudget(options: {
  connectionId: string;
  pool: pg.Pool | undefined;
  rateLimits: readonly RateWindowPolicy[] | false | undefined;
  maxBudgetWaitMs: number | undefined;
}): RateBudget | undefined {
  if (options.rateLimits === false) return undefined;
  return new RateBudget({
    provider,
    connectionId: options.connectionId,
    windows: options.rateLimits ?? salesforceSpec.rateWindows,
    pool: options.pool,
    maxWaitMs: options.maxBudgetWaitMs,
  });
}

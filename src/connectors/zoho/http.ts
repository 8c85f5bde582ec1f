import { Agent, request, type Dispatcher } from 'undici';
import { ConnectorError, networkFailure } from '../errors';
import type { RateBudget } from '../rate-budget';
import { withFreshToken, type SingleFlightTokenProvider } from '../token-provider';
import type { ZohoSession } from './auth';
import { zohoFailure } from './errors';
import { WINDOW_NAMES, zohoSpec } from './spec';

export interface ZohoRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under `{api_domain}/crm/v6/`, with its query. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Credits the call costs (a write: 1 per 10 records). */
  credits?: number;
  /**
   * Statuses whose body is an answer, not a failure: writes answer 400/207 with a `data[]` entry
   * per record, and the per-record outcome is read from there.
   */
  answerStatuses?: readonly number[];
}

export interface ZohoResponse<T> {
  status: number;
  headers: Record<string, string>;
  /** Undefined for 204 No Content (an empty listing). */
  body: T | undefined;
}

export interface ZohoHttpOptions {
  session: ZohoSession;
  dispatcher: Dispatcher;
  tokens: SingleFlightTokenProvider;
  budget: RateBudget | undefined;
  concurrency: number;
  timeoutMs: number;
}

export function createAgent(timeoutMs: number): Agent {
  return new Agent({ keepAliveTimeout: 30_000, connections: 16, connectTimeout: Math.min(timeoutMs, 30_000) });
}

/** Calls in flight at once: Zoho refuses the call past its edition's concurrency limit. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

/**
 * The API transport: `Zoho-oauthtoken` header (one refresh on 401), the credit budget and the
 * concurrency limit before every call, the vendor's usage headers fed back into the budget, every
 * failure classified. Calls go to the session's API domain, which the token response sets.
 */
export class ZohoHttp {
  private readonly slots: Semaphore;
  /** Requests sent to the API (not counting token requests). */
  requests = 0;

  constructor(private readonly options: ZohoHttpOptions) {
    this.slots = new Semaphore(Math.max(1, options.concurrency));
  }

  async call<T>(call: ZohoRequest): Promise<ZohoResponse<T>> {
    return withFreshToken(this.options.tokens, 'zoho', async (token) => {
      await this.options.budget?.acquire(call.credits ?? 1);
      const response = await this.slots.run(() => this.once(call, token));
      await this.observe(response.headers);
      if (response.status >= 400 && !(call.answerStatuses ?? []).includes(response.status)) throw zohoFailure(response.status, response.text, response.headers);
      if (response.status === 204 || response.text.trim() === '') return { status: response.status, headers: response.headers, body: undefined };
      try {
        return { status: response.status, headers: response.headers, body: JSON.parse(response.text) as T };
      } catch (error) {
        throw new ConnectorError({ provider: 'zoho', errorClass: 'transient', status: response.status, message: `the API answered with a body that is not JSON: ${response.text.slice(0, 200)}` }, { cause: error });
      }
    });
  }

  private async once(call: ZohoRequest, token: string): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    const url = `${this.options.session.apiDomain}/crm/${zohoSpec.apiVersion}/${call.path}`;
    const { timeoutMs } = this.options;
    this.requests += 1;
    try {
      const response = await request(url, {
        method: call.method,
        dispatcher: this.options.dispatcher,
        headers: {
          authorization: `Zoho-oauthtoken ${token}`,
          accept: 'application/json',
          ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...call.headers,
        },
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.body.text();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      return { status: response.statusCode, headers, text };
    } catch (error) {
      throw networkFailure('zoho', error);
    }
  }

  private async observe(headers: Record<string, string>): Promise<void> {
    const limit = Number(headers[zohoSpec.rateHeaders.limit]);
    const remaining = Number(headers[zohoSpec.rateHeaders.remaining]);
    if (!this.options.budget || headers[zohoSpec.rateHeaders.remaining] === undefined || !Number.isFinite(limit) || !Number.isFinite(remaining)) return;
    await this.options.budget.observe(WINDOW_NAMES.credits, { used: Math.max(0, limit - remaining), limit });
  }
}

import { Agent, request, type Dispatcher } from 'undici';
import { networkFailure, ConnectorError } from '../errors';
import type { RateBudget } from '../rate-budget';
import { withFreshToken, type SingleFlightTokenProvider } from '../token-provider';
import { dataverseFailure } from './errors';
import { dynamicsSpec } from './spec';

export interface DataverseRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Absolute (an `@odata.nextLink` followed unmodified) or relative to the service root. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface DataverseResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface DataverseHttpOptions {
  /** `https://<org>.crm.dynamics.com/api/data/v9.2`. */
  serviceRoot: string;
  dispatcher: Dispatcher;
  tokens: SingleFlightTokenProvider;
  budget: RateBudget | undefined;
  /** The service-protection limit the vendor's remaining-requests header is measured against. */
  observedLimit: number | undefined;
  timeoutMs: number;
}

/**
 * One undici Agent per connection: keep-alive connections are reused across calls (a sync makes
 * thousands), and a private CA (the sandbox's self-signed certificate) is trusted only here.
 */
export function createAgent(options: { ca?: string | undefined; timeoutMs: number }): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    connections: 16,
    connectTimeout: Math.min(options.timeoutMs, 30_000),
    ...(options.ca ? { connect: { ca: options.ca } } : {}),
  });
}

/**
 * The Web API transport: OData headers, bearer token (one refresh on 401), the client-side rate
 * budget before every call, the vendor's usage headers fed back into it, and every failure turned
 * into a classified ConnectorError.
 */
export class DataverseHttp {
  constructor(private readonly options: DataverseHttpOptions) {}

  get serviceRoot(): string {
    return this.options.serviceRoot;
  }

  async send(call: DataverseRequest): Promise<DataverseResponse> {
    return withFreshToken(this.options.tokens, dynamicsSpec.provider, async (token) => {
      await this.options.budget?.acquire();
      const response = await this.once(call, token);
      await this.observe(response.headers);
      if (response.status >= 400) throw dataverseFailure(response.status, response.text, response.headers);
      return response;
    });
  }

  async json<T>(call: DataverseRequest): Promise<T> {
    const response = await this.send(call);
    try {
      return JSON.parse(response.text) as T;
    } catch (error) {
      throw new ConnectorError({ provider: dynamicsSpec.provider, errorClass: 'transient', status: response.status, message: `the Web API answered with a body that is not JSON: ${response.text.slice(0, 200)}` }, { cause: error });
    }
  }

  private async once(call: DataverseRequest, token: string): Promise<DataverseResponse> {
    const url = /^https?:\/\//.test(call.url) ? call.url : `${this.options.serviceRoot}/${call.url}`;
    const { timeoutMs } = this.options;
    try {
      // Web API conventions: OData 4.0 headers on every request [D1].
      const response = await request(url, {
        method: call.method,
        dispatcher: this.options.dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'odata-version': '4.0',
          'odata-maxversion': '4.0',
          ...(call.body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
          ...call.headers,
        },
        ...(call.body !== undefined ? { body: call.body } : {}),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // Headers and body timeouts each restart; the signal bounds the whole exchange.
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.body.text();
      return { status: response.statusCode, headers: flatten(response.headers), text };
    } catch (error) {
      throw networkFailure(dynamicsSpec.provider, error);
    }
  }

  private async observe(headers: Record<string, string>): Promise<void> {
    const remaining = Number(headers[dynamicsSpec.rateHeaders.requestsRemaining]);
    const limit = this.options.observedLimit;
    if (!this.options.budget || limit === undefined || headers[dynamicsSpec.rateHeaders.requestsRemaining] === undefined || !Number.isFinite(remaining)) return;
    await this.options.budget.observe(dynamicsSpec.rateHeaders.windowName, { used: Math.max(0, limit - remaining), limit });
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

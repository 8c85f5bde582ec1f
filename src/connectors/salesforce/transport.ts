import { AsyncLocalStorage } from 'node:async_hooks';
import type { Duplex } from 'node:stream';
import type { HttpRequest, HttpRequestOptions, HttpResponse } from 'jsforce';
import { Transport } from 'jsforce/lib/transport.js';

/** What one logical vendor call saw on the wire: the last response's status and headers. */
export interface CallTrace {
  status?: number | undefined;
  headers?: Record<string, string> | undefined;
}

const traces = new AsyncLocalStorage<CallTrace>();

/**
 * Runs `call` with a fresh trace. jsforce's errors carry the vendor's errorCode but not the HTTP
 * status, and its high-level verbs hide response headers (Sforce-Locator); the transport writes
 * both into the trace of the call that made the request.
 */
export async function traced<T>(call: () => Promise<T>): Promise<{ value: T; trace: CallTrace } | { error: unknown; trace: CallTrace }> {
  const trace: CallTrace = {};
  try {
    return { value: await traces.run(trace, call), trace };
  } catch (error) {
    return { error, trace };
  }
}

export interface ApiUsage {
  used: number;
  limit: number;
}

export interface SalesforceTransportOptions {
  /** A request without an answer after this long is aborted (and classified transient). */
  timeoutMs: number;
  /** Every response's `Sforce-Limit-Info`, Bulk 2.0 calls included (jsforce's limitInfo misses those). */
  onApiUsage: (usage: ApiUsage) => void;
}

/**
 * jsforce's transport with the connection's timeout (jsforce's own default is 30 min and its verbs
 * take no per-call timeout) and without jsforce's silent retries (5 GET retries over ~15 s): the
 * activity's retry policy owns backoff, and every retry must pass the rate budget.
 */
export class SalesforceTransport extends Transport {
  constructor(private readonly settings: SalesforceTransportOptions) {
    super();
  }

  override getRequestStreamCreator(): (req: HttpRequest, options: HttpRequestOptions) => Duplex {
    const create = super.getRequestStreamCreator();
    return (req, options) => {
      const trace = traces.getStore();
      const stream = create(req, { ...options, timeout: options.timeout ?? this.settings.timeoutMs, retry: { ...options.retry, maxRetries: 0 } });
      stream.on('complete', (response: HttpResponse) => {
        if (trace) {
          trace.status = response.statusCode;
          trace.headers = response.headers;
        }
        // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
        const match = /api-usage=(\d+)\/(\d+)/.exec(response.headers['sforce-limit-info'] ?? '');
        if (match) this.settings.onApiUsage({ used: Number(match[1]), limit: Number(match[2]) });
      });
      return stream;
    };
  }
}

import { SeededRandom } from './random';

/** Injected failures, by probability per request. All default to 0 (a well-behaved vendor). */
export interface FaultConfig {
  /** Probability of a vendor-shaped 5xx. */
  serverErrorRate?: number;
  /** Probability of a vendor-shaped 429 (or the vendor's equivalent) regardless of budgets. */
  rateLimitRate?: number;
  /** Probability that the request hangs until the client gives up (socket left open, no answer). */
  timeoutRate?: number;
  /** Added latency in ms for every request: fixed, or [min, max] uniformly. */
  latencyMs?: number | [number, number];
  /**
   * Fault only the vendor's token endpoint (OAuth token URL, Entra's, Zoho's accounts server):
   * API calls pass untouched. The vendor renders such faults as its token endpoint answers them.
   */
  tokenEndpointOnly?: boolean;
  /**
   * Fault only requests to this route (`POST /crm/v3/objects/:objectType/batch/update`, as the
   * sandbox's counters name it): a test can fail one call of a sequence and no other.
   */
  route?: string;
  /** Let this many requests in scope pass first (default 0): "fail the second call". */
  after?: number;
  /** Inject at most this many faults, then behave again (default: no limit). */
  times?: number;
  seed?: number;
}

export type FaultDecision = { kind: 'none' } | { kind: 'server-error' } | { kind: 'rate-limit' } | { kind: 'timeout' };

/** Decides, per request, whether to inject a fault. Reconfigurable at run time via the admin API. */
export class FaultInjector {
  private config: FaultConfig;
  private random: SeededRandom;
  private injected = 0;
  private seen = 0;

  constructor(config: FaultConfig = {}) {
    this.config = config;
    this.random = new SeededRandom(config.seed ?? 1);
  }

  configure(config: FaultConfig): void {
    this.config = config;
    this.random = new SeededRandom(config.seed ?? 1);
    this.injected = 0;
    this.seen = 0;
  }

  current(): FaultConfig {
    return { ...this.config };
  }

  /** Whether a request is in the faults' scope at all (see `tokenEndpointOnly`). */
  covers(atTokenEndpoint: boolean, route?: string): boolean {
    return (this.config.tokenEndpointOnly !== true || atTokenEndpoint) && (this.config.route === undefined || this.config.route === route);
  }

  decide(): FaultDecision {
    const { serverErrorRate = 0, rateLimitRate = 0, timeoutRate = 0, times, after = 0 } = this.config;
    if (serverErrorRate + rateLimitRate + timeoutRate === 0) return { kind: 'none' };
    this.seen += 1;
    if (this.seen <= after) return { kind: 'none' };
    if (times !== undefined && this.injected >= times) return { kind: 'none' };
    const roll = this.random.next();
    const decision: FaultDecision =
      roll < timeoutRate ? { kind: 'timeout' } : roll < timeoutRate + serverErrorRate ? { kind: 'server-error' } : roll < timeoutRate + serverErrorRate + rateLimitRate ? { kind: 'rate-limit' } : { kind: 'none' };
    if (decision.kind !== 'none') this.injected += 1;
    return decision;
  }

  latencyMs(): number {
    const latency = this.config.latencyMs;
    if (latency === undefined) return 0;
    if (typeof latency === 'number') return latency;
    const [min, max] = latency;
    return min + this.random.next() * (max - min);
  }
}

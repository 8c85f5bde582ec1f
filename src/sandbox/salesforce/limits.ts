import { RateWindow } from '../core/rate-window';
import { SalesforceApiError } from './errors';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The allocation reported when limits are off, so `Sforce-Limit-Info` keeps its usual shape. */
export const DEFAULT_DAILY_REQUESTS = 100_000;

/**
 * The org's rolling 24 h API request allocation [S33]. Every REST call counts and is reported in
 * `Sforce-Limit-Info` [S2]; once spent, calls are refused with 403 REQUEST_LIMIT_EXCEEDED [S35].
 */
export class DailyRequestLimit {
  private readonly window: RateWindow;
  private readonly enforced: boolean;
  private readonly nominal: number;

  constructor(limit: number | false, now: () => number = Date.now) {
    this.enforced = limit !== false;
    this.window = new RateWindow({ limit: limit === false ? Number.MAX_SAFE_INTEGER : limit, windowMs: DAY_MS, now });
    this.nominal = limit === false ? DEFAULT_DAILY_REQUESTS : limit;
  }

  /** Counts one request; throws the vendor's refusal when the allocation is spent. */
  take(): void {
    const state = this.window.take();
    if (!state.allowed) throw new SalesforceApiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
  }

  spend(count: number): void {
    this.window.consume(count);
  }

  usage(): { used: number; limit: number; enforced: boolean } {
    return { used: this.window.peek().used, limit: this.nominal, enforced: this.enforced };
  }

  header(): string {
    return `api-usage=${this.window.peek().used}/${this.nominal}`;
  }

  reset(): void {
    this.window.reset();
  }
}

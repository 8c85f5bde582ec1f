import { ConnectorError } from './errors';

export interface RetryInPlaceOptions {
  /** Calls in all, the first included. */
  attempts?: number;
  /** Wait before the second call when the vendor gave no Retry-After; doubled each time. */
  firstWaitMs?: number;
  /** No single wait longer than this (a longer Retry-After fails the call: it is the activity's to wait). */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Calls `call` again, in the same activity, after a transient failure or a 429, waiting as the
 * vendor asked. Only for the rare call whose failure the activity's own retry cannot repair: one
 * made after a write of ours has landed, which a second run of the activity would not repeat
 * because it finds our write already there (HubSpot's putting back of a person's overwritten
 * edit: run again, the apply finds nothing to write, and the edit is lost). Everything else
 * fails fast and is retried by the activity's retry policy.
 */
export async function retryInPlace<T>(call: () => Promise<T>, options: RetryInPlaceOptions = {}): Promise<T> {
  const { attempts = 5, firstWaitMs = 500, maxWaitMs = 30_000, sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)) } = options;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const again = error instanceof ConnectorError && (error.errorClass === 'transient' || error.errorClass === 'rate-limited') && attempt < attempts;
      const waitMs = error instanceof ConnectorError ? (error.retryAfterMs ?? firstWaitMs * 2 ** (attempt - 1)) : 0;
      if (!again || waitMs > maxWaitMs) throw error;
      await sleep(waitMs);
    }
  }
}

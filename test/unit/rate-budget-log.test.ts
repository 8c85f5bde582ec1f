import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors';
import { decideAdmission, observedBucketStart, RateBudget, reconcileObserved, windowGeometry, windowUsage, type RateWindowPolicy } from '../../src/connectors/rate-budget';
import { MemoryRateBudgetStore, type Bucket } from '../../src/connectors/rate-budget-store';

const hubspotTenSecondly = windowGeometry({ name: 'ten-secondly', limit: 100, windowMs: 10_000 });
const buckets = (name: string, rows: Bucket[]): Map<string, Bucket[]> => new Map([[name, rows]]);

describe('rate budget log (pure)', () => {
  it('sizes buckets to ~1/200 of the window (at least 25 ms) and guards by min(100 ms, window / 20)', () => {
    expect(hubspotTenSecondly).toMatchObject({ bucketMs: 50, guardMs: 100, usable: 100 });
    expect(windowGeometry({ name: 'daily', limit: 250_000, windowMs: 86_400_000, reserve: 0.1 })).toMatchObject({ bucketMs: 432_000, guardMs: 100, usable: 225_000 });
    expect(windowGeometry({ name: 'search', limit: 5, windowMs: 1_000 })).toMatchObject({ bucketMs: 25, guardMs: 50, usable: 5 });
    expect(windowGeometry({ name: 'x', limit: 5, windowMs: 1_000, guardMs: 0 }).guardMs).toBe(0);
  });

  it('counts every bucket overlapping the guarded window and admits up to the usable limit', () => {
    const now = 1_000_000;
    // The bucket [now - 10_150, now - 10_100) ends exactly where the guarded window starts: not counted.
    const rows = [{ startMs: now - 10_150, used: 50 }, { startMs: now - 10_100, used: 40 }, { startMs: now - 50, used: 59 }];
    expect(decideAdmission([hubspotTenSecondly], buckets('ten-secondly', rows), now, 1)).toEqual({ admitted: true, take: [{ window: 'ten-secondly', startMs: now, used: 1 }] });
    const full = [...rows.slice(1, 2), { startMs: now - 50, used: 60 }];
    const refusal = decideAdmission([hubspotTenSecondly], buckets('ten-secondly', full), now, 1);
    // Room comes back when the bucket of 40 leaves: its end + window + guard.
    expect(refusal).toEqual({ admitted: false, window: hubspotTenSecondly, retryAfterMs: now - 10_100 + 50 + 10_000 + 100 - now });
    expect(decideAdmission([hubspotTenSecondly], buckets('ten-secondly', full), now + 49, 1).admitted).toBe(false);
    expect(decideAdmission([hubspotTenSecondly], buckets('ten-secondly', full), now + 50, 1).admitted).toBe(true);
  });

  it('waits, oldest first, until enough buckets left for the whole cost', () => {
    const now = 500_000;
    const rows = [{ startMs: now - 9_000, used: 30 }, { startMs: now - 6_000, used: 30 }, { startMs: now - 1_000, used: 40 }];
    const refusal = decideAdmission([hubspotTenSecondly], buckets('ten-secondly', rows), now, 31);
    expect(refusal).toMatchObject({ admitted: false, retryAfterMs: -6_000 + 50 + 10_100 });
  });

  it('takes from all windows or none, blames a spent quota first, and waits for the slowest window', () => {
    const daily = windowGeometry({ name: 'daily', limit: 10, windowMs: 86_400_000, quota: true });
    const now = 86_400_000 * 100;
    const both = new Map([
      ['daily', [{ startMs: now - 3_600_000, used: 10 }]],
      ['ten-secondly', [{ startMs: now - 5_000, used: 100 }]],
    ]);
    const refusal = decideAdmission([hubspotTenSecondly, daily], both, now, 1);
    expect(refusal).toMatchObject({ admitted: false, window: daily });
    if (refusal.admitted) throw new Error('unreachable');
    expect(refusal.retryAfterMs).toBe(-3_600_000 + 432_000 + 86_400_000 + 100);
    const onlyTenSecondly = decideAdmission([daily, hubspotTenSecondly], new Map([['ten-secondly', [{ startMs: now - 5_000, used: 100 }]]]), now, 1);
    expect(onlyTenSecondly).toMatchObject({ admitted: false, window: hubspotTenSecondly });
  });

  it('reconciles with the vendor: adds what it counts beyond our log, looking back by the figure\'s age', () => {
    const now = 2_000_000;
    const ours = [{ startMs: now - 10_600, used: 5 }, { startMs: now - 2_000, used: 20 }];
    // 5 of ours left the window 450 ms ago: a figure 1 s old still counts them.
    expect(reconcileObserved(hubspotTenSecondly, ours, now, { used: 25, limit: 100 }, 1_000)).toBe(0);
    expect(reconcileObserved(hubspotTenSecondly, ours, now, { used: 25, limit: 100 }, 0)).toBe(5);
    expect(reconcileObserved(hubspotTenSecondly, ours, now, { used: 60, limit: 100 }, 1_000)).toBe(35);
    // Spent by the vendor's count (less the reserve): fill to the usable limit.
    const daily = windowGeometry({ name: 'daily', limit: 100_000, windowMs: 86_400_000, reserve: 0.05, quota: true });
    expect(reconcileObserved(daily, [{ startMs: now, used: 94_001 }], now, { used: 95_000, limit: 100_000 }, 0)).toBe(999);
    expect(reconcileObserved(daily, [{ startMs: now, used: 94_001 }], now, { used: 99_000, limit: 100_000 }, 0)).toBe(999);
  });

  it('puts the vendor\'s extra count in the current bucket, or for a quota where it leaves after a tenth of the window', () => {
    const now = 86_400_000 * 20 + 1_234_567;
    expect(observedBucketStart(hubspotTenSecondly, now)).toBe(now - (now % 50));
    const daily = windowGeometry({ name: 'daily', limit: 100, windowMs: 86_400_000, quota: true });
    const start = observedBucketStart(daily, now);
    const rows = [{ startMs: start, used: 100 }];
    const refusal = decideAdmission([daily], new Map([['daily', rows]]), now, 1);
    expect(refusal).toMatchObject({ admitted: false, window: daily });
    if (refusal.admitted) throw new Error('unreachable');
    expect(refusal.retryAfterMs).toBeGreaterThan(8_640_000 - 432_000);
    expect(refusal.retryAfterMs).toBeLessThanOrEqual(8_640_000 + 432_000 + 100);
  });

  it('reports usage in the rolling window and when its oldest bucket leaves', () => {
    const now = 3_000_000;
    expect(windowUsage(hubspotTenSecondly, [{ startMs: now - 20_000, used: 7 }, { startMs: now - 4_000, used: 30 }, { startMs: now - 1_000, used: 10 }], now)).toEqual({
      name: 'ten-secondly',
      limit: 100,
      used: 40,
      remaining: 60,
      resetsInMs: 6_150,
    });
    expect(windowUsage(hubspotTenSecondly, [], now)).toMatchObject({ used: 0, remaining: 100, resetsInMs: 0 });
  });
});

describe('RateBudget on a simulated clock', () => {
  /** Four callers taking as fast as the budget admits, each call taking `callMs` and reaching the vendor 0–`jitterMs` after admission. */
  async function simulate(policy: RateWindowPolicy, seconds: number, jitterMs: number, callMs: number): Promise<{ arrivals: number[]; admitted: number }> {
    let now = 1_764_000_000_000;
    const timers: { at: number; wake: () => void }[] = [];
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => timers.push({ at: now + ms, wake: resolve }));
    const budget = new RateBudget({ provider: 'hubspot', connectionId: 'sim', windows: [policy], store: new MemoryRateBudgetStore(() => now), sleep, maxWaitMs: 60_000 });
    const end = now + seconds * 1000;
    const arrivals: number[] = [];
    let admitted = 0;
    let seed = 7;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const caller = async (): Promise<void> => {
      while (now < end) {
        await budget.acquire();
        admitted += 1;
        arrivals.push(now + random() * jitterMs);
        await sleep(callMs); // the call itself
      }
    };
    const callers = [caller(), caller(), caller(), caller()];
    while (now < end) {
      await new Promise((resolve) => setImmediate(resolve));
      timers.sort((a, b) => a.at - b.at);
      const next = timers.shift();
      if (!next) break;
      now = Math.max(now, next.at);
      next.wake();
    }
    for (const timer of timers.splice(0)) timer.wake();
    void Promise.allSettled(callers);
    return { arrivals: arrivals.sort((a, b) => a - b), admitted };
  }

  const worstWindow = (arrivals: number[], windowMs: number): number => {
    let worst = 0;
    let tail = 0;
    for (let head = 0; head < arrivals.length; head += 1) {
      while ((arrivals[tail] as number) <= (arrivals[head] as number) - windowMs) tail += 1;
      worst = Math.max(worst, head - tail + 1);
    }
    return worst;
  };

  it('runs HubSpot\'s 100 per 10 s at >= 95 % and never over 100 in any rolling 10 s, with up to 100 ms of jitter', async () => {
    // Four callers whose calls take 300 ms would send 13 per second: the budget paces them.
    const { arrivals, admitted } = await simulate({ name: 'ten-secondly', limit: 100, windowMs: 10_000 }, 600, 100, 300);
    expect(worstWindow(arrivals, 10_000)).toBeLessThanOrEqual(100);
    expect(admitted).toBeGreaterThanOrEqual(0.95 * 100 * 60);
    // The guard is what absorbs the jitter: without it the vendor would count more than 100.
    const unguarded = await simulate({ name: 'ten-secondly', limit: 100, windowMs: 10_000, guardMs: 0 }, 600, 100, 300);
    expect(worstWindow(unguarded.arrivals, 10_000)).toBeGreaterThan(100);
  });

  it('throws rate-limited with the wait when the wait exceeds maxWaitMs, and quota-exhausted at once', async () => {
    const store = new MemoryRateBudgetStore(() => 10_000_000);
    const budget = new RateBudget({ provider: 'hubspot', connectionId: 'c', windows: [{ name: 'w', limit: 1, windowMs: 1_000 }], store, maxWaitMs: 500 });
    await budget.acquire();
    await expect(budget.acquire()).rejects.toMatchObject({ errorClass: 'rate-limited', retryAfterMs: 1_000 + 50 + 25 });
    const quota = new RateBudget({ provider: 'hubspot', connectionId: 'c', windows: [{ name: 'd', limit: 1, windowMs: 86_400_000, quota: true }], store, maxWaitMs: 60_000 });
    await quota.acquire();
    const refusal = await quota.acquire().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConnectorError);
    expect(refusal).toMatchObject({ errorClass: 'quota-exhausted' });
  });
});

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors';
import { RateBudget, type RateBudgetOptions, type RateWindowPolicy } from '../../src/connectors/rate-budget';
import { MemoryRateBudgetStore, PostgresRateBudgetStore } from '../../src/connectors/rate-budget-store';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * The one clock a test's budgets, their store and their waits share: time moves only when the
 * test moves it or a budget sleeps, so how long the machine takes changes nothing asserted.
 */
class TestClock {
  constructor(public nowMs = Date.UTC(2026, 0, 5, 9, 0, 0, 0)) {}
  readonly now = (): number => this.nowMs;
  readonly sleep = async (ms: number): Promise<void> => {
    this.nowMs += ms;
  };
}

/** A budget on `clock`: PostgreSQL's shared log (locks and all) with the clock in place of the database's, or one process's log. */
function budgetOn(clock: TestClock, pool: pg.Pool | undefined, options: Omit<RateBudgetOptions, 'store' | 'pool' | 'sleep' | 'now'>): RateBudget {
  const store = pool ? new PostgresRateBudgetStore(pool, clock.now) : new MemoryRateBudgetStore(clock.now);
  return new RateBudget({ ...options, store, sleep: clock.sleep, now: clock.now });
}

/**
 * Admission times of a loop that takes from `budget` as fast as it admits, for `forMs` of the
 * clock; each call itself takes 1 to 23 ms (a fixed uneven sequence), so admissions straddle the
 * log's buckets as real calls do.
 */
async function hammer(budget: RateBudget, clock: TestClock, forMs: number): Promise<number[]> {
  const stamps: number[] = [];
  const started = clock.now();
  for (let call = 0; clock.now() - started < forMs; call += 1) {
    await budget.acquire();
    stamps.push(clock.now());
    clock.nowMs += 1 + ((call * 37) % 23);
  }
  return stamps;
}

const worstRollingWindow = (stamps: number[], windowMs: number): number => Math.max(...stamps.map((t) => stamps.filter((s) => s >= t && s < t + windowMs).length));

describe('RateBudget', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  for (const store of ['memory', 'PostgreSQL'] as const) {
    it(`uses at least 95 % of a rolling window and never more than all of it (${store})`, async () => {
      const window: RateWindowPolicy = { name: 'burst', limit: 20, windowMs: 2000 };
      const clock = new TestClock();
      const budget = budgetOn(clock, store === 'memory' ? undefined : db.pool, { provider: 'hubspot', connectionId: `roll-${store}-${randomUUID()}`, windows: [window], maxWaitMs: 10_000 });
      const stamps = await hammer(budget, clock, 4200);
      expect(worstRollingWindow(stamps, window.windowMs)).toBeLessThanOrEqual(window.limit);
      // Over the first two whole windows from the first admission: >= 95 % of 2 × 20. Fixed
      // slots of whole seconds allowed floor(20 / 3) = 6 per second here (60 %).
      const first = stamps[0] as number;
      const inTwoWindows = stamps.filter((t) => t < first + 2 * window.windowMs).length;
      expect(inTwoWindows).toBeGreaterThanOrEqual(Math.ceil(0.95 * 2 * window.limit));
    });
  }

  it('is shared through PostgreSQL: two budgets (two workers) for one connection split one allowance exactly', async () => {
    const connectionId = `shared-${randomUUID()}`;
    const window = { name: 'ten-secondly', limit: 30, windowMs: 10_000 };
    const clock = new TestClock();
    const workerA = budgetOn(clock, db.pool, { provider: 'hubspot', connectionId, windows: [window], maxWaitMs: 0 });
    const workerB = budgetOn(clock, db.pool, { provider: 'hubspot', connectionId, windows: [window], maxWaitMs: 0 });
    const granted = async (budget: RateBudget): Promise<number> => {
      let count = 0;
      for (let i = 0; i < 25; i += 1) {
        try {
          await budget.acquire();
          count += 1;
        } catch (error) {
          expect(error).toBeInstanceOf(ConnectorError);
          expect((error as ConnectorError).errorClass).toBe('rate-limited');
          expect((error as ConnectorError).retryAfterMs).toBeGreaterThan(9_000);
        }
      }
      return count;
    };
    const [a, b] = await Promise.all([granted(workerA), granted(workerB)]);
    expect(a + b).toBe(30);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    const rows = await db.pool.query<{ used: string }>('SELECT sum(used) AS used FROM rate_budget_buckets WHERE key = $1', [`hubspot:${connectionId}`]);
    expect(Number(rows.rows[0]?.used)).toBe(30);
    const snapshot = await workerB.snapshot();
    expect(snapshot.windows).toHaveLength(1);
    expect(snapshot.windows[0]).toMatchObject({ name: 'ten-secondly', limit: 30, used: 30, remaining: 0 });
    expect(snapshot.windows[0]?.resetsInMs).toBeGreaterThan(9_000);
  });

  it('pauses (quota-exhausted) when the vendor reports the daily allowance less its reserve spent', async () => {
    const budget = budgetOn(new TestClock(), db.pool, {
      provider: 'salesforce',
      connectionId: `daily-${randomUUID()}`,
      windows: [{ name: 'daily', limit: 100_000, windowMs: 86_400_000, reserve: 0.05, quota: true }],
    });
    await budget.acquire();
    await budget.observe('daily', { used: 94_000, limit: 100_000 });
    await budget.acquire(); // below 95%: fine
    expect((await budget.snapshot()).windows[0]).toMatchObject({ limit: 95_000, used: 94_001 });
    await budget.observe('daily', { used: 95_000, limit: 100_000 });
    const refusal = await budget.acquire().then(() => undefined, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConnectorError);
    expect(refusal).toMatchObject({ errorClass: 'quota-exhausted' });
    // What the vendor counted beyond our log closes the quota for a tenth of the day, then one
    // call asks the vendor again.
    expect((refusal as ConnectorError).retryAfterMs).toBeGreaterThan(8_640_000 - 432_000);
    expect((refusal as ConnectorError).retryAfterMs).toBeLessThanOrEqual(8_640_000 + 432_000 + 100);
  });

  it('takes from every window or none', async () => {
    const budget = budgetOn(new TestClock(), db.pool, {
      provider: 'hubspot',
      connectionId: `all-or-none-${randomUUID()}`,
      windows: [
        { name: 'daily', limit: 1000, windowMs: 86_400_000, quota: true },
        { name: 'ten-secondly', limit: 2, windowMs: 10_000 },
      ],
      maxWaitMs: 0,
    });
    for (let i = 0; i < 2; i += 1) await budget.acquire();
    await expect(budget.acquire()).rejects.toMatchObject({ errorClass: 'rate-limited' });
    const snapshot = await budget.snapshot();
    // The refused call was not counted against the daily window.
    expect(snapshot.windows.find((w) => w.name === 'daily')?.used).toBe(2);
    expect(snapshot.windows.find((w) => w.name === 'ten-secondly')?.used).toBe(2);
  });
});

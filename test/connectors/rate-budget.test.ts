import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors';
import { RateBudget, type RateWindowPolicy } from '../../src/connectors/rate-budget';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/** Admission times of a loop that takes from `budget` as fast as it admits, for `forMs`. */
async function hammer(budget: RateBudget, forMs: number): Promise<number[]> {
  const stamps: number[] = [];
  const started = Date.now();
  while (Date.now() - started < forMs) {
    await budget.acquire();
    stamps.push(Date.now());
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
      const budget = new RateBudget({ provider: 'hubspot', connectionId: `roll-${store}-${Date.now()}`, windows: [window], pool: store === 'memory' ? undefined : db.pool, maxWaitMs: 10_000 });
      const stamps = await hammer(budget, 4200);
      expect(worstRollingWindow(stamps, window.windowMs)).toBeLessThanOrEqual(window.limit);
      // Over the first two whole windows from the first admission: >= 95 % of 2 × 20. Fixed
      // slots of whole seconds allowed floor(20 / 3) = 6 per second here (60 %).
      const first = stamps[0] as number;
      const inTwoWindows = stamps.filter((t) => t < first + 2 * window.windowMs).length;
      expect(inTwoWindows).toBeGreaterThanOrEqual(Math.ceil(0.95 * 2 * window.limit));
    });
  }

  it('is shared through PostgreSQL: two budgets (two workers) for one connection split one allowance exactly', async () => {
    const connectionId = `shared-${Date.now()}`;
    const window = { name: 'ten-secondly', limit: 30, windowMs: 10_000 };
    const workerA = new RateBudget({ provider: 'hubspot', connectionId, windows: [window], pool: db.pool, maxWaitMs: 0 });
    const workerB = new RateBudget({ provider: 'hubspot', connectionId, windows: [window], pool: db.pool, maxWaitMs: 0 });
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
    const budget = new RateBudget({
      provider: 'salesforce',
      connectionId: `daily-${Date.now()}`,
      windows: [{ name: 'daily', limit: 100_000, windowMs: 86_400_000, reserve: 0.05, quota: true }],
      pool: db.pool,
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
    const budget = new RateBudget({
      provider: 'hubspot',
      connectionId: `all-or-none-${Date.now()}`,
      windows: [
        { name: 'daily', limit: 1000, windowMs: 86_400_000, quota: true },
        { name: 'ten-secondly', limit: 2, windowMs: 10_000 },
      ],
      pool: db.pool,
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors';
import { RateBudget } from '../../src/connectors/rate-budget';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

describe('RateBudget', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('never lets a rolling window exceed the vendor limit, even across slot boundaries', async () => {
    // 20 per 2 s in 1 s slots: a rolling 2 s overlaps at most 3 slots, so 6 per slot (18 <= 20).
    const budget = new RateBudget({ provider: 'hubspot', connectionId: `roll-${Date.now()}`, windows: [{ name: 'burst', limit: 20, windowMs: 2000, slots: 2 }], maxWaitMs: 10_000 });
    const stamps: number[] = [];
    const started = Date.now();
    while (Date.now() - started < 4200) {
      await budget.acquire();
      stamps.push(Date.now());
    }
    const worstRollingWindow = Math.max(...stamps.map((t) => stamps.filter((s) => s >= t && s < t + 2000).length));
    expect(worstRollingWindow).toBeLessThanOrEqual(20);
    // And it does not starve: 6 per slot over at least 4 whole slots.
    expect(stamps.length).toBeGreaterThanOrEqual(24);
  });

  it('is shared through PostgreSQL: two budgets (two workers) for one connection split one allowance', async () => {
    const connectionId = `shared-${Date.now()}`;
    const window = { name: 'ten-secondly', limit: 110, windowMs: 10_000, slots: 10 };
    const workerA = new RateBudget({ provider: 'hubspot', connectionId, windows: [window], pool: db.pool, maxWaitMs: 0 });
    const workerB = new RateBudget({ provider: 'hubspot', connectionId, windows: [window], pool: db.pool, maxWaitMs: 0 });
    const granted = async (budget: RateBudget): Promise<number> => {
      let count = 0;
      for (let i = 0; i < 20; i += 1) {
        try {
          await budget.acquire();
          count += 1;
        } catch (error) {
          expect(error).toBeInstanceOf(ConnectorError);
          expect((error as ConnectorError).errorClass).toBe('rate-limited');
        }
      }
      return count;
    };
    const [a, b] = await Promise.all([granted(workerA), granted(workerB)]);
    expect(a + b).toBe(10); // floor(110 / 11) per 1 s slot, shared
    const rows = await db.pool.query<{ points: number }>('SELECT points FROM rate_budget_counters WHERE key LIKE $1', [`%${connectionId}`]);
    expect(rows.rows[0]?.points).toBeGreaterThanOrEqual(10);
  });

  it('pauses (quota-exhausted) when the vendor reports the daily allowance less its reserve spent', async () => {
    const budget = new RateBudget({
      provider: 'salesforce',
      connectionId: `daily-${Date.now()}`,
      windows: [{ name: 'daily', limit: 100_000, windowMs: 86_400_000, slots: 24, reserve: 0.05, quota: true }],
      pool: db.pool,
    });
    await budget.acquire();
    await budget.observe('daily', { used: 94_000, limit: 100_000 });
    await budget.acquire(); // below 95%: fine
    await budget.observe('daily', { used: 95_000, limit: 100_000 });
    const refusal = await budget.acquire().then(() => undefined, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConnectorError);
    expect(refusal).toMatchObject({ errorClass: 'quota-exhausted' });
    expect((refusal as ConnectorError).retryAfterMs).toBeGreaterThan(0);
    expect((refusal as ConnectorError).retryAfterMs).toBeLessThanOrEqual(3_600_000);
  });

  it('takes from every window or none', async () => {
    const budget = new RateBudget({
      provider: 'hubspot',
      connectionId: `all-or-none-${Date.now()}`,
      windows: [
        { name: 'daily', limit: 1000, windowMs: 86_400_000, slots: 1, quota: true },
        { name: 'ten-secondly', limit: 4, windowMs: 10_000, slots: 1 },
      ],
      maxWaitMs: 0,
    });
    for (let i = 0; i < 2; i += 1) await budget.acquire();
    await expect(budget.acquire()).rejects.toMatchObject({ errorClass: 'rate-limited' });
    const snapshot = await budget.snapshot();
    // The refused call was not counted against the daily window.
    expect(snapshot.windows.find((w) => w.name === 'daily')?.used).toBe(2 * 2);
  });
});

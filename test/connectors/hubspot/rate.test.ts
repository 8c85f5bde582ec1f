import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../src/connectors/errors';
import { createHubSpotConnector, hubspotSpec } from '../../../src/connectors/hubspot';
import type { RateWindowPolicy } from '../../../src/connectors/rate-budget';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';
import { bucketFloor, budgetLog, tokenRefreshClock } from '../../support/budget-log';
import { createTestDatabase, type TestDatabase } from '../../support/test-database';

/**
 * HubSpot's Free/Starter private-app window (100 per 10 s) scaled down 5x in time and count, in
 * both the sandbox and the budget: 20 per 2 s, the same 10 requests per second.
 */
const SCALED_WINDOW = { max: 20, intervalMs: 2_000 };

describe('HubSpot connector: rate budget against the sandbox limits', () => {
  let hs: HubSpotSandbox;
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    hs = await startHubSpotSandbox({ limits: { tenSecondly: SCALED_WINDOW } });
  });
  afterAll(async () => {
    await hs.stop();
    await db.drop();
  });

  it('writes 5,000 records within the ten-secondly window with no 429', async () => {
    const windows: RateWindowPolicy[] = [
      // The product's own jitter guard (spec.ts): a call delayed on a loaded machine must not land in the next window's count.
      { name: 'ten-secondly', limit: SCALED_WINDOW.max, windowMs: SCALED_WINDOW.intervalMs, slots: 2, guardMs: hubspotSpec.rateWindows[0].guardMs },
      { name: 'daily', limit: 250_000, windowMs: 86_400_000, reserve: 0.1, quota: true },
    ];
    const connector = await createHubSpotConnector({
      connectionId: `hs-rate-${randomUUID()}`,
      basePath: hs.url,
      auth: { kind: 'private-app', accessToken: hs.credentials.accessToken },
      pool: db.pool,
      rateLimits: windows,
    });
    const started = Date.now();
    const outcomes = await connector.bulk.upsert(
      'company',
      Array.from({ length: 5_000 }, (_, index) => ({ syncId: `rate-${index}`, fields: { name: `Company ${index}`, domain: `c${index}.example` } })),
    );
    const elapsed = Date.now() - started;
    expect(outcomes.every((outcome) => outcome.status === 'created')).toBe(true);
    const rateLimited = hs.counters.snapshot().rateLimited;
    console.log(`rate: 5,000 records, ${connector.requestCount} requests in ${elapsed} ms, ${rateLimited} x 429`);
    expect(rateLimited).toBe(0);
    // 50 batches of 100, and the property definitions read once before the first write.
    expect(connector.requestCount).toBe(51);
    const snapshot = await connector.rateBudget();
    expect(snapshot.windows.map((window) => window.name).sort()).toEqual(['daily', 'ten-secondly']);
  });

  it('admits a call only once it holds its token: a token refresh is not spent between admission and arrival', async () => {
    // Every answer 300 ms late: the refresh a first call waits for takes at least that long.
    const slow = await startHubSpotSandbox({ limits: { tenSecondly: SCALED_WINDOW }, faults: { latencyMs: 300 } });
    try {
      const connectionId = `hs-token-first-${randomUUID()}`;
      const refresh = tokenRefreshClock();
      const connector = await createHubSpotConnector({
        connectionId,
        basePath: slow.url,
        auth: { kind: 'oauth', clientId: slow.credentials.clientId, clientSecret: slow.credentials.clientSecret, refreshToken: slow.credentials.refreshToken },
        pool: db.pool,
        rateLimits: [{ name: 'ten-secondly', limit: SCALED_WINDOW.max, windowMs: SCALED_WINDOW.intervalMs }],
        onTokenRefreshed: refresh.onTokenRefreshed,
      });
      await connector.readRecords('contact', slow.admin.seed({ contacts: 1 }).contacts ?? []);
      expect(connector.tokenRefreshCount).toBe(1);
      const log = await budgetLog(db.pool, `hubspot:${connectionId}`);
      expect(log.requests).toBe(connector.requestCount);
      // Logged no earlier than the refresh ended: a call admitted before it would reach HubSpot
      // 300 ms and more after the time the budget counts it at, and a window the log saw as free
      // again would still hold it at the vendor (a 429 with many workers).
      expect(log.earliestBucketMs).toBeGreaterThanOrEqual(bucketFloor(refresh.refreshedAt(), SCALED_WINDOW.intervalMs));
    } finally {
      await slow.stop();
    }
  });

  it('pauses with quota-exhausted (retryAfterMs to the daily reset) once the vendor says only the reserve is left', async () => {
    hs.admin.configureLimits({ daily: 1_000 });
    const state = hs.admin.limits();
    if (state.daily === false) throw new Error('daily limit expected');
    // Leave 103 of 1,000: the reserve is 10 %, so three more calls fit and the fourth pauses here.
    hs.admin.spendDailyBudget(1_000 - state.daily.used - 103);
    const connector = await createHubSpotConnector({
      connectionId: `hs-daily-${randomUUID()}`,
      basePath: hs.url,
      auth: { kind: 'private-app', accessToken: hs.credentials.accessToken },
      pool: db.pool,
      rateLimits: [
        { name: 'ten-secondly', limit: SCALED_WINDOW.max, windowMs: SCALED_WINDOW.intervalMs, slots: 2 },
        { name: 'daily', limit: 1_000, windowMs: 86_400_000, reserve: 0.1, quota: true },
      ],
    });
    const limitedBefore = hs.counters.snapshot().rateLimited;
    let error: ConnectorError | undefined;
    let calls = 0;
    for (; calls < 10 && !error; calls += 1) {
      try {
        await connector.readRecords('company', ['1']);
      } catch (caught) {
        if (!(caught instanceof ConnectorError)) throw caught;
        error = caught;
      }
    }
    expect(error).toMatchObject({ errorClass: 'quota-exhausted', vendorCode: 'DAILY' });
    expect(error?.retryAfterMs).toBeGreaterThan(0);
    expect(error?.retryAfterMs).toBeLessThanOrEqual(86_400_000);
    expect(connector.requestCount).toBe(3);
    // Paused before the vendor: no DAILY 429 was collected, and the reserve is untouched.
    expect(hs.counters.snapshot().rateLimited).toBe(limitedBefore);
    const after = hs.admin.limits();
    expect(after.daily !== false && after.daily.limit - after.daily.used).toBe(100);
  });
});

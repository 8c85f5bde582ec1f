import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../src/connectors/errors';
import { createPipedriveConnector, defaultRateWindows } from '../../../src/connectors/pipedrive';
import type { RateWindowPolicy } from '../../../src/connectors/rate-budget';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { bucketFloor, budgetLog, tokenRefreshClock } from '../../support/budget-log';
import { createTestDatabase, type TestDatabase } from '../../support/test-database';

/**
 * Pipedrive's Growth API-token burst (40 per rolling 2 s) and search limit (10 per 2 s), unscaled,
 * in both sandbox and budget (shared PostgreSQL counters); the daily budget scaled to 1,000 tokens.
 */
describe('Pipedrive connector: rate budget against the sandbox limits', () => {
  let pd: PipedriveSandbox;
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    pd = await startPipedriveSandbox({ limits: { apiTokenBurst: 40, searchBurst: 10, dailyTokens: false } });
  });
  afterAll(async () => {
    await pd.stop();
    await db.drop();
  });

  it('writes 150 records (130 linked updates, 20 new: search then create) with no 429', async () => {
    const existing = pd.admin.seed({ organizations: 130 }).organizations;
    const connector = await createPipedriveConnector({
      connectionId: `pd-rate-${randomUUID()}`,
      apiDomain: pd.url,
      auth: { kind: 'api-token', apiToken: pd.credentials.apiToken },
      pool: db.pool,
      rateLimits: defaultRateWindows('api-token').filter((window) => window.name !== 'daily-tokens'),
    });
    const inputs = [
      ...existing.map((id, index) => ({ syncId: `linked-${index}`, externalId: String(id), fields: { name: `Linked ${index}` } })),
      ...Array.from({ length: 20 }, (_, index) => ({ syncId: `new-${index}`, fields: { name: `New ${index}` } })),
    ];
    const started = Date.now();
    const outcomes = await connector.bulk.upsert('company', inputs);
    console.log(`pipedrive rate: 150 records, ${connector.requestCount} requests in ${Date.now() - started} ms, ${pd.counters.snapshot().rateLimited} x 429`);
    expect(outcomes.filter((outcome) => outcome.status === 'updated')).toHaveLength(130);
    expect(outcomes.filter((outcome) => outcome.status === 'created')).toHaveLength(20);
    expect(pd.counters.snapshot().rateLimited).toBe(0);
    // One field list (the sync id key and the write constraints share it), 130 PATCHes, 20 searches + 20 POSTs.
    expect(connector.requestCount).toBe(171);
    const snapshot = await connector.rateBudget();
    expect(snapshot.windows.map((window) => window.name).sort()).toEqual(['burst', 'search']);
    await connector.close();
  });

  it('admits an OAuth call only once it holds its token: a token refresh is not spent between admission and arrival', async () => {
    // Every answer 300 ms late: the refresh a first call waits for takes at least that long.
    const slow = await startPipedriveSandbox({ limits: false, faults: { latencyMs: 300 } });
    try {
      const connectionId = `pd-token-first-${randomUUID()}`;
      const refresh = tokenRefreshClock();
      const connector = await createPipedriveConnector({
        connectionId,
        apiDomain: slow.url,
        auth: { kind: 'oauth', clientId: slow.credentials.clientId, clientSecret: slow.credentials.clientSecret, refreshToken: slow.credentials.refreshToken, tokenUrl: slow.credentials.tokenUrl },
        pool: db.pool,
        rateLimits: defaultRateWindows('oauth').filter((window) => window.name === 'burst'),
        onTokenRefreshed: refresh.onTokenRefreshed,
      });
      await connector.readRecords('company', slow.admin.seed({ organizations: 1 }).organizations.map(String));
      expect(connector.tokenRefreshCount).toBe(1);
      const log = await budgetLog(db.pool, `pipedrive:${connectionId}`);
      expect(log.requests).toBe(connector.requestCount);
      // Logged no earlier than the refresh ended (a call admitted before it reaches Pipedrive late).
      expect(log.earliestBucketMs).toBeGreaterThanOrEqual(bucketFloor(refresh.refreshedAt(), 2_000));
      await connector.close();
    } finally {
      await slow.stop();
    }
  });

  it('pauses with quota-exhausted once the vendor says only the reserve of the day is left', async () => {
    pd.admin.configureLimits({ dailyTokens: 1_000 });
    const state = pd.admin.limits();
    if (state.dailyTokens === false) throw new Error('daily budget expected');
    // Leave 130 tokens: the reserve is 10 % (100), so one list (20) fits, the next pauses here.
    pd.admin.spendDailyTokens(1_000 - state.dailyTokens.used - 130);
    const windows: RateWindowPolicy[] = [
      { name: 'burst', limit: 40, windowMs: 2_000, slots: 2 },
      { name: 'daily-tokens', limit: 1_000, windowMs: 86_400_000, reserve: 0.1, quota: true },
    ];
    const connector = await createPipedriveConnector({
      connectionId: `pd-daily-${randomUUID()}`,
      apiDomain: pd.url,
      auth: { kind: 'api-token', apiToken: pd.credentials.apiToken },
      pool: db.pool,
      rateLimits: windows,
      syncIdFieldKeys: { company: pd.admin.syncIdFieldKey('organizations') },
    });
    const limitedBefore = pd.counters.snapshot().rateLimited;
    let error: ConnectorError | undefined;
    let calls = 0;
    for (; calls < 10 && !error; calls += 1) {
      try {
        await connector.listChanges('company', { since: new Date().toISOString() });
      } catch (caught) {
        if (!(caught instanceof ConnectorError)) throw caught;
        error = caught;
      }
    }
    expect(error).toMatchObject({ errorClass: 'quota-exhausted', vendorCode: 'DAILY_BUDGET' });
    expect(calls).toBe(3);
    expect(pd.counters.snapshot().rateLimited - limitedBefore).toBe(0);
    await connector.close();
  });
});

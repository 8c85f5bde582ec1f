import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateWindowPolicy } from '../../../src/connectors/rate-budget';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { createTestDatabase, type TestDatabase } from '../../support/test-database';
import { connectorFailure } from '../../support/connector-failure';
import { connectTo } from './support';

/**
 * Zoho's rolling-24-h credits scaled down to 2,000 per minute, and the Free edition's concurrency
 * of 5 calls, in both the sandbox and the connector; the budget's counters live in PostgreSQL.
 */
const CREDITS: RateWindowPolicy = { name: 'credits', limit: 2_000, windowMs: 60_000, slots: 1, quota: true };

describe('Zoho connector: credits and concurrency against the sandbox limits', () => {
  let zoho: ZohoSandbox;
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    zoho = await startZohoSandbox({ limits: { credits: { limit: CREDITS.limit, windowMs: CREDITS.windowMs }, concurrency: 5 }, callLatencyMs: 20 });
  });
  afterAll(async () => {
    await zoho?.stop();
    await db?.drop();
  });

  it('writes 1,500 records and reads in 40 parallel calls with no refusal from Zoho (concurrency and credits)', async () => {
    const connector = await connectTo(zoho, { pool: db.pool, rateLimits: [CREDITS], concurrency: 5 });
    const inputs = Array.from({ length: 1_500 }, (_, i) => ({ syncId: randomUUID(), fields: { lastName: `Rate ${i}` } }));
    const [outcomes] = await Promise.all([
      connector.bulk.upsert('contact', inputs),
      Promise.all(Array.from({ length: 40 }, () => connector.readRecords('contact', ['1']))),
    ]);
    expect(outcomes.every((outcome) => outcome.status === 'created')).toBe(true);
    expect(zoho.counters.snapshot().rateLimited).toBe(0);
    // 15 upserts of 100 (10 credits each) + 40 reads + the field metadata read once before the first write.
    expect(zoho.admin.limits().credits).toMatchObject({ used: 191 });
    const snapshot = await connector.rateBudget();
    expect(snapshot.windows).toEqual([expect.objectContaining({ name: 'credits', limit: 2_000 })]);
    await connector.close();
  });

  it('pauses with quota-exhausted before Zoho refuses, once Zoho says the credits others spent leave none', async () => {
    const state = zoho.admin.limits().credits;
    if (state === false) throw new Error('credits expected');
    // People and other integrations spend the rest but 2 credits.
    zoho.admin.spendCredits(state.remaining - 2);
    const connector = await connectTo(zoho, { pool: db.pool, rateLimits: [CREDITS], connectionId: `zoho-quota-${randomUUID()}` });
    await connector.readRecords('contact', ['1']);
    await connector.readRecords('contact', ['1']);
    const error = await connectorFailure(connector.readRecords('contact', ['1']));
    expect(error).toMatchObject({ errorClass: 'quota-exhausted' });
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(connector.requestCount).toBe(2);
    expect(zoho.counters.snapshot().rateLimited).toBe(0);
    await connector.close();
  });
});

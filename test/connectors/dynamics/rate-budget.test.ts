import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { UpsertInput } from '../../../src/connectors/connector';
import type { DynamicsConnector } from '../../../src/connectors/dynamics/index';
import { ConnectorError } from '../../../src/connectors/errors';
import type { RateWindowPolicy } from '../../../src/connectors/rate-budget';
import { createTestDatabase, type TestDatabase } from '../../support/test-database';
import { startHarness, syncId, type Harness } from './support';

/**
 * Service protection scaled down for speed, identically in the sandbox and the budget: 300
 * requests per 2-second sliding window instead of 6,000 per 300 s (1/20 of the requests, 1/150
 * of the window). Records go 10 per $batch, so 5,000 records are 500 requests: without a budget
 * they hit the limit within the first window.
 */
const LIMIT = 300;
const WINDOW_MS = 2_000;
const scaled: RateWindowPolicy[] = [{ name: 'service-protection', limit: LIMIT, windowMs: WINDOW_MS, slots: 2 }];

function records(count: number): UpsertInput[] {
  return Array.from({ length: count }, (_, index) => ({ syncId: syncId(), fields: { lastName: `budget-${index}` } }));
}

/** Writes like the activity does: a rate-limited failure waits Retry-After and retries. */
async function writeAll(connector: DynamicsConnector, inputs: UpsertInput[], chunk: number): Promise<{ vendor429s: number; failed: number }> {
  let vendor429s = 0;
  let failed = 0;
  for (let start = 0; start < inputs.length; ) {
    try {
      const outcomes = await connector.upsertRecords('contact', inputs.slice(start, start + chunk));
      failed += outcomes.filter((outcome) => outcome.status === 'failed').length;
      start += chunk;
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.errorClass !== 'rate-limited' || error.status !== 429) throw error;
      vendor429s += 1;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1000));
    }
  }
  return { vendor429s, failed };
}

describe('Dynamics connector: shared rate budget against service protection', () => {
  let database: TestDatabase;
  let harness: Harness;

  beforeAll(async () => {
    database = await createTestDatabase();
    harness = await startHarness({ serviceProtection: { requestsPerWindow: LIMIT, windowMs: WINDOW_MS } }, { batchSize: 10 });
  });
  afterAll(async () => {
    await harness.stop();
    await database.drop();
  });

  test('5,000 records, 500 requests: the budget keeps every call inside the limit (0 vendor 429s)', async () => {
    const connector = await harness.connect({ rateLimits: scaled, pool: database.pool, maxBudgetWaitMs: 10_000 });
    const inputs = records(5_000);
    const result = await writeAll(connector, inputs, 50);
    console.info(`dynamics rate budget: 5,000 records, ${result.vendor429s} vendor 429s`);
    expect(result).toEqual({ vendor429s: 0, failed: 0 });
    expect(harness.sandbox.admin.listRecords('contacts').length).toBe(5_000);
    const snapshot = await connector.rateBudget();
    expect(snapshot.windows[0]).toMatchObject({ name: 'service-protection' });
  }, 30_000);

  test('control: without the budget the same write is refused by the vendor', async () => {
    // The same allowance over a minute: 500 requests exceed it however slowly a loaded machine sends them.
    const control = await startHarness({ serviceProtection: { requestsPerWindow: LIMIT, windowMs: 60_000 } }, { batchSize: 10, rateLimits: false });
    try {
      let refusal: unknown;
      try {
        await control.connector.upsertRecords('contact', records(5_000));
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(ConnectorError);
      expect(refusal).toMatchObject({ errorClass: 'rate-limited', status: 429, vendorCode: '0x80072322' });
    } finally {
      await control.stop();
    }
  });
});

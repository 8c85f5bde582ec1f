import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/test-database';
import { startHarness, stopAll } from './sandbox-connector';
import { connectorFailure } from '../../support/connector-failure';

afterEach(stopAll);

const failure = connectorFailure;

describe('Salesforce connector: error classification', () => {
  it('classifies a 400 query error as validation with the vendor code', async () => {
    const { connector } = await startHarness({}, { mappingOverride: { objects: { contact: { fields: [{ canonical: 'title', native: 'Bogus', type: 'string' }] } } } });
    const error = await failure(connector.readRecords('contact', ['003000000000001AAA']));
    expect(error).toMatchObject({ errorClass: 'validation', vendorCode: 'INVALID_FIELD', status: 400 });
    expect(error.message).toContain("No such column 'Bogus'");
  });

  it('refreshes once on 401 and succeeds; ten concurrent calls after expiry share one token request', async () => {
    const { connector, sandbox } = await startHarness();
    const [id] = sandbox.admin.seed({ contacts: 1 }).Contact ?? [];
    sandbox.admin.expireTokens();
    expect(await connector.readRecords('contact', [String(id)])).toHaveLength(1);
    expect(connector.tokenRefreshes).toBe(1);
    expect(sandbox.admin.stats().tokenRequests).toBe(1);

    sandbox.admin.expireTokens();
    const results = await Promise.all(Array.from({ length: 10 }, () => connector.readRecords('contact', [String(id)])));
    expect(results.every((records) => records.length === 1)).toBe(true);
    expect(sandbox.admin.stats().tokenRequests).toBe(2);
    expect(connector.tokenRefreshes).toBe(2);
  });

  it('fails auth when the refresh itself is refused', async () => {
    const { sandbox, connect } = await startHarness();
    const { clientId, refreshToken } = sandbox.credentials;
    const connector = await connect({ credentials: { grant: 'refresh_token', clientId, clientSecret: 'wrong', refreshToken } });
    sandbox.admin.expireTokens();
    const error = await failure(connector.readRecords('contact', ['003000000000001AAA']));
    expect(error).toMatchObject({ errorClass: 'auth', vendorCode: 'invalid_client', status: 400 });
    expect(error.message).toMatch(/token request failed: invalid client credentials/);
    expect(sandbox.admin.stats().tokenRequests).toBe(1);
  });

  it('gets a token with client_credentials when it has none', async () => {
    const { sandbox, connect } = await startHarness();
    const { clientId, clientSecret } = sandbox.credentials;
    const connector = await connect({ accessToken: undefined, credentials: { grant: 'client_credentials', clientId, clientSecret } });
    expect(await connector.readRecords('contact', [])).toEqual([]);
    expect(await connector.describeFields('company')).not.toHaveLength(0);
    expect(sandbox.admin.stats().tokenRequests).toBe(1);
  });

  it('a token endpoint failing with 5xx is transient (retried), not a refused grant', async () => {
    const { sandbox, connect } = await startHarness();
    const { clientId, clientSecret } = sandbox.credentials;
    const connector = await connect({ accessToken: undefined, credentials: { grant: 'client_credentials', clientId, clientSecret } });
    sandbox.faults.configure({ serverErrorRate: 1 });
    const error = await failure(connector.describeFields('company'));
    expect(error).toMatchObject({ errorClass: 'transient', status: 500 });
    expect(sandbox.counters.injectedFaults).toBe(1);
    // Once the vendor recovers, the same connector gets its token and works.
    sandbox.faults.configure({ serverErrorRate: 0 });
    expect(await connector.describeFields('company')).not.toHaveLength(0);
  });

  it('a token endpoint answering 429 (no Retry-After) is rate-limited, not auth, on a first token and on a refresh after a 401; then it recovers', async () => {
    const { sandbox, connect } = await startHarness();
    const { clientId, clientSecret } = sandbox.credentials;
    sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    const fresh = await connect({ accessToken: undefined, credentials: { grant: 'client_credentials', clientId, clientSecret } });
    expect(await failure(fresh.describeFields('company'))).toMatchObject({ errorClass: 'rate-limited', status: 429, retryAfterMs: undefined });

    const [id] = sandbox.admin.seed({ contacts: 1 }).Contact ?? [];
    const connector = await connect();
    sandbox.admin.expireTokens();
    const error = await failure(connector.readRecords('contact', [String(id)]));
    expect(error).toMatchObject({ errorClass: 'rate-limited', status: 429 });
    expect(error.retryable).toBe(true);
    expect(sandbox.counters.injectedFaults).toBe(2);

    sandbox.faults.configure({});
    expect(await connector.readRecords('contact', [String(id)])).toHaveLength(1);
    expect(await fresh.describeFields('company')).not.toHaveLength(0);
  });

  it('a token endpoint answering 5xx or not answering during a refresh after a 401 is transient, not auth', async () => {
    const { sandbox, connect } = await startHarness();
    const [id] = sandbox.admin.seed({ contacts: 1 }).Contact ?? [];
    const connector = await connect({ requestTimeoutMs: 300 });
    sandbox.admin.expireTokens();
    sandbox.faults.configure({ serverErrorRate: 1, tokenEndpointOnly: true });
    expect(await failure(connector.readRecords('contact', [String(id)]))).toMatchObject({ errorClass: 'transient', status: 500 });
    sandbox.faults.configure({ timeoutRate: 1, tokenEndpointOnly: true });
    expect(await failure(connector.readRecords('contact', [String(id)]))).toMatchObject({ errorClass: 'transient', message: expect.stringMatching(/request aborted/) as unknown });
    sandbox.faults.configure({});
    expect(await connector.readRecords('contact', [String(id)])).toHaveLength(1);
  });

  it('two workers refreshing one refresh token at once: the one Salesforce refuses ("token request is already being processed") is rate-limited, not auth', async () => {
    const { sandbox, connect } = await startHarness({ tokenProcessingMs: 200 });
    const [id] = sandbox.admin.seed({ contacts: 1 }).Contact ?? [];
    const workers = [await connect(), await connect()];
    sandbox.admin.expireTokens();
    const outcomes = await Promise.allSettled(workers.map((worker) => worker.readRecords('contact', [String(id)])));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected');
    expect(refused?.reason).toMatchObject({ errorClass: 'rate-limited', vendorCode: 'invalid_grant', status: 400 });
    expect((refused?.reason as Error).message).toContain('token request is already being processed');
    // The other worker's refresh is done: a retry gets its own token.
    const retried = await Promise.all(workers.map((worker) => worker.readRecords('contact', [String(id)])));
    expect(retried.every((records) => records.length === 1)).toBe(true);
  });

  it('classifies an unknown object as not-found (404)', async () => {
    const { connector } = await startHarness({}, { mappingOverride: { objects: { contact: { nativeObject: 'Lead' } } } });
    const error = await failure(connector.describeFields('contact'));
    expect(error).toMatchObject({ errorClass: 'not-found', status: 404 });
  });

  it('classifies an injected 500 as transient, without jsforce retrying behind the budget', async () => {
    const { connector, sandbox } = await startHarness();
    sandbox.faults.configure({ serverErrorRate: 1 });
    const started = Date.now();
    const error = await failure(connector.readRecords('contact', ['003000000000001AAA']));
    expect(error).toMatchObject({ errorClass: 'transient', vendorCode: 'UNKNOWN_EXCEPTION', status: 500 });
    expect(error.retryable).toBe(true);
    expect(sandbox.counters.injectedFaults).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('classifies an injected timeout as transient within requestTimeoutMs', async () => {
    const { sandbox, connect } = await startHarness();
    const connector = await connect({ requestTimeoutMs: 300 });
    sandbox.faults.configure({ timeoutRate: 1 });
    const started = Date.now();
    const error = await failure(connector.upsertRecords('contact', [{ syncId: 't-1', fields: { lastName: 'T' } }]));
    const elapsed = Date.now() - started;
    expect(error.errorClass).toBe('transient');
    expect(error.message).toMatch(/no answer within 300 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('classifies REQUEST_LIMIT_EXCEEDED as quota-exhausted with a retry delay', async () => {
    const { connector, sandbox } = await startHarness();
    sandbox.faults.configure({ rateLimitRate: 1 });
    const error = await failure(connector.readRecords('contact', ['003000000000001AAA']));
    expect(error).toMatchObject({ errorClass: 'quota-exhausted', vendorCode: 'REQUEST_LIMIT_EXCEEDED', status: 403 });
    expect(error.message).toContain('TotalRequests Limit exceeded.');
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });
});

describe('Salesforce connector: rate budget (shared PostgreSQL counters)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('pauses a write (quota-exhausted) once Sforce-Limit-Info says the allowance is spent, before the vendor refuses', async () => {
    const { sandbox, connect } = await startHarness({ dailyApiRequests: 1_000 });
    const connector = await connect({ pool: database.pool });
    sandbox.admin.spendDailyRequests(950);
    // A read goes through and brings back api-usage=951/1000: past the 10 % reserve.
    expect(await connector.readRecords('contact', ['003000000000001AAA'])).toEqual([]);
    expect(connector.apiUsage).toEqual({ used: 951, limit: 1_000 });
    const before = sandbox.admin.stats().dailyRequests.used;
    const error = await failure(connector.upsertRecords('contact', [{ syncId: 'q-1', fields: { lastName: 'Q' } }]));
    expect(error.errorClass).toBe('quota-exhausted');
    expect(error.retryAfterMs).toBeGreaterThan(0);
    // The write never reached the vendor, and the vendor refused nothing.
    expect(sandbox.admin.stats().dailyRequests.used).toBe(before);
    expect(sandbox.admin.stats().rateLimited).toBe(0);
    expect(sandbox.admin.listRecords('Contact')).toHaveLength(0);
    // Another worker on the same connection sees the same closed window.
    const sibling = await connect({ pool: database.pool, connectionId: (await connector.rateBudget()).connectionId });
    expect((await failure(sibling.upsertRecords('contact', [{ syncId: 'q-2', fields: { lastName: 'Q' } }]))).errorClass).toBe('quota-exhausted');
    console.log(`rate budget: vendor refusals seen = ${sandbox.admin.stats().rateLimited}`);
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHarness, syncId, type Harness } from './support';
import { connectorFailure } from '../../support/connector-failure';

const failure = connectorFailure;

describe('Dynamics connector: error classification and tokens', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => harness.stop());

  test('400 naming a column -> validation with the field and the vendor message, per record', async () => {
    const connector = await harness.connect({ mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.shoeSize', native: 'crm_shoesize', type: 'string' }] } } } });
    const [outcome] = await connector.upsertRecords('contact', [{ syncId: syncId(), fields: { lastName: 'x', custom: { shoeSize: '42' } } }]);
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { errorClass: 'validation', status: 400, vendorCode: '0x80060888', fieldErrors: [{ field: 'crm_shoesize' }] },
    });
    expect(outcome?.status === 'failed' ? outcome.error.message : '').toContain("The property 'crm_shoesize' does not exist on type 'Microsoft.Dynamics.CRM.contact'");
  });

  test('404: a reference to a missing row -> not-found for that record only', async () => {
    const connector = await harness.connect();
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: syncId(), fields: { lastName: 'orphan' }, references: { company: '00000000-0000-0000-0000-0000000000aa' } },
      { syncId: syncId(), fields: { lastName: 'fine' } },
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'failed', error: { errorClass: 'not-found', status: 404, vendorCode: '0x80040217', message: 'account With Id = 00000000-0000-0000-0000-0000000000aa Does Not Exist' } });
    expect(outcomes[1]).toMatchObject({ status: 'created' });
  });

  test('401 after token expiry -> exactly one new token, then success', async () => {
    const connector = await harness.connect();
    await connector.whoAmI();
    const before = harness.tokenRequests();
    harness.sandbox.admin.expireTokens();
    await expect(connector.whoAmI()).resolves.toMatchObject({ userId: harness.sandbox.users.applicationUserId });
    expect(harness.tokenRequests() - before).toBe(1);
    expect(connector.tokenRequests).toBe(2);
  });

  test('single flight: 10 concurrent calls after expiry make exactly 1 token request', async () => {
    const connector = await harness.connect();
    await connector.whoAmI();
    harness.sandbox.admin.expireTokens();
    const before = harness.tokenRequests();
    const results = await Promise.all(Array.from({ length: 10 }, () => connector.listChanges('contact', { since: new Date().toISOString() })));
    expect(results).toHaveLength(10);
    expect(harness.tokenRequests() - before).toBe(1);
  });

  test('token endpoint refusing the client -> auth', async () => {
    const connector = await harness.connect({ credentials: { tenantId: harness.sandbox.credentials.tenantId ?? '', clientId: harness.sandbox.credentials.clientId ?? '', clientSecret: 'wrong', authority: harness.sandbox.credentials.authority, scope: harness.sandbox.credentials.scope } });
    const error = await failure(connector.whoAmI());
    expect(error.errorClass).toBe('auth');
    expect(error.message).toContain('AADSTS7000215');
  });

  test('Entra answering 429 (Retry-After) or 503 -> rate-limited / transient, not auth, for a first token and after a 401; then tokens come again', async () => {
    const { tenantId = '', clientId = '', clientSecret = '', authority, scope } = harness.sandbox.credentials;
    const connector = await harness.connect();
    await connector.whoAmI();
    try {
      harness.sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
      const first = await harness.connect({ credentials: { tenantId, clientId, clientSecret, authority, scope } });
      expect(await failure(first.whoAmI())).toMatchObject({ errorClass: 'rate-limited', status: 429, retryAfterMs: 60_000 });

      harness.sandbox.admin.expireTokens();
      const limited = await failure(connector.whoAmI());
      expect(limited).toMatchObject({ errorClass: 'rate-limited', status: 429, retryAfterMs: 60_000 });
      expect(limited.retryable).toBe(true);

      harness.sandbox.faults.configure({ serverErrorRate: 1, tokenEndpointOnly: true });
      expect(await failure(connector.whoAmI())).toMatchObject({ errorClass: 'transient', status: 503, vendorCode: 'temporarily_unavailable' });
    } finally {
      harness.sandbox.faults.configure({});
    }
    // No throttle is remembered client-side: the next attempt asks Entra again and gets a token.
    await expect(connector.whoAmI()).resolves.toMatchObject({ userId: harness.sandbox.users.applicationUserId });
  });

  describe('injected faults', () => {
    test('429 -> rate-limited with retryAfterMs from Retry-After', async () => {
      const connector = await harness.connect();
      await connector.whoAmI();
      harness.sandbox.faults.configure({ rateLimitRate: 1 });
      try {
        const error = await failure(connector.listChanges('contact', { since: new Date().toISOString() }));
        expect(error).toMatchObject({ errorClass: 'rate-limited', status: 429, vendorCode: '0x80072322', retryAfterMs: 5000 });
        expect(error.retryable).toBe(true);
      } finally {
        harness.sandbox.faults.configure({});
      }
    });

    test('500 -> transient', async () => {
      const connector = await harness.connect();
      await connector.whoAmI();
      harness.sandbox.faults.configure({ serverErrorRate: 1 });
      try {
        const error = await failure(connector.upsertRecords('company', [{ syncId: syncId(), fields: { name: 'x' } }]));
        expect(error).toMatchObject({ errorClass: 'transient', status: 500, vendorCode: '0x80040216', });
        expect(error.message).toContain('An unexpected error occurred.');
      } finally {
        harness.sandbox.faults.configure({});
      }
    });

    test('no answer -> transient within requestTimeoutMs', async () => {
      const connector = await harness.connect({ requestTimeoutMs: 400 });
      await connector.whoAmI();
      harness.sandbox.faults.configure({ timeoutRate: 1 });
      try {
        const started = Date.now();
        const error = await failure(connector.readRecords('contact', ['00000000-0000-0000-0000-000000000001']));
        expect(error.errorClass).toBe('transient');
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        harness.sandbox.faults.configure({});
      }
    });
  });

  test('service protection 429 from the vendor itself -> rate-limited with its code and Retry-After', async () => {
    const own = await startHarness({ serviceProtection: { requestsPerWindow: 2, windowMs: 60_000 } });
    try {
      await own.connector.whoAmI();
      await own.connector.whoAmI();
      const error = await failure(own.connector.whoAmI());
      expect(error).toMatchObject({ errorClass: 'rate-limited', vendorCode: '0x80072322', status: 429 });
      expect(error.retryAfterMs).toBeGreaterThan(0);
    } finally {
      await own.stop();
    }
  });
});

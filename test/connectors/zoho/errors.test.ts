import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../src/connectors/errors';
import { zohoFailure, zohoTokenFailure } from '../../../src/connectors/zoho/errors';
import { startZohoSandbox, type ZohoSandbox, type ZohoSandboxOptions } from '../../../src/sandbox/zoho';
import { connectorFailure } from '../../support/connector-failure';
import { connectTo } from './support';

describe('Zoho connector: error classification and auth', () => {
  let zoho: ZohoSandbox | undefined;
  afterEach(async () => zoho?.stop());
  const start = async (options: ZohoSandboxOptions = {}): Promise<ZohoSandbox> => {
    zoho = await startZohoSandbox({ limits: false, ...options });
    return zoho;
  };

  it('validation per record with the vendor words and the field; conflict on a held unique value; not-found for a gone linked record', async () => {
    const sandbox = await start();
    const connector = await connectTo(sandbox);
    const held = randomUUID();
    const [first] = await connector.upsertRecords('contact', [{ syncId: held, fields: { lastName: 'Holder' } }]);
    const other = String(sandbox.admin.createAsUser('Contacts', { Last_Name: 'Other' }).id);
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: randomUUID(), fields: { lastName: 'Bad', email: 'not-an-email' } },
      { syncId: randomUUID(), fields: { firstName: 'No last name' } },
      { syncId: held, externalId: other, fields: { title: 'steals the sync id' } },
      { syncId: randomUUID(), externalId: '5843104000009999999', fields: { title: 'gone' } },
      { syncId: randomUUID(), fields: { lastName: 'Fine' } },
    ]);
    expect(first?.status).toBe('created');
    expect(outcomes.map((outcome) => (outcome.status === 'failed' ? outcome.error.errorClass : outcome.status))).toEqual(['validation', 'validation', 'conflict', 'not-found', 'created']);
    expect(outcomes[0]).toMatchObject({ error: { vendorCode: 'INVALID_DATA', fieldErrors: [{ field: 'Email' }], message: expect.stringContaining('invalid data') as unknown } });
    // The field metadata says Last_Name is system mandatory: the record is refused before it is sent.
    expect(outcomes[1]).toMatchObject({ error: { message: expect.stringMatching(/^Last_Name: missing, but Zoho CRM Contacts\.Last_Name is required/) as unknown, fieldErrors: [{ field: 'lastName' }] } });
    expect(outcomes[2]).toMatchObject({ error: { vendorCode: 'DUPLICATE_DATA' } });
    await connector.close();
  });

  it('5xx and timeouts are transient, a concurrency 429 rate-limited, a spent day quota-exhausted; one call = one request', async () => {
    const sandbox = await start({ limits: { credits: { limit: 3 }, concurrency: false } });
    const connector = await connectTo(sandbox, { requestTimeoutMs: 300 });
    await connector.readRecords('contact', ['1']);
    sandbox.faults.configure({ serverErrorRate: 1 });
    const requests = connector.requestCount;
    expect(await connectorFailure(connector.readRecords('contact', ['1']))).toMatchObject({ errorClass: 'transient', status: 500, vendorCode: 'INTERNAL_ERROR' });
    expect(connector.requestCount - requests).toBe(1);
    sandbox.faults.configure({ rateLimitRate: 1 });
    expect(await connectorFailure(connector.readRecords('contact', ['1']))).toMatchObject({ errorClass: 'rate-limited', status: 429, vendorCode: 'TOO_MANY_REQUESTS' });
    sandbox.faults.configure({ timeoutRate: 1 });
    expect(await connectorFailure(connector.readRecords('contact', ['1']))).toMatchObject({ errorClass: 'transient', message: expect.stringContaining('network') as unknown });
    sandbox.faults.configure({});
    // Credits: 1 spent above, 1 now, then a 1-credit call leaves 0, then the vendor refuses.
    await connector.readRecords('contact', ['1']);
    await connector.readRecords('contact', ['1']);
    const spent = await connectorFailure(connector.readRecords('contact', ['1']));
    expect(spent).toMatchObject({ errorClass: 'quota-exhausted', status: 429, vendorCode: 'LIMIT_EXCEEDED' });
    expect(spent.retryAfterMs).toBeGreaterThan(0);
    await connector.close();
  });

  it('after expiry 10 concurrent calls share exactly one refresh (single flight), at the account’s accounts server', async () => {
    const sandbox = await start();
    const connector = await connectTo(sandbox);
    await connector.readRecords('contact', ['1']);
    expect(connector.tokenRequests).toBe(1);
    expect(sandbox.admin.expireTokens()).toBe(1);
    const grantsBefore = sandbox.admin.tokenGrants().us ?? 0;
    await Promise.all(Array.from({ length: 10 }, () => connector.readRecords('contact', ['1'])));
    expect(connector.tokenRequests).toBe(2);
    expect((sandbox.admin.tokenGrants().us ?? 0) - grantsBefore).toBe(1);
    await connector.close();
  });

  it('a refused refresh (revoked refresh token: HTTP 200 {"error":"invalid_code"}) is auth, without the secret in the message', async () => {
    const sandbox = await start();
    const connector = await connectTo(sandbox);
    sandbox.admin.revokeRefreshToken(sandbox.credentials.refreshToken);
    const error = await connectorFailure(connector.readRecords('contact', ['1']));
    expect(error).toMatchObject({ errorClass: 'auth', vendorCode: 'invalid_code' });
    expect(error.message).not.toContain(sandbox.credentials.clientSecret);
    expect(error.message).not.toContain(sandbox.credentials.refreshToken);
    await connector.close();
  });

  it('the accounts server throttling ("Access Denied", HTTP 200) or failing (5xx) is rate-limited / transient, not auth, for a first token and after a 401; then tokens come again', async () => {
    const sandbox = await start();
    sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    const first = await connectTo(sandbox);
    const throttled = await connectorFailure(first.readRecords('contact', ['1']));
    // No Retry-After from Zoho: the connector asks for a minute, not the activity's first second.
    expect(throttled).toMatchObject({ errorClass: 'rate-limited', vendorCode: 'Access Denied', retryAfterMs: 60_000 });
    expect(throttled.message).toContain('too many requests');
    await first.close();

    sandbox.faults.configure({});
    const connector = await connectTo(sandbox);
    await connector.readRecords('contact', ['1']);
    sandbox.admin.expireTokens();
    sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    expect(await connectorFailure(connector.readRecords('contact', ['1']))).toMatchObject({ errorClass: 'rate-limited', vendorCode: 'Access Denied' });
    sandbox.faults.configure({ serverErrorRate: 1, tokenEndpointOnly: true });
    expect(await connectorFailure(connector.readRecords('contact', ['1']))).toMatchObject({ errorClass: 'transient', status: 500 });

    sandbox.faults.configure({});
    expect(await connector.readRecords('contact', ['1'])).toEqual([]);
    await connector.close();
  });

  it('classifies Zoho codes the sandbox does not produce by the same rules', () => {
    const classify = (status: number, code: string): string => zohoFailure(status, JSON.stringify({ code, details: {}, message: 'm', status: 'error' })).errorClass;
    expect(classify(401, 'OAUTH_SCOPE_MISMATCH')).toBe('permission');
    expect(classify(403, 'NO_PERMISSION')).toBe('permission');
    expect(classify(400, 'INVALID_MODULE')).toBe('not-found');
    expect(classify(401, 'AUTHENTICATION_FAILURE')).toBe('auth');
    expect(zohoFailure(502, '<html>bad gateway</html>')).toBeInstanceOf(ConnectorError);
    expect(zohoFailure(502, '<html>bad gateway</html>').errorClass).toBe('transient');
  });

  it('classifies token answers: the throttle rate-limited whatever its status, refusals auth, an answer without a token transient', () => {
    const throttle = JSON.stringify({ error_description: 'You have made too many requests continuously. Please try again after some time.', error: 'Access Denied', status: 'failure' });
    expect(zohoTokenFailure(400, throttle)).toMatchObject({ errorClass: 'rate-limited', vendorCode: 'Access Denied', status: 400 });
    expect(zohoTokenFailure(200, JSON.stringify({ error: 'invalid_client' }))).toMatchObject({ errorClass: 'auth', vendorCode: 'invalid_client' });
    expect(zohoTokenFailure(200, '<html>maintenance</html>').errorClass).toBe('transient');
    expect(zohoTokenFailure(429, '', { 'retry-after': '30' })).toMatchObject({ errorClass: 'rate-limited', retryAfterMs: 30_000 });
  });
});

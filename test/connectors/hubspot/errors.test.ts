import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubSpotConnector, type HubSpotConnector, type HubSpotConnectorOptions } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions } from '../../../src/sandbox/hubspot';
import { connectorFailure } from '../../support/connector-failure';

const failure = connectorFailure;

describe('HubSpot connector: error classification and auth', () => {
  let hs: HubSpotSandbox | undefined;
  afterEach(async () => hs?.stop());

  async function start(options: HubSpotSandboxOptions = {}, connector: Partial<HubSpotConnectorOptions> = {}): Promise<[HubSpotSandbox, HubSpotConnector]> {
    hs = await startHubSpotSandbox(options);
    const created = await createHubSpotConnector({
      connectionId: `hs-errors-${randomUUID()}`,
      basePath: hs.url,
      auth: { kind: 'private-app', accessToken: hs.credentials.accessToken },
      ...connector,
    });
    return [hs, created];
  }

  it('400 with field errors is validation, per record, with the vendor message and fieldErrors', async () => {
    const [, connector] = await start({}, { mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.shoeSize', native: 'shoe_size', type: 'string' }] } } } });
    const [outcome] = await connector.upsertRecords('contact', [{ syncId: randomUUID(), fields: { firstName: 'A', custom: { shoeSize: '42' } } }]);
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { errorClass: 'validation', status: 400, vendorCode: 'VALIDATION_ERROR', fieldErrors: [{ field: 'shoe_size', message: 'Property "shoe_size" does not exist' }] },
    });
    if (outcome?.status !== 'failed') throw new Error('unreachable');
    expect(outcome.error.message).toContain('Property values were not valid');
  });

  it('404: a missing record to update by id and a missing association target are not-found; missing reads are absent', async () => {
    const [, connector] = await start();
    const [missing] = await connector.upsertRecords('contact', [{ syncId: randomUUID(), externalId: '999999', fields: { firstName: 'A' } }]);
    expect(missing).toMatchObject({ status: 'failed', error: { errorClass: 'not-found', vendorCode: 'OBJECT_NOT_FOUND' } });
    const [dangling] = await connector.upsertRecords('contact', [{ syncId: randomUUID(), fields: { firstName: 'B' }, references: { company: '424242' } }]);
    expect(dangling).toMatchObject({ status: 'failed', error: { errorClass: 'not-found', status: 404 } });
    expect(await connector.readRecords('contact', ['999999'])).toEqual([]);
  });

  it('401 after OAuth expiry: one refresh, then success; 10 concurrent calls share exactly one token request', async () => {
    const [sandbox] = await start();
    const connector = await createHubSpotConnector({
      connectionId: `hs-oauth-${randomUUID()}`,
      basePath: sandbox.url,
      auth: { kind: 'oauth', clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret, refreshToken: sandbox.credentials.refreshToken },
    });
    const ids = sandbox.admin.seed({ contacts: 3 }).contacts;
    expect(await connector.readRecords('contact', ids)).toHaveLength(3);
    expect(connector.tokenRefreshCount).toBe(1);

    expect(sandbox.admin.expireTokens()).toBe(1);
    expect(await connector.readRecords('contact', ids)).toHaveLength(3);
    expect(connector.tokenRefreshCount).toBe(2);

    sandbox.admin.expireTokens();
    const results = await Promise.all(Array.from({ length: 10 }, () => connector.readRecords('contact', [ids[0] as string])));
    expect(results.every((records) => records.length === 1)).toBe(true);
    expect(connector.tokenRefreshCount).toBe(3);
  });

  it('a refused refresh is auth (the connection needs re-authorisation)', async () => {
    const [sandbox] = await start();
    const connector = await createHubSpotConnector({
      connectionId: `hs-oauth-${randomUUID()}`,
      basePath: sandbox.url,
      auth: { kind: 'oauth', clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret, refreshToken: 'revoked' },
    });
    const error = await failure(connector.readRecords('contact', ['1']));
    expect(error.errorClass).toBe('auth');
    expect(error.message).toContain('missing or unknown refresh token');
  });

  it('the token endpoint answering 429 or 5xx during a refresh after a 401 is rate-limited / transient, not auth; the refresh then recovers', async () => {
    const [sandbox] = await start();
    const connector = await createHubSpotConnector({
      connectionId: `hs-oauth-${randomUUID()}`,
      basePath: sandbox.url,
      auth: { kind: 'oauth', clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret, refreshToken: sandbox.credentials.refreshToken },
    });
    const ids = sandbox.admin.seed({ contacts: 1 }).contacts;
    expect(await connector.readRecords('contact', ids)).toHaveLength(1);
    sandbox.admin.expireTokens();

    sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    const limited = await failure(connector.readRecords('contact', ids));
    expect(limited).toMatchObject({ errorClass: 'rate-limited', status: 429, vendorCode: 'TEN_SECONDLY_ROLLING' });
    expect(limited.retryAfterMs).toBeGreaterThan(0);

    sandbox.faults.configure({ serverErrorRate: 1, tokenEndpointOnly: true });
    expect(await failure(connector.readRecords('contact', ids))).toMatchObject({ errorClass: 'transient', status: 500 });

    sandbox.faults.configure({});
    expect(await connector.readRecords('contact', ids)).toHaveLength(1);
    expect(sandbox.counters.snapshot().injectedFaults).toBe(2);
  });

  it('429 is rate-limited with the retry delay the vendor implies; injected 500 is transient', async () => {
    const [sandbox, connector] = await start({ limits: { tenSecondly: { max: 2, intervalMs: 3000 } } }, { rateLimits: false });
    await connector.readRecords('contact', ['1']);
    await connector.readRecords('contact', ['1']);
    const limited = await failure(connector.readRecords('contact', ['1']));
    expect(limited).toMatchObject({ errorClass: 'rate-limited', status: 429, vendorCode: 'TEN_SECONDLY_ROLLING', retryAfterMs: 3000 });
    expect(limited.retryable).toBe(true);

    sandbox.admin.configureLimits({ tenSecondly: false });
    sandbox.faults.configure({ serverErrorRate: 1 });
    const serverError = await failure(connector.readRecords('contact', ['1']));
    expect(serverError).toMatchObject({ errorClass: 'transient', status: 500, vendorCode: 'INTERNAL_ERROR' });
    // The SDK's own retries are off: one request per call, the retry is the engine's.
    expect(sandbox.counters.snapshot().injectedFaults).toBe(1);
  });

  it('an injected timeout is transient within requestTimeoutMs', async () => {
    const [, connector] = await start({ faults: { timeoutRate: 1 } }, { requestTimeoutMs: 300 });
    const started = Date.now();
    const error = await failure(connector.readRecords('contact', ['1']));
    const elapsed = Date.now() - started;
    expect(error.errorClass).toBe('transient');
    expect(error.message).toMatch(/timed out after 300 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
  });
});

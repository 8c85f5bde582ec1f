import { afterEach, describe, expect, it } from 'vitest';
import { json, requestToken, startClient, type Client } from './support';

describe('Dynamics sandbox: service protection and injected faults', () => {
  let client: Client | undefined;
  afterEach(async () => client?.sandbox.stop());

  it('puts the rate-limit headers on successful responses', async () => {
    client = await startClient();
    const first = await client.api('contacts');
    const second = await client.api('contacts');
    expect(first.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('5999');
    expect(second.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('5998');
    expect(first.headers.get('x-ms-ratelimit-time-remaining-xrm-requests')).toMatch(/^1,\d{3}\.\d{2}$/);
  });

  it('answers 429 + Retry-After + 0x80072322 once the 6,000-request window is spent', async () => {
    client = await startClient();
    client.sandbox.admin.spendServiceProtectionBudget(5999);
    expect((await client.api('contacts')).status).toBe(200);
    const refused = await client.api('contacts');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(299);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    expect(refused.headers.get('odata-version')).toBe('4.0');
    expect(await json(refused)).toEqual({ error: { code: '0x80072322', message: 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.' } });
  });

  it('refuses past the concurrency limit with 0x80072326', async () => {
    client = await startClient({ serviceProtection: { concurrency: 2, executionDelayMs: 300 } });
    const statuses = await Promise.all([1, 2, 3].map(async () => (await client!.api('contacts')).status));
    expect(statuses.sort()).toEqual([200, 200, 429]);
    client.sandbox.admin.configureServiceProtection({ concurrency: 1, executionDelayMs: 200 });
    const [slow, refused] = await Promise.all([client.api('contacts'), new Promise<Response>((resolve) => setTimeout(() => resolve(client!.api('contacts')), 50))]);
    expect(slow.status).toBe(200);
    expect(await json(refused)).toEqual({ error: { code: '0x80072326', message: 'Number of concurrent requests exceeded the limit of 1.' } });
  });

  it('can run with limits off', async () => {
    client = await startClient({ serviceProtection: { enabled: false } });
    client.sandbox.admin.spendServiceProtectionBudget(10_000);
    const response = await client.api('contacts');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBeNull();
  });

  it('answers injected faults at the token endpoint as Entra does, and only there with tokenEndpointOnly', async () => {
    client = await startClient();
    client.sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    expect((await client.api('contacts')).status).toBe(200);
    const limited = await requestToken(client.sandbox);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(await limited.text()).toBe('Too Many Requests');
    client.sandbox.faults.configure({ serverErrorRate: 1, tokenEndpointOnly: true });
    const unavailable = await requestToken(client.sandbox);
    expect(unavailable.status).toBe(503);
    expect(await json(unavailable)).toMatchObject({ error: 'temporarily_unavailable', error_description: expect.stringContaining('The server is temporarily too busy to handle the request.') as unknown });
    client.sandbox.faults.configure({});
    expect((await requestToken(client.sandbox)).status).toBe(200);
  });

  it('injects a Dataverse-shaped 5xx and 429', async () => {
    client = await startClient();
    client.sandbox.faults.configure({ serverErrorRate: 1 });
    const failed = await client.api('contacts');
    expect(failed.status).toBe(500);
    expect(await json(failed)).toEqual({ error: { code: '0x80040216', message: 'An unexpected error occurred.' } });
    client.sandbox.faults.configure({ rateLimitRate: 1 });
    const limited = await client.api('contacts');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('5');
    expect(((await json(limited)).error as { code: string }).code).toBe('0x80072322');
    expect(client.sandbox.counters.snapshot()).toMatchObject({ injectedFaults: 2, rateLimited: 1 });
  });

  it('an injected timeout leaves the client to abort', async () => {
    client = await startClient();
    client.sandbox.faults.configure({ timeoutRate: 1 });
    const attempt = client.api('contacts', { signal: AbortSignal.timeout(300) });
    await expect(attempt).rejects.toThrow(/aborted|timeout/i);
  });
});

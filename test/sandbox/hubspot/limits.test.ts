import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions } from '../../../src/sandbox/hubspot';

const RATE_HEADERS = [
  'x-hubspot-ratelimit-daily',
  'x-hubspot-ratelimit-daily-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-remaining',
  'x-hubspot-ratelimit-secondly',
  'x-hubspot-ratelimit-secondly-remaining',
];

describe('HubSpot sandbox: rate limits', () => {
  let sandbox: HubSpotSandbox | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await sandbox?.stop();
  });

  async function start(options: HubSpotSandboxOptions): Promise<HubSpotSandbox> {
    sandbox = await startHubSpotSandbox(options);
    return sandbox;
  }

  function get(hs: HubSpotSandbox, path = '/crm/v3/objects/contacts'): Promise<Response> {
    return fetch(`${hs.url}${path}`, { headers: { authorization: `Bearer ${hs.credentials.accessToken}` } });
  }

  function headersOf(response: Response): Record<string, string | null> {
    return Object.fromEntries(RATE_HEADERS.map((name) => [name, response.headers.get(name)]));
  }

  it('puts the X-HubSpot-RateLimit-* headers on every successful answer', async () => {
    const hs = await start({});
    const first = await get(hs);
    expect(first.status).toBe(200);
    expect(headersOf(first)).toEqual({
      'x-hubspot-ratelimit-daily': '250000',
      'x-hubspot-ratelimit-daily-remaining': '249999',
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-max': '100',
      'x-hubspot-ratelimit-remaining': '99',
      'x-hubspot-ratelimit-secondly': '10',
      'x-hubspot-ratelimit-secondly-remaining': '9',
    });
    expect((await get(hs)).headers.get('x-hubspot-ratelimit-remaining')).toBe('98');
  });

  it('answers the ten-secondly window with 429 TEN_SECONDLY_ROLLING, body and headers', async () => {
    const hs = await start({ limits: { tenSecondly: { max: 3, intervalMs: 10_000 } } });
    for (let i = 0; i < 3; i += 1) expect((await get(hs)).status).toBe(200);
    const refused = await get(hs);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
      correlationId: expect.any(String) as unknown,
      groupName: expect.any(String) as unknown,
    });
    expect(headersOf(refused)).toMatchObject({ 'x-hubspot-ratelimit-max': '3', 'x-hubspot-ratelimit-remaining': '0', 'x-hubspot-ratelimit-daily-remaining': '249997' });
    expect(hs.counters.snapshot().rateLimited).toBe(1);
  });

  it('answers an exhausted daily quota with 429 DAILY; the quota can be pre-spent', async () => {
    const hs = await start({ limits: { daily: 1000 } });
    hs.admin.spendDailyBudget(999);
    const last = await get(hs);
    expect(last.status).toBe(200);
    expect(last.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');
    const refused = await get(hs);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'DAILY', message: 'You have reached your daily limit.' });
    expect(headersOf(refused)).toMatchObject({ 'x-hubspot-ratelimit-daily': '1000', 'x-hubspot-ratelimit-daily-remaining': '0' });
    const spent = await fetch(`${hs.url}/__sandbox/limits/daily/spend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 5 }) });
    expect(((await spent.json()) as { daily: { used: number } }).daily.used).toBe(1005);
  });

  it("lets the client's own retry (numberOfApiCallRetries) succeed once the window frees up", async () => {
    const hs = await start({ limits: { tenSecondly: { max: 3, intervalMs: 1000 } } });
    hs.admin.seed({ contacts: 2 });
    const client = new Client({ accessToken: hs.credentials.accessToken, basePath: hs.url, numberOfApiCallRetries: 2 });
    const api = client.crm.contacts.basicApi;
    for (let i = 0; i < 3; i += 1) await api.getPage(1);
    // The SDK waits 10 s x n after a TEN_SECONDLY_ROLLING 429. Only its setTimeout is faked so that
    // wait is instant, while the sandbox's 1-second window really rolls on the real clock.
    const realSetTimeout = globalThis.setTimeout;
    const realSleep = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const call = api.getPage(2);
    while (vi.getTimerCount() === 0) await realSleep(5);
    expect(hs.counters.snapshot().rateLimited).toBe(1);
    await realSleep(1050);
    await vi.advanceTimersByTimeAsync(10_000);
    const page = await call;
    expect(page.results).toHaveLength(2);
    expect(hs.counters.snapshot().requests['GET /crm/v3/objects/:type']).toBe(5);
  });

  it('limits search to its own per-second budget with a SECONDLY 429 the client retries', async () => {
    const hs = await start({ limits: { search: { max: 2, intervalMs: 1000 } } });
    const raw = () =>
      fetch(`${hs.url}/crm/v3/objects/contacts/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hs.credentials.accessToken}`, 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await raw()).status).toBe(200);
    expect((await raw()).status).toBe(200);
    const refused = await raw();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ policyName: 'SECONDLY', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT' });
    expect((await get(hs)).status).toBe(200);

    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const client = new Client({ accessToken: hs.credentials.accessToken, basePath: hs.url, numberOfApiCallRetries: 3 });
    const search = client.crm.contacts.searchApi;
    const results = await Promise.all([1, 2, 3].map(() => search.doSearch({ limit: 1 })));
    expect(results).toHaveLength(3);
    expect(hs.counters.snapshot().rateLimited).toBeGreaterThanOrEqual(2);
  });

  it('enforces nothing with limits: false', async () => {
    const hs = await start({ limits: false });
    hs.admin.spendDailyBudget(1_000_000);
    const statuses = await Promise.all(Array.from({ length: 150 }, () => get(hs).then((response) => response.status)));
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoSandbox, type ZohoSandboxOptions } from '../../../src/sandbox/zoho';
import { accessToken, api, grant } from './support';

describe('Zoho sandbox: credits, concurrency and injected faults', () => {
  let zoho: ZohoSandbox | undefined;
  afterEach(async () => zoho?.stop());
  const start = async (options: ZohoSandboxOptions): Promise<[ZohoSandbox, string]> => {
    zoho = await startZohoSandbox(options);
    return [zoho, await accessToken(zoho)];
  };

  it('charges 1 credit per read and 1 per 10 records written, then refuses with 429 LIMIT_EXCEEDED in the rolling window', async () => {
    const [sandbox, token] = await start({ limits: { credits: { limit: 15 }, concurrency: false } });
    const read = await api(sandbox, token, 'GET', 'Contacts?fields=Last_Name');
    expect(read.headers.get('x-ratelimit-remaining')).toBe('14');
    const write = await api(sandbox, token, 'POST', 'Contacts', { body: { data: Array.from({ length: 100 }, (_, i) => ({ Last_Name: `P${i}` })) } });
    expect(write.status).toBe(201);
    expect(write.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(sandbox.admin.limits().credits).toMatchObject({ limit: 15, used: 11, remaining: 4 });
    const tooBig = await api(sandbox, token, 'POST', 'Contacts', { body: { data: Array.from({ length: 50 }, (_, i) => ({ Last_Name: `Q${i}` })) } });
    expect(tooBig).toMatchObject({ status: 429, body: { code: 'LIMIT_EXCEEDED', status: 'error' } });
    expect(Number(tooBig.headers.get('retry-after'))).toBeGreaterThan(0);
    // Nothing was written by the refused call, and the remaining credits still serve small calls.
    expect(sandbox.admin.listRecords('Contacts')).toHaveLength(100);
    expect((await api(sandbox, token, 'GET', 'Contacts?fields=Last_Name')).status).toBe(200);
    expect(sandbox.counters.snapshot().rateLimited).toBe(0);
  });

  it('refuses calls past the concurrency limit with 429 TOO_MANY_REQUESTS while the others finish', async () => {
    const [sandbox, token] = await start({ limits: { concurrency: 2 }, callLatencyMs: 300 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => api(sandbox, token, 'GET', 'Contacts?fields=Last_Name')));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([204, 204, 429, 429, 429]);
    expect(answers.find((answer) => answer.status === 429)?.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', details: { limit: 2 } });
    expect(sandbox.admin.limits().concurrency).toEqual({ limit: 2, inFlight: 0 });
  });

  it('with tokenEndpointOnly faults the accounts server alone: a throttled grant is HTTP 200 "Access Denied", API calls pass', async () => {
    const [sandbox, token] = await start({ limits: false });
    sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    expect((await api(sandbox, token, 'GET', 'Contacts?fields=Last_Name')).status).toBe(204);
    expect(await grant(sandbox, sandbox.credentials.accountsServer)).toEqual({
      status: 200,
      body: { error_description: 'You have made too many requests continuously. Please try again after some time.', error: 'Access Denied', status: 'failure' },
    });
    sandbox.faults.configure({});
    expect((await grant(sandbox, sandbox.credentials.accountsServer)).body.access_token).toEqual(expect.any(String));
  });

  it('injects vendor-shaped 500s, 429s and hung requests from the shared fault injector', async () => {
    const [sandbox, token] = await start({ limits: false });
    sandbox.faults.configure({ serverErrorRate: 1 });
    expect(await api(sandbox, token, 'GET', 'Contacts?fields=Last_Name')).toMatchObject({ status: 500, body: { code: 'INTERNAL_ERROR', status: 'error' } });
    sandbox.faults.configure({ rateLimitRate: 1 });
    expect(await api(sandbox, token, 'GET', 'Contacts?fields=Last_Name')).toMatchObject({ status: 429, body: { code: 'TOO_MANY_REQUESTS' } });
    sandbox.faults.configure({ timeoutRate: 1 });
    await expect(fetch(`${sandbox.url}/crm/v6/Contacts?fields=Last_Name`, { headers: { authorization: `Zoho-oauthtoken ${token}` }, signal: AbortSignal.timeout(300) })).rejects.toThrow();
    sandbox.faults.configure({});
    expect(sandbox.counters.snapshot()).toMatchObject({ injectedFaults: 3, rateLimited: 1 });
    expect(sandbox.admin.hostCounts()['www.zohoapis.com']).toBe(3);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { startPipedriveSandbox, type PipedriveSandbox, type PipedriveSandboxOptions } from '../../../src/sandbox/pipedrive';
import { call } from './support';

const RATE_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-daily-requests-left'];
const headersOf = (headers: Headers): Record<string, string | null> => Object.fromEntries(RATE_HEADERS.map((name) => [name, headers.get(name)]));

describe('Pipedrive sandbox: auth, limits, faults', () => {
  let pd: PipedriveSandbox | undefined;
  afterEach(async () => pd?.stop());
  const start = async (options: PipedriveSandboxOptions = {}): Promise<PipedriveSandbox> => (pd = await startPipedriveSandbox(options));

  it('accepts the API token as x-api-token or api_token; anything else is 401 unauthorized access', async () => {
    const sandbox = await start();
    expect((await fetch(`${sandbox.url}/api/v2/persons?api_token=${sandbox.credentials.apiToken}`)).status).toBe(200);
    const refused = await fetch(`${sandbox.url}/api/v2/persons`, { headers: { 'x-api-token': 'wrong' } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ success: false, error: 'unauthorized access', errorCode: 401 });
    expect((await fetch(`${sandbox.url}/api/v2/persons`)).status).toBe(401);
  });

  it('refreshes OAuth tokens at the token URL (expires_in, api_domain, a rotated refresh token); expired tokens are 401; bad and exchanged grants refused', async () => {
    const sandbox = await start();
    const basic = `Basic ${Buffer.from(`${sandbox.credentials.clientId}:${sandbox.credentials.clientSecret}`).toString('base64')}`;
    const grant = async (refreshToken: string): Promise<Response> =>
      fetch(sandbox.credentials.tokenUrl, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
      });
    const answer = await grant(sandbox.credentials.refreshToken);
    expect(answer.status).toBe(200);
    const token = (await answer.json()) as { access_token: string; expires_in: number; token_type: string; api_domain: string; refresh_token: string };
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 3600, api_domain: sandbox.url, refresh_token: expect.any(String) as unknown });
    expect(token.refresh_token).not.toBe(sandbox.credentials.refreshToken);
    // A refresh token once exchanged is refused [P12]; the one the answer carried works.
    const exchanged = await grant(sandbox.credentials.refreshToken);
    expect(exchanged.status).toBe(400);
    expect(await exchanged.json()).toMatchObject({ error: 'invalid_grant', message: 'Invalid grant: refresh_token is invalid' });
    const bearer = { authorization: `Bearer ${token.access_token}` };
    expect((await fetch(`${sandbox.url}/api/v2/deals`, { headers: bearer })).status).toBe(200);
    expect(sandbox.admin.expireTokens()).toBe(1);
    expect((await fetch(`${sandbox.url}/api/v2/deals`, { headers: bearer })).status).toBe(401);
    expect((await grant('not-a-refresh-token')).status).toBe(400);
    expect((await grant(token.refresh_token)).status).toBe(200);
    expect(sandbox.admin.tokenGrants()).toBe(2);
  });

  it('charges the daily token budget by call kind and answers 429 once it is spent, with the rate headers', async () => {
    const sandbox = await start({ limits: { dailyTokens: 100 } });
    const created = await call(sandbox, 'POST', '/api/v2/organizations', { name: 'Acme' }); // update: 10
    expect(headersOf(created.headers)).toEqual({ 'x-ratelimit-limit': '40', 'x-ratelimit-remaining': '39', 'x-ratelimit-reset': '2', 'x-daily-requests-left': '90' });
    await call(sandbox, 'GET', '/api/v2/organizations/1'); // get: 2
    await call(sandbox, 'GET', '/api/v2/organizations'); // list: 20
    await call(sandbox, 'GET', '/api/v2/organizations/search?term=Acme&fields=name'); // search: 40
    const last = await call(sandbox, 'DELETE', '/api/v2/organizations/1'); // delete: 6
    expect(last.headers.get('x-daily-requests-left')).toBe(String(100 - 10 - 2 - 20 - 40 - 6));
    expect((await call(sandbox, 'GET', '/api/v2/organizations')).headers.get('x-daily-requests-left')).toBe('2');
    // A list (20) no longer fits; a get (2) still does.
    const refused = await call(sandbox, 'GET', '/api/v2/organizations');
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ success: false, errorCode: 429, error: expect.stringContaining('Daily') as unknown });
    expect(refused.headers.get('x-daily-requests-left')).toBe('2');
    expect((await call(sandbox, 'GET', '/api/v2/organizations/1')).status).toBe(404);
    expect(sandbox.admin.limits().dailyTokens).toMatchObject({ limit: 100, used: 100 });
    expect(sandbox.counters.snapshot().rateLimited).toBe(1);
  });

  it('refuses the 41st request within a rolling 2 s per API token, and search beyond 10 per 2 s', async () => {
    // The company's clock, standing still until moved past the rolling window (not waited out).
    let now = Date.now();
    const sandbox = await start({ limits: { apiTokenBurst: 5, searchBurst: 2 }, now: () => now });
    for (let i = 0; i < 2; i += 1) expect((await call(sandbox, 'GET', '/api/v2/persons/search?term=ab')).status).toBe(200);
    const search = await call(sandbox, 'GET', '/api/v2/persons/search?term=ab');
    expect(search.status).toBe(429);
    expect(search.headers.get('x-ratelimit-limit')).toBe('2');
    for (let i = 0; i < 3; i += 1) expect((await call(sandbox, 'GET', '/api/v2/persons')).status).toBe(200);
    const burst = await call(sandbox, 'GET', '/api/v2/persons');
    expect(burst.status).toBe(429);
    expect(headersOf(burst.headers)).toMatchObject({ 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0' });
    now += 1_999;
    expect((await call(sandbox, 'GET', '/api/v2/persons')).status).toBe(429);
    now += 1;
    expect((await call(sandbox, 'GET', '/api/v2/persons')).status).toBe(200);
  });

  it('renders injected faults in the Pipedrive envelope', async () => {
    const sandbox = await start({ faults: { serverErrorRate: 1 } });
    const failed = await call(sandbox, 'GET', '/api/v2/deals');
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({ success: false, data: null });
    sandbox.faults.configure({ rateLimitRate: 1 });
    const limited = await call(sandbox, 'GET', '/api/v2/deals');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('40');
    expect(sandbox.counters.snapshot()).toMatchObject({ injectedFaults: 2, rateLimited: 1 });
  });

  it('loses a response on demand: the create happens, the caller sees the connection drop', async () => {
    const sandbox = await start();
    sandbox.admin.loseResponses({ method: 'POST', path: '/api/v2/persons' });
    await expect(call(sandbox, 'POST', '/api/v2/persons', { name: 'Lost' })).rejects.toThrow();
    expect(sandbox.admin.listRecords('persons')).toEqual([expect.objectContaining({ name: 'Lost' })]);
    expect(sandbox.admin.lostResponses()).toBe(1);
    expect((await call(sandbox, 'POST', '/api/v2/persons', { name: 'Answered' })).status).toBe(200);
  });
});

import { Connection } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox, type SalesforceSandboxOptions } from '../../../src/sandbox/salesforce/index';

const running: SalesforceSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sandbox) => sandbox.stop()));
});

async function start(options: SalesforceSandboxOptions = {}): Promise<{ sandbox: SalesforceSandbox; conn: Connection }> {
  const sandbox = await startSalesforceSandbox(options);
  running.push(sandbox);
  const { instanceUrl, accessToken, refreshToken, clientId, clientSecret, version } = sandbox.credentials;
  const conn = new Connection({ instanceUrl, accessToken, refreshToken, version, oauth2: { clientId, clientSecret, loginUrl: sandbox.url } });
  return { sandbox, conn };
}

async function get(sandbox: SalesforceSandbox, path: string, token = sandbox.credentials.accessToken): Promise<{ status: number; body: unknown; limitInfo: string | null }> {
  const response = await fetch(`${sandbox.url}/services/data/v62.0${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json(), limitInfo: response.headers.get('sforce-limit-info') };
}

describe('OAuth and sessions', () => {
  it('answers 401 INVALID_SESSION_ID for a bad or expired token', async () => {
    const { sandbox } = await start();
    expect(await get(sandbox, '/sobjects', 'bogus')).toMatchObject({ status: 401, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] });
    sandbox.admin.expireTokens();
    expect((await get(sandbox, '/sobjects')).body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });

  it('lets jsforce refresh the token on 401 and retry the request', async () => {
    const { sandbox, conn } = await start();
    const created = await conn.sobject('Contact').create({ LastName: 'Before expiry' });
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    await fetch(`${sandbox.url}/__sandbox/tokens/expire`, { method: 'POST' });
    const record = await conn.sobject('Contact').retrieve(created.id as string);
    expect(record.LastName).toBe('Before expiry');
    expect(refreshed).toHaveLength(1);
    expect(conn.accessToken).toBe(refreshed[0]);
    expect(sandbox.counters.snapshot().requests['POST /services/oauth2/token']).toBe(1);
    expect(sandbox.admin.stats().tokenRequests).toBe(1);
  });

  it('issues tokens for client_credentials without expires_in, and refuses a wrong secret', async () => {
    const { sandbox } = await start();
    const { clientId, clientSecret } = sandbox.credentials;
    const post = (params: Record<string, string>) =>
      fetch(`${sandbox.url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
    const ok = await post({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    const token = (await ok.json()) as Record<string, string>;
    expect(Object.keys(token).sort()).toEqual(['access_token', 'id', 'instance_url', 'issued_at', 'scope', 'signature', 'token_type']);
    expect(token).toMatchObject({ token_type: 'Bearer', instance_url: sandbox.url });
    expect((await get(sandbox, '/sobjects', token.access_token)).status).toBe(200);
    const bad = await post({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'wrong' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_client', error_description: 'invalid client credentials' });
  });
});

describe('daily API request allocation', () => {
  it('reports usage in Sforce-Limit-Info and refuses with 403 REQUEST_LIMIT_EXCEEDED once spent', async () => {
    const { sandbox, conn } = await start({ dailyApiRequests: 10 });
    sandbox.admin.spendDailyRequests(8);
    expect((await get(sandbox, '/sobjects')).limitInfo).toBe('api-usage=9/10');
    await conn.query('SELECT Id FROM Contact');
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 10, limit: 10 } });
    const refused = await get(sandbox, '/sobjects');
    expect(refused).toEqual({ status: 403, body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], limitInfo: 'api-usage=10/10' });
    await expect(conn.sobject('Contact').create({ LastName: 'x' })).rejects.toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' });
    expect(sandbox.admin.stats()).toMatchObject({ rateLimited: 2, dailyRequests: { used: 10, limit: 10, enforced: true } });
    expect((await fetch(`${sandbox.url}/services/data/`)).status).toBe(200);
  });

  it('can be pre-spent over HTTP and turned off', async () => {
    const { sandbox } = await start({ dailyApiRequests: 5 });
    const spent = await fetch(`${sandbox.url}/__sandbox/limits/spend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 5 }) });
    expect(await spent.json()).toEqual({ used: 5, limit: 5, enforced: true });
    expect((await get(sandbox, '/sobjects')).status).toBe(403);
    const { sandbox: unlimited } = await start({ dailyApiRequests: false });
    unlimited.admin.spendDailyRequests(100_000);
    expect(await get(unlimited, '/sobjects')).toMatchObject({ status: 200, limitInfo: 'api-usage=100001/100000' });
  });
});

describe('injected faults in Salesforce shape', () => {
  it('answers an injected 5xx with a Salesforce error array', async () => {
    const { sandbox, conn } = await start();
    await fetch(`${sandbox.url}/__sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ serverErrorRate: 1 }) });
    const response = await get(sandbox, '/sobjects');
    expect(response.status).toBe(500);
    expect(response.body).toEqual([{ message: expect.stringContaining('An unexpected error occurred') as unknown, errorCode: 'UNKNOWN_EXCEPTION' }]);
    expect(response.limitInfo).toMatch(/^api-usage=\d+\/100000$/);
    await expect(conn.sobject('Contact').create({ LastName: 'x' })).rejects.toMatchObject({ errorCode: 'UNKNOWN_EXCEPTION' });
    expect(sandbox.counters.injectedFaults).toBe(2);
  });

  it('renders the injected rate-limit fault as 403 REQUEST_LIMIT_EXCEEDED, never 429', async () => {
    const { sandbox } = await start({ faults: { rateLimitRate: 1 } });
    expect(await get(sandbox, '/sobjects')).toMatchObject({ status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }] });
  });

  it('faults the token endpoint alone with tokenEndpointOnly: rate-limit there is a bare 429, API calls pass', async () => {
    const { sandbox } = await start({ faults: { rateLimitRate: 1, tokenEndpointOnly: true } });
    expect((await get(sandbox, '/sobjects')).status).toBe(200);
    const { clientId, clientSecret } = sandbox.credentials;
    const answer = await fetch(`${sandbox.url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }) });
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBeNull();
    expect(await answer.text()).toBe('Too Many Requests');
    expect(sandbox.counters.injectedFaults).toBe(1);
  });

  it('refuses a refresh grant while another with the same refresh token is processed', async () => {
    const { sandbox } = await start({ tokenProcessingMs: 200 });
    const { clientId, clientSecret, refreshToken } = sandbox.credentials;
    const refresh = (): Promise<Response> =>
      fetch(`${sandbox.url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken }) });
    const answers = await Promise.all([refresh(), new Promise<Response>((resolve) => setTimeout(() => resolve(refresh()), 50))]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 400]);
    expect(await answers[1]?.json()).toEqual({ error: 'invalid_grant', error_description: 'token request is already being processed' });
    expect((await refresh()).status).toBe(200);
  });

  it('holds an injected timeout open until the client gives up', async () => {
    const { sandbox, conn } = await start({ faults: { timeoutRate: 1 } });
    const started = Date.now();
    await expect(conn.request({ method: 'GET', url: '/sobjects' }, { timeout: 300 })).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(sandbox.counters.injectedFaults).toBe(1);
  });
});

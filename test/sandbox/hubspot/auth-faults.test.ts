import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { Client } from '@hubspot/api-client';
import type { RequestContext, ResponseContext } from '@hubspot/api-client/lib/codegen/crm/contacts/http/http';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions } from '../../../src/sandbox/hubspot';

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; body: Record<string, unknown>; headers: Record<string, string> };
  }
  throw new Error('expected the call to fail');
}

/** The SDK has no timeout option; an agent that destroys idle sockets gives it one. */
class TimeoutAgent extends http.Agent {
  constructor(private readonly ms: number) {
    super({ keepAlive: false });
  }

  // The callback is left out on purpose: net.createConnection would take it for a connect listener,
  // and the Agent already uses the returned socket.
  override createConnection(options: http.ClientRequestArgs): Duplex {
    const socket = super.createConnection(options) as Socket;
    socket.setTimeout(this.ms, () => socket.destroy(new Error(`timed out after ${this.ms} ms`)));
    return socket;
  }
}

describe('HubSpot sandbox: auth and injected faults', () => {
  let sandbox: HubSpotSandbox | undefined;
  afterEach(async () => sandbox?.stop());

  async function start(options: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
    sandbox = await startHubSpotSandbox(options);
    return sandbox;
  }

  it('refreshes an OAuth token (form-encoded) and answers an expired one with 401 EXPIRED_AUTHENTICATION', async () => {
    let now = Date.now();
    const hs = await start({ now: () => now });
    const oauth = new Client({ basePath: hs.url });
    const tokens = await oauth.oauth.tokensApi.create('refresh_token', undefined, undefined, hs.credentials.clientId, hs.credentials.clientSecret, hs.credentials.refreshToken);
    expect(tokens).toMatchObject({ tokenType: 'bearer', expiresIn: 1800, refreshToken: hs.credentials.refreshToken });
    const client = new Client({ accessToken: tokens.accessToken, basePath: hs.url });
    const api = client.crm.contacts.basicApi;
    expect((await api.getPage()).results).toEqual([]);

    now += 1800 * 1000 + 5000;
    const expired = await failure(api.getPage());
    expect(expired.code).toBe(401);
    expect(expired.body).toMatchObject({
      status: 'error',
      message: 'The OAuth token used to make this call expired 5 second(s) ago.',
      category: 'EXPIRED_AUTHENTICATION',
      correlationId: expect.any(String) as unknown,
      context: { 'expire time': [expect.any(String)] },
    });

    const fresh = await oauth.oauth.tokensApi.create('refresh_token', undefined, undefined, hs.credentials.clientId, hs.credentials.clientSecret, hs.credentials.refreshToken);
    const again = new Client({ accessToken: fresh.accessToken, basePath: hs.url });
    const againApi = again.crm.contacts.basicApi;
    await againApi.getPage();
    expect(hs.admin.expireTokens()).toBe(1);
    expect((await failure(againApi.getPage())).body.category).toBe('EXPIRED_AUTHENTICATION');
  });

  it('honours a configured token lifetime, rejects bad refresh tokens and unknown bearer tokens', async () => {
    const hs = await start({ publicApp: { accessTokenLifetimeSeconds: 60 } });
    const form = (refreshToken: string) =>
      fetch(`${hs.url}/oauth/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: hs.credentials.clientId, client_secret: hs.credentials.clientSecret, refresh_token: refreshToken }),
      });
    const ok = await form(hs.credentials.refreshToken);
    expect(((await ok.json()) as { expires_in: number }).expires_in).toBe(60);
    const bad = await form('nope');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 'BAD_REFRESH_TOKEN' });
    const unknown = await fetch(`${hs.url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
  });

  it('injects 5xx and 429 faults in HubSpot shape', async () => {
    const hs = await start({ faults: { serverErrorRate: 1 } });
    const client = new Client({ accessToken: hs.credentials.accessToken, basePath: hs.url });
    const api = client.crm.contacts.basicApi;
    const serverError = await failure(api.getPage());
    expect(serverError.code).toBe(500);
    expect(serverError.body).toMatchObject({ status: 'error', category: 'INTERNAL_ERROR', correlationId: expect.any(String) as unknown });
    hs.faults.configure({ rateLimitRate: 1 });
    const limited = await failure(api.getPage());
    expect(limited.code).toBe(429);
    expect(limited.body).toMatchObject({ policyName: 'TEN_SECONDLY_ROLLING', errorType: 'RATE_LIMIT' });
    expect(limited.headers['x-hubspot-ratelimit-max']).toBe('100');
    expect(hs.counters.snapshot()).toMatchObject({ injectedFaults: 2, rateLimited: 1 });
    hs.faults.configure({});
    expect((await api.getPage()).results).toEqual([]);
  });

  it('makes the client time out when a timeout is injected', async () => {
    const hs = await start({ faults: { timeoutRate: 1 } });
    const client = new Client({ accessToken: hs.credentials.accessToken, basePath: hs.url });
    const api = client.crm.contacts.basicApi;
    // SDK 13.5's generated APIs ignore the configured middleware (so `httpAgent` too) unless
    // middleware is also given per call; per-call middleware is the way to set the agent.
    const agent = new TimeoutAgent(300);
    const options = {
      middleware: [{ pre: (context: RequestContext) => (context.setAgent(agent), Promise.resolve(context)), post: (response: ResponseContext) => Promise.resolve(response) }],
    };
    const started = Date.now();
    await expect(api.getPage(10, undefined, undefined, undefined, undefined, false, options)).rejects.toThrow(/timed out after 300 ms|socket hang up/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(hs.counters.snapshot().injectedFaults).toBe(1);
    hs.faults.configure({});
    expect((await api.getPage(10, undefined, undefined, undefined, undefined, false, options)).results).toEqual([]);
  }, 10_000);
});

import { randomBytes } from 'node:crypto';
import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubSpotDeveloperApp, startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';

/**
 * @hubspot/api-client 13.5's `oauth.accessTokensApi.get` as referee of the sandbox's token
 * metadata [H105]: the client's own request (no Authorization header) and its model
 * (AccessTokenInfoResponse) deserialising the sandbox's answer.
 */
describe('referee: @hubspot/api-client token metadata against the HubSpot sandbox', () => {
  const started: HubSpotSandbox[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sandbox) => sandbox.stop()));
  });

  async function accessTokenOf(sandbox: HubSpotSandbox): Promise<string> {
    const client = new Client({ basePath: sandbox.url, numberOfApiCallRetries: 0 });
    const answer = await client.oauth.tokensApi.create('refresh_token', undefined, undefined, sandbox.credentials.clientId, sandbox.credentials.clientSecret, sandbox.credentials.refreshToken);
    return answer.accessToken;
  }

  it('parses the answer into AccessTokenInfoResponse with the portal as hubId and the public app as appId', async () => {
    const hs = await startHubSpotSandbox({ portalId: 6_100_001, limits: false });
    started.push(hs);
    const token = await accessTokenOf(hs);
    const info = await new Client({ basePath: hs.url, numberOfApiCallRetries: 0 }).oauth.accessTokensApi.get(token);
    expect(info).toMatchObject({ token, hubId: 6_100_001, appId: Number(hs.credentials.publicAppId), userId: expect.any(Number) as unknown, tokenType: 'access', hubDomain: expect.any(String) as unknown, user: expect.any(String) as unknown });
    expect(info.scopes).toContain('oauth');
    expect(info.expiresIn).toBeGreaterThan(0);
    expect(info.expiresIn).toBeLessThanOrEqual(1800);
  });

  it("answers a portal's token through another portal's host when both run one developer app", async () => {
    const app = createHubSpotDeveloperApp({ appId: 3_100_003 });
    const a = await startHubSpotSandbox({ portalId: 6_200_001, developerApp: app, limits: false });
    started.push(a);
    const b = await startHubSpotSandbox({ portalId: 6_200_002, developerApp: app, limits: false });
    started.push(b);
    const info = await new Client({ basePath: b.url, numberOfApiCallRetries: 0 }).oauth.accessTokensApi.get(await accessTokenOf(a));
    expect(info).toMatchObject({ hubId: 6_200_001, appId: 3_100_003 });
  });

  it("rejects an unknown token and a private-app token with the sandbox's status", async () => {
    const hs = await startHubSpotSandbox({ limits: false });
    started.push(hs);
    const api = new Client({ basePath: hs.url, numberOfApiCallRetries: 0 }).oauth.accessTokensApi;
    const failure = (call: Promise<unknown>): Promise<{ code?: number; body?: unknown }> => call.then(() => ({}), (error: { code?: number; body?: unknown }) => error);
    const unknown = await failure(api.get(`C${randomBytes(60).toString('base64url')}`));
    expect(unknown.code).toBe(404);
    const privateApp = await failure(api.get(hs.credentials.accessToken));
    expect(privateApp.code).toBe(400);
    expect(privateApp.body).toMatchObject({ message: 'The access token must have the correct format' });
  });
});

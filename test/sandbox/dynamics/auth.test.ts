import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, requestToken, startClient, type Client } from './support';

describe('Dynamics sandbox: Entra ID client credentials', () => {
  let client: Client;
  beforeAll(async () => {
    client = await startClient({ dataSeed: 7 });
  });
  afterAll(async () => client.sandbox.stop());

  it('issues a bearer token with a 60-90 minute lifetime', async () => {
    const response = await requestToken(client.sandbox);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toMatchObject({ token_type: 'Bearer' });
    expect(body.expires_in).toBeGreaterThanOrEqual(3600);
    expect(body.expires_in).toBeLessThanOrEqual(5400);
    expect(body.ext_expires_in).toBe(body.expires_in);
    expect(String(body.access_token).split('.')).toHaveLength(3);
  });

  it('expired token -> 401 with WWW-Authenticate -> new token -> success', async () => {
    expect((await client.api('contacts')).status).toBe(200);
    client.sandbox.admin.expireTokens();
    const refused = await client.api('contacts');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="The access token expired."/);
    expect(await json(refused)).toEqual({ error: { code: '', message: 'The access token expired.' } });
    await client.newToken();
    expect((await client.api('contacts')).status).toBe(200);
  });

  it('refuses a missing or forged token and a wrong secret', async () => {
    const none = await fetch(`${client.sandbox.serviceRoot}/contacts`);
    expect(none.status).toBe(401);
    const forged = await fetch(`${client.sandbox.serviceRoot}/contacts`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(forged.status).toBe(401);
    const wrong = await requestToken(client.sandbox, { client_secret: 'nope' });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    const badScope = await requestToken(client.sandbox, { scope: 'https://graph.microsoft.com/.default' });
    expect(badScope.status).toBe(400);
  });

  it('serves OpenID metadata pointing at the token endpoint', async () => {
    const { tenantId } = client.sandbox.credentials;
    const response = await fetch(`${client.sandbox.url}/${tenantId}/v2.0/.well-known/openid-configuration`);
    expect(await json(response)).toMatchObject({ token_endpoint: client.sandbox.tokenUrl, issuer: `${client.sandbox.url}/${tenantId}/v2.0` });
  });

  it('WhoAmI names the application user', async () => {
    const body = await json(await client.api('WhoAmI'));
    expect(body.UserId).toBe(client.sandbox.users.applicationUserId);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { api, grant } from './support';

describe('Zoho sandbox: OAuth and data-centre routing', () => {
  let zoho: ZohoSandbox;
  beforeAll(async () => {
    zoho = await startZohoSandbox({ region: 'eu', regions: ['us', 'eu'], seed: { contacts: 2 } });
  });
  afterAll(async () => zoho.stop());

  it('serves an accounts server and an API domain per data centre, the account in EU', () => {
    expect(zoho.region).toBe('eu');
    const urls = [zoho.regions.us?.accountsUrl, zoho.regions.us?.apiUrl, zoho.regions.eu?.accountsUrl, zoho.regions.eu?.apiUrl];
    expect(new Set(urls).size).toBe(4);
    expect(zoho.credentials.accountsServer).toBe(zoho.regions.eu?.accountsUrl);
    expect(zoho.url).toBe(zoho.regions.eu?.apiUrl);
  });

  it('refresh grant at the account’s accounts server returns a one-hour token and the EU api_domain', async () => {
    const { status, body } = await grant(zoho, zoho.regions.eu!.accountsUrl);
    expect(status).toBe(200);
    expect(body).toMatchObject({ api_domain: zoho.regions.eu!.apiUrl, token_type: 'Bearer', expires_in: 3600 });
    expect(body.access_token).toMatch(/^1000\./);
    const listed = await api(zoho, body.access_token as string, 'GET', 'Contacts?fields=Last_Name', { base: body.api_domain as string });
    expect(listed.status).toBe(200);
  });

  it('refuses a grant at another data centre (invalid_client) and an unknown refresh token (invalid_code), with HTTP 200 as Zoho does', async () => {
    expect(await grant(zoho, zoho.regions.us!.accountsUrl)).toEqual({ status: 200, body: { error: 'invalid_client' } });
    expect(await grant(zoho, zoho.regions.eu!.accountsUrl, { refresh_token: '1000.nope.nope' })).toEqual({ status: 200, body: { error: 'invalid_code' } });
    expect(await grant(zoho, zoho.regions.eu!.accountsUrl, { grant_type: 'password' })).toEqual({ status: 200, body: { error: 'unsupported_grant_type' } });
  });

  it('refuses an EU token at the US API domain, an expired token and a missing one with 401 INVALID_TOKEN', async () => {
    const { body } = await grant(zoho, zoho.regions.eu!.accountsUrl);
    const token = body.access_token as string;
    const invalid = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };
    const atUs = await api(zoho, token, 'GET', 'Contacts?fields=Last_Name', { base: zoho.regions.us!.apiUrl });
    expect(atUs).toMatchObject({ status: 401, body: invalid });
    const missing = await fetch(`${zoho.url}/crm/v6/Contacts?fields=Last_Name`);
    expect(missing.status).toBe(401);
    expect(zoho.admin.expireTokens(token)).toBe(1);
    expect(await api(zoho, token, 'GET', 'Contacts?fields=Last_Name')).toMatchObject({ status: 401, body: invalid });
  });

  it('authorization code grant mints a refresh token; the consent names location and accounts-server', async () => {
    const consent = zoho.admin.issueAuthorizationCode();
    expect(consent).toMatchObject({ location: 'eu', accountsServer: zoho.regions.eu!.accountsUrl });
    const { body } = await grant(zoho, consent.accountsServer, { grant_type: 'authorization_code', code: consent.code, refresh_token: '' });
    expect(body).toMatchObject({ api_domain: zoho.regions.eu!.apiUrl, refresh_token: expect.stringMatching(/^1000\./) as unknown });
    // A code is good once.
    expect((await grant(zoho, consent.accountsServer, { grant_type: 'authorization_code', code: consent.code })).body).toEqual({ error: 'invalid_code' });
  });

  it('counts requests per host, including refused ones', async () => {
    const before = zoho.admin.hostCounts();
    await grant(zoho, zoho.regions.us!.accountsUrl);
    await fetch(`${zoho.regions.us!.apiUrl}/crm/v6/Contacts?fields=Last_Name`);
    const after = zoho.admin.hostCounts();
    expect((after['accounts.zoho.com'] ?? 0) - (before['accounts.zoho.com'] ?? 0)).toBe(1);
    expect((after['www.zohoapis.com'] ?? 0) - (before['www.zohoapis.com'] ?? 0)).toBe(1);
    expect(after['www.zohoapis.eu']).toBe(before['www.zohoapis.eu']);
  });
});

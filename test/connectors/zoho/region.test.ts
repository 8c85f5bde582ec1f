import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createZohoConnector } from '../../../src/connectors/zoho';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectorFailure } from '../../support/connector-failure';
import { connectTo } from './support';

describe('Zoho connector: data-centre routing', () => {
  let zoho: ZohoSandbox;
  beforeAll(async () => {
    zoho = await startZohoSandbox({ region: 'eu', regions: ['us', 'eu'], limits: false, seed: { contacts: 3 } });
  });
  afterAll(async () => zoho.stop());

  it('an EU account refreshes at the EU accounts server, calls the EU api_domain it returned, and never a US host', async () => {
    const connector = await connectTo(zoho);
    const since = new Date(0).toISOString();
    await connector.listChanges('contact', { since });
    const [written] = await connector.upsertRecords('contact', [{ syncId: randomUUID(), fields: { lastName: 'EU' } }]);
    expect(written?.status).toBe('created');
    zoho.admin.expireTokens();
    await Promise.all([connector.readRecords('contact', [written?.status === 'created' ? written.externalId : '1']), connector.listDeletions('contact', { since })]);
    expect(connector.apiDomain).toBe(zoho.regions.eu?.apiUrl);
    expect(connector.tokenRequests).toBe(2);
    const hosts = zoho.admin.hostCounts();
    expect(hosts['accounts.zoho.eu']).toBe(2);
    expect(hosts['www.zohoapis.eu']).toBeGreaterThanOrEqual(4);
    expect(hosts['accounts.zoho.com'] ?? 0).toBe(0);
    expect(hosts['www.zohoapis.com'] ?? 0).toBe(0);
    await connector.close();
  });

  it('a connection set to the wrong data centre is refused as auth (invalid_client), not retried elsewhere', async () => {
    const connector = await createZohoConnector({
      connectionId: `zoho-wrong-${randomUUID()}`,
      region: 'us',
      accountsServer: zoho.regions.us?.accountsUrl,
      credentials: { clientId: zoho.credentials.clientId, clientSecret: zoho.credentials.clientSecret, refreshToken: zoho.credentials.refreshToken },
      rateLimits: false,
    });
    const before = zoho.admin.hostCounts();
    expect(await connectorFailure(connector.readRecords('contact', ['1']))).toMatchObject({ errorClass: 'auth', vendorCode: 'invalid_client' });
    const after = zoho.admin.hostCounts();
    expect((after['accounts.zoho.com'] ?? 0) - (before['accounts.zoho.com'] ?? 0)).toBe(1);
    expect(after['accounts.zoho.eu']).toBe(before['accounts.zoho.eu']);
    await connector.close();
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoredConnectionRegistry, InvalidConnectionError } from '../../src/connectors/stored-connections';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * A connection's own request budget, stored with it (settings.rateLimits): a HubSpot Professional
 * portal's 190 per 10 s replaces the Free/Starter default every worker would otherwise apply, and
 * a malformed one is refused naming its path, before any call to the vendor.
 */
describe('stored connections: settings.rateLimits', () => {
  let db: TestDatabase;
  let hs: HubSpotSandbox;
  let connections: ConnectionsRepository;
  const tenantId = `rl-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    hs = await startHubSpotSandbox({ limits: false });
    connections = new ConnectionsRepository(db.pool, new CredentialCipher(new Map([['k', randomBytes(32)]]), 'k'));
    await connections.addTenant(tenantId, 'rate limits');
  });
  afterAll(async () => {
    await hs?.stop();
    await db?.drop();
  });

  const add = async (id: string, rateLimits: unknown): Promise<void> => {
    await connections.addConnection({ id, tenantId, provider: 'hubspot', settings: { basePath: hs.url, ...(rateLimits === undefined ? {} : { rateLimits }) }, credentials: { kind: 'private-app', accessToken: hs.credentials.accessToken } });
  };
  const windows = async (id: string, defaults?: { rateLimits: false }): Promise<{ name: string; limit: number }[]> => {
    const connector = await createStoredConnectionRegistry({ connections, pool: db.pool, defaults }).forConnection(id);
    return (await connector.rateBudget()).windows.map(({ name, limit }) => ({ name, limit }));
  };

  it("replaces the vendor's default windows with the connection's own", async () => {
    await add(`${tenantId}-default`, undefined);
    await add(`${tenantId}-professional`, [
      { name: 'ten-secondly', limit: 190, windowMs: 10_000 },
      { name: 'daily', limit: 650_000, windowMs: 86_400_000, reserve: 0.1, quota: true },
    ]);
    expect((await windows(`${tenantId}-default`)).find((window) => window.name === 'ten-secondly')).toEqual({ name: 'ten-secondly', limit: 100 });
    expect(await windows(`${tenantId}-professional`)).toEqual([
      { name: 'ten-secondly', limit: 190 },
      { name: 'daily', limit: 585_000 },
    ]);
    // A worker started without client-side budgets (the engine-ceiling bench) keeps them off.
    expect(await windows(`${tenantId}-professional`, { rateLimits: false })).toEqual([]);
  });

  it('refuses a malformed budget naming its path', async () => {
    await add(`${tenantId}-bad`, [{ name: 'ten-secondly', limit: 0, windowMs: 10_000, slot: 2 }]);
    const refused = createStoredConnectionRegistry({ connections, pool: db.pool }).forConnection(`${tenantId}-bad`);
    await expect(refused).rejects.toBeInstanceOf(InvalidConnectionError);
    await expect(refused).rejects.toThrow(/^connection rl-\w+-bad has invalid settings: rateLimits\.0\.limit: .*; rateLimits\.0: .*slot/);
  });
});

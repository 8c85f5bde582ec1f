import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, stopAll } from './sandbox-connector';

afterEach(stopAll);

const queries = (snapshot: { requests: Record<string, number> }): number =>
  Object.entries(snapshot.requests)
    .filter(([endpoint]) => endpoint.startsWith('GET') && endpoint.includes('/query'))
    .reduce((sum, [, count]) => sum + count, 0);

describe('Salesforce connector: findByUniqueKeys (first-sync matching)', () => {
  it('finds 500 contacts by email in batched IN queries, case-insensitively, and nothing for unknown emails', async () => {
    const { connector, sandbox } = await startHarness();
    const ids = new Map<string, string>();
    for (let i = 0; i < 600; i += 1) {
      // Stored with mixed casing; asked for in another casing below.
      const email = i % 2 === 0 ? `Person${i}@Match.Example` : `person${i}@match.example`;
      ids.set(`person${i}@match.example`, String(sandbox.admin.createAsUser('Contact', { LastName: `P${i}`, Email: email }).Id));
    }
    const before = queries(sandbox.counters.snapshot());
    const asked = [...Array.from({ length: 500 }, (_, i) => `PERSON${i}@match.EXAMPLE`), ...Array.from({ length: 50 }, (_, i) => `nobody${i}@match.example`)];
    const found = await connector.findByUniqueKeys('contact', { field: 'email', values: asked });

    expect(found).toHaveLength(500);
    expect(new Set(found.map((record) => record.externalId))).toEqual(new Set(Array.from({ length: 500 }, (_, i) => ids.get(`person${i}@match.example`))));
    for (const record of found) expect(ids.get(String(record.fields.email).toLowerCase())).toBe(record.externalId);
    expect(found[0]).toMatchObject({ objectType: 'contact', syncId: null, fields: expect.objectContaining({ lastName: expect.any(String) as unknown }) as unknown });
    // 550 distinct values, 100 per query.
    expect(queries(sandbox.counters.snapshot()) - before).toBe(6);

    expect(await connector.findByUniqueKeys('contact', { field: 'email', values: ['unknown@nowhere.example'] })).toEqual([]);
    expect(await connector.findByUniqueKeys('contact', { field: 'email', values: [] })).toEqual([]);
  });

  it('returns every record holding a value (duplicates are the engine’s call)', async () => {
    const { connector, sandbox } = await startHarness();
    sandbox.admin.createAsUser('Contact', { LastName: 'One', Email: 'twin@dup.example' });
    sandbox.admin.createAsUser('Contact', { LastName: 'Two', Email: 'TWIN@dup.example' });
    const found = await connector.findByUniqueKeys('contact', { field: 'email', values: ['twin@dup.example'] });
    expect(found.map((record) => record.fields.lastName).sort()).toEqual(['One', 'Two']);
  });

  it('matches companies by domain against Account.Website, by host, case-insensitively', async () => {
    const { connector, sandbox } = await startHarness();
    const acme = String(sandbox.admin.createAsUser('Account', { Name: 'Acme', Website: 'https://www.ACME.example/about' }).Id);
    const globex = String(sandbox.admin.createAsUser('Account', { Name: 'Globex', Website: 'globex.example' }).Id);
    sandbox.admin.createAsUser('Account', { Name: 'Not Acme', Website: 'https://notacme.example' });
    sandbox.admin.createAsUser('Account', { Name: 'No site' });

    const found = await connector.findByUniqueKeys('company', { field: 'domain', values: ['Acme.Example', 'globex.example', 'initech.example'] });
    expect(found.map((record) => record.externalId).sort()).toEqual([acme, globex].sort());
    expect(await connector.findByUniqueKeys('company', { field: 'domain', values: ['initech.example'] })).toEqual([]);
  });

  it('refuses a key the mapping does not cover (validation), instead of matching nothing', async () => {
    const { connector } = await startHarness();
    await expect(connector.findByUniqueKeys('contact', { field: 'custom.badge', values: ['x'] })).rejects.toMatchObject({ errorClass: 'validation' });
  });
});

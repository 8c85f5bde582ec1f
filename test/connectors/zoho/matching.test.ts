import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

const searches = (sandbox: ZohoSandbox): number => sandbox.counters.snapshot().requests['GET /crm/v6/:module/search'] ?? 0;

describe('Zoho connector: findByUniqueKeys (first-sync matching)', () => {
  let zoho: ZohoSandbox;
  let connector: ZohoConnector;
  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false });
    connector = await connectTo(zoho);
  });
  afterAll(async () => {
    await connector.close();
    await zoho.stop();
  });

  it('finds contacts by email, case-insensitively, 10 criteria per search call, and nothing for unknown emails', async () => {
    const ids = new Map<string, string>();
    for (let i = 0; i < 60; i += 1) ids.set(`person${i}@match.example`, String(zoho.admin.createAsUser('Contacts', { Last_Name: `P${i}`, Email: `Person${i}@Match.Example` }).id));
    // A second record with a held email: both are returned (the engine decides).
    const twin = String(zoho.admin.createAsUser('Contacts', { Last_Name: 'Twin', Email: 'person0@match.example' }).id);
    const before = searches(zoho);
    const asked = [...Array.from({ length: 50 }, (_, i) => `PERSON${i}@match.EXAMPLE`), ...Array.from({ length: 5 }, (_, i) => `nobody${i}@match.example`), 'person(1)@x.example'];
    const found = await connector.findByUniqueKeys('contact', { field: 'email', values: asked });
    expect(found).toHaveLength(51);
    expect(found.find((record) => record.externalId === twin)).toBeDefined();
    for (const record of found.filter((candidate) => candidate.externalId !== twin)) expect(ids.get(String(record.fields.email).toLowerCase())).toBe(record.externalId);
    expect(searches(zoho) - before).toBe(6);
    expect(await connector.findByUniqueKeys('contact', { field: 'email', values: ['unknown@nowhere.example'] })).toEqual([]);
  });

  it('finds companies by domain on Website (scheme, www and paths ignored), not look-alike hosts', async () => {
    const acme = String(zoho.admin.createAsUser('Accounts', { Account_Name: 'Acme', Website: 'https://www.ACME.example/about' }).id);
    const bare = String(zoho.admin.createAsUser('Accounts', { Account_Name: 'Globex', Website: 'globex.example' }).id);
    zoho.admin.createAsUser('Accounts', { Account_Name: 'Look-alike', Website: 'https://acme.example.evil.example' });
    const found = await connector.findByUniqueKeys('company', { field: 'domain', values: ['acme.example', 'Globex.example', 'initech.example'] });
    expect(found.map((record) => record.externalId).sort()).toEqual([acme, bare].sort());
    await expect(connector.findByUniqueKeys('company', { field: 'custom.vat', values: ['x'] })).rejects.toMatchObject({ errorClass: 'validation' });
  });
});

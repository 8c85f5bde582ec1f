import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support';

/** Web API GETs (the sandbox counts them under one route). */
const queries = (h: Harness): number => h.sandbox.counters.snapshot().requests['GET /api/data/v9.2/*'] ?? 0;

describe('Dynamics connector: findByUniqueKeys (first-sync matching)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ serviceProtection: { enabled: false } });
  });
  afterAll(async () => h.stop());

  it('finds 500 contacts by email with $filter eq/or in chunks, case-insensitively, and nothing for unknown emails', async () => {
    const ids = new Map<string, string>();
    for (let i = 0; i < 600; i += 1) {
      const row = h.sandbox.admin.uiCreate('contacts', { lastname: `P${i}`, emailaddress1: i % 2 === 0 ? `Person${i}@Match.Example` : `person${i}@match.example` });
      ids.set(`person${i}@match.example`, String(row.contactid));
    }
    const before = queries(h);
    const asked = [...Array.from({ length: 500 }, (_, i) => `PERSON${i}@match.EXAMPLE`), ...Array.from({ length: 50 }, (_, i) => `o'nobody${i}@match.example`)];
    const found = await h.connector.findByUniqueKeys('contact', { field: 'email', values: asked });

    expect(found).toHaveLength(500);
    for (const record of found) expect(ids.get(String(record.fields.email).toLowerCase())).toBe(record.externalId);
    expect(new Set(found.map((record) => record.externalId)).size).toBe(500);
    // 550 values, 50 per request.
    expect(queries(h) - before).toBe(11);
    expect(await h.connector.findByUniqueKeys('contact', { field: 'email', values: ['unknown@nowhere.example'] })).toEqual([]);
  });

  it('matches accounts by domain against websiteurl, by host', async () => {
    const acme = String(h.sandbox.admin.uiCreate('accounts', { name: 'Acme', websiteurl: 'https://www.Acme.example/' }).accountid);
    h.sandbox.admin.uiCreate('accounts', { name: 'Not Acme', websiteurl: 'https://notacme.example' });
    const found = await h.connector.findByUniqueKeys('company', { field: 'domain', values: ['ACME.example', 'initech.example'] });
    expect(found.map((record) => record.externalId)).toEqual([acme]);
    expect(await h.connector.findByUniqueKeys('company', { field: 'domain', values: ['initech.example'] })).toEqual([]);
  });
});

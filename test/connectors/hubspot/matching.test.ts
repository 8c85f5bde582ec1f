import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

const calls = (sandbox: HubSpotSandbox, suffix: string): number =>
  Object.entries(sandbox.counters.snapshot().requests)
    .filter(([endpoint]) => endpoint.startsWith('POST') && endpoint.endsWith(suffix))
    .reduce((sum, [, count]) => sum + count, 0);

describe('HubSpot connector: findByUniqueKeys (first-sync matching)', () => {
  let hs: HubSpotSandbox;
  let connector: HubSpotConnector;

  beforeAll(async () => {
    hs = await startHubSpotSandbox({ limits: false });
    connector = await createHubSpotConnector({ connectionId: `hs-match-${randomUUID()}`, basePath: hs.url, auth: { kind: 'private-app', accessToken: hs.credentials.accessToken } });
  });
  afterAll(async () => hs.stop());

  it('finds 500 contacts by email through batch read by idProperty (100 per call), case-insensitively, and nothing for unknown emails', async () => {
    const ids = new Map<string, string>();
    for (let i = 0; i < 600; i += 1) ids.set(`person${i}@match.example`, hs.admin.createAsUser('contacts', { lastname: `P${i}`, email: `Person${i}@Match.Example` }).id);
    const before = calls(hs, '/batch/read');
    const asked = [...Array.from({ length: 500 }, (_, i) => `PERSON${i}@match.EXAMPLE`), ...Array.from({ length: 50 }, (_, i) => `nobody${i}@match.example`)];
    const found = await connector.findByUniqueKeys('contact', { field: 'email', values: asked });

    expect(found).toHaveLength(500);
    for (const record of found) expect(ids.get(String(record.fields.email))).toBe(record.externalId);
    expect(new Set(found.map((record) => record.externalId)).size).toBe(500);
    expect(calls(hs, '/batch/read') - before).toBe(6);
    expect(await connector.findByUniqueKeys('contact', { field: 'email', values: ['unknown@nowhere.example'] })).toEqual([]);
  });

  it('finds companies by domain through search IN, case-insensitively, paged past 200 results', async () => {
    const ids = new Map<string, string>();
    for (let i = 0; i < 250; i += 1) ids.set(`co${i}.example`, hs.admin.createAsUser('companies', { name: `Co ${i}`, domain: i % 2 === 0 ? `CO${i}.example` : `co${i}.example` }).id);
    hs.admin.createAsUser('companies', { name: 'Other', domain: 'other.example' });
    const before = calls(hs, '/search');
    const found = await connector.findByUniqueKeys('company', { field: 'domain', values: [...Array.from({ length: 250 }, (_, i) => `Co${i}.Example`), 'initech.example'] });

    expect(found).toHaveLength(250);
    for (const record of found) expect(ids.get(String(record.fields.domain).toLowerCase())).toBe(record.externalId);
    expect(calls(hs, '/search') - before).toBeGreaterThanOrEqual(3);
    expect(await connector.findByUniqueKeys('company', { field: 'domain', values: ['initech.example'] })).toEqual([]);
  });
});

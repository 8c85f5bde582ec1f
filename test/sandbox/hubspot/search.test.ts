import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; body: Record<string, unknown> };
  }
  throw new Error('expected the call to fail');
}

describe('HubSpot sandbox: search through @hubspot/api-client', () => {
  let sandbox: HubSpotSandbox;
  let client: Client;

  beforeAll(async () => {
    sandbox = await startHubSpotSandbox({ limits: { search: false, tenSecondly: false } });
    client = new Client({ accessToken: sandbox.credentials.accessToken, basePath: sandbox.url });
    void client.crm.contacts.searchApi;
  });
  afterAll(async () => sandbox.stop());

  it('pages "modified since T" across several pages with after, sorted by lastmodifieddate', async () => {
    const before = sandbox.admin.seed({ contacts: 20 }).contacts;
    // Stamps advance 1 ms per write even within one real millisecond, so T comes from the data, not the wall clock.
    const since = Date.parse(sandbox.admin.getRecord('contacts', before.at(-1) as string)?.properties.lastmodifieddate ?? '') + 1;
    const ids = sandbox.admin.seed({ contacts: 45 }).contacts;
    const seen: string[] = [];
    const stamps: number[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await client.crm.contacts.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: FilterOperatorEnum.Gte, value: String(since) }] }],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' } as unknown as string],
        properties: ['email'],
        limit: 20,
        after,
      });
      pages += 1;
      expect(page.total).toBe(45);
      seen.push(...page.results.map((result) => result.id));
      stamps.push(...page.results.map((result) => Date.parse(result.properties.lastmodifieddate ?? '')));
      after = page.paging?.next?.after;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
  });

  it('filters by ids, emails, IN / NOT_IN / BETWEEN / HAS_PROPERTY, with OR across groups', async () => {
    const a = sandbox.admin.createAsUser('contacts', { email: 'in-a@example.com', firstname: 'A' });
    const b = sandbox.admin.createAsUser('contacts', { email: 'in-b@example.com' });
    const search = (filterGroups: unknown[]) =>
      client.crm.contacts.searchApi.doSearch({ filterGroups: filterGroups as never, limit: 200 }).then((page) => page.results.map((result) => result.id).sort());
    expect(await search([{ filters: [{ propertyName: 'email', operator: 'IN', values: ['IN-A@example.com', 'in-b@example.com'] }] }])).toEqual([a.id, b.id].sort());
    expect(await search([{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: a.id }] }, { filters: [{ propertyName: 'email', operator: 'EQ', value: 'in-b@example.com' }] }])).toEqual([a.id, b.id].sort());
    expect(await search([{ filters: [{ propertyName: 'email', operator: 'IN', values: ['in-a@example.com', 'in-b@example.com'] }, { propertyName: 'firstname', operator: 'NOT_HAS_PROPERTY' }] }])).toEqual([b.id]);
    expect(await search([{ filters: [{ propertyName: 'hs_object_id', operator: 'BETWEEN', value: a.id, highValue: b.id }, { propertyName: 'firstname', operator: 'HAS_PROPERTY' }] }])).toEqual([a.id]);
    const stamp = sandbox.admin.getRecord('contacts', b.id)?.properties.lastmodifieddate as string;
    expect(await search([{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: stamp }] }])).toEqual([b.id]);
  });

  it('caps a query at 10,000 results: paging to after=10000 is a 400', async () => {
    sandbox.admin.seed({ contacts: 10_050 - sandbox.admin.listRecords('contacts').length });
    const page = await client.crm.contacts.searchApi.doSearch({ limit: 200, after: '9900' });
    expect(page.total).toBeGreaterThanOrEqual(10_050);
    expect(page.results).toHaveLength(100);
    expect(page.paging?.next?.after).toBe('10000');
    const error = await failure(client.crm.contacts.searchApi.doSearch({ limit: 200, after: '10000' }));
    expect(error.code).toBe(400);
    expect(error.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', message: expect.stringContaining('10000') as unknown });
  });

  it('refuses limit > 200 and too many filters or groups with 400', async () => {
    expect((await failure(client.crm.contacts.searchApi.doSearch({ limit: 201 }))).code).toBe(400);
    const filter = { propertyName: 'email', operator: FilterOperatorEnum.HasProperty };
    const groups = (count: number, filters: number) => Array.from({ length: count }, () => ({ filters: Array.from({ length: filters }, () => filter) }));
    expect((await client.crm.contacts.searchApi.doSearch({ filterGroups: groups(5, 5), limit: 1 })).results).toHaveLength(1);
    for (const filterGroups of [groups(6, 1), groups(1, 11), groups(3, 9)]) {
      const error = await failure(client.crm.contacts.searchApi.doSearch({ filterGroups, limit: 1 }));
      expect(error.code).toBe(400);
      expect(error.body.category).toBe('VALIDATION_ERROR');
    }
  });
});

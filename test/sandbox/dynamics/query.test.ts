import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTITY_SETS } from '../../../src/sandbox/dynamics/entity-sets';
import { evaluateFilter, parseFilter, tokenize } from '../../../src/sandbox/dynamics/odata-query';
import { json, startClient, type Client } from './support';

const contacts = ENTITY_SETS.contacts!;

describe('$filter parser', () => {
  it('tokenizes literals by type', () => {
    const kinds = tokenize("a eq 'it''s' or b eq 6d81597f-0f9f-e711-8122-000d3aa2331c or c gt 2024-01-01T00:00:00Z or d eq 2024-01-01 or e lt -1.5 or f eq null").flatMap((token) =>
      token.kind === 'literal' ? [token.literal.kind] : [],
    );
    expect(kinds).toEqual(['string', 'guid', 'datetime', 'date', 'number', 'null']);
  });

  it('binds and tighter than or, and honours parentheses', () => {
    const row = { firstname: 'Ada', lastname: 'Byron', emailaddress1: null };
    expect(evaluateFilter(parseFilter("firstname eq 'x' and lastname eq 'y' or firstname eq 'ada'", contacts), row, contacts)).toBe(true);
    expect(evaluateFilter(parseFilter("firstname eq 'x' and (lastname eq 'y' or firstname eq 'ada')", contacts), row, contacts)).toBe(false);
    expect(evaluateFilter(parseFilter('emailaddress1 eq null and not (lastname ne \'BYRON\')', contacts), row, contacts)).toBe(true);
  });

  it('rejects syntax errors, unknown columns and mismatched literal types', () => {
    expect(() => parseFilter("firstname eq 'a' and", contacts)).toThrow(/Syntax error/);
    expect(() => parseFilter("shoesize eq 'a'", contacts)).toThrow("Could not find a property named 'shoesize'");
    expect(() => parseFilter("modifiedon gt 'yesterday'", contacts)).toThrow(/incompatible types.*'Edm.DateTimeOffset' and 'Edm.String'/);
  });
});

describe('Dynamics sandbox: queries and paging over fetch', () => {
  let client: Client;
  beforeAll(async () => {
    client = await startClient({ seed: { contacts: 23 } });
  });
  afterAll(async () => client.sandbox.stop());

  it('answers set/$count with the matching row count as plain text, filtered or not; other options are 400', async () => {
    const all = await client.api('contacts/$count');
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await all.text()).toBe('23');
    const none = await client.api(`contacts/$count?$filter=${encodeURIComponent("lastname eq 'nobody-has-this'")}`);
    expect(await none.text()).toBe('0');
    expect((await client.api('contacts/$count?$top=1')).status).toBe(400);
    expect((await client.api('widgets/$count')).status).toBe(404);
  });

  it('pages through every record with odata.maxpagesize and $skiptoken nextLinks, in $orderby order', async () => {
    const seen: string[] = [];
    let url: string | undefined = `${client.sandbox.serviceRoot}/contacts?$select=lastname,createdon&$orderby=createdon desc`;
    let pages = 0;
    while (url) {
      const response = await fetch(url, { headers: { authorization: `Bearer ${client.token}`, prefer: 'odata.maxpagesize=5' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('preference-applied')).toBe('odata.maxpagesize=5');
      const body = await json(response);
      const value = body.value as { contactid: string; createdon: string }[];
      expect(value.length).toBeLessThanOrEqual(5);
      seen.push(...value.map((row) => row.contactid));
      url = body['@odata.nextLink'] as string | undefined;
      if (url) expect(url).toContain('$skiptoken=%3Ccookie%20pagenumber%3D%22');
      pages += 1;
    }
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(23);
    const byCreated = client.sandbox.admin
      .listRecords('contacts')
      .sort((a, b) => (String(b.createdon) < String(a.createdon) ? -1 : 1))
      .map((row) => row.contactid);
    expect(seen).toEqual(byCreated);
  });

  it('filters on modifiedon with and, orders, counts and honours $top without paging', async () => {
    const rows = client.sandbox.admin.listRecords('contacts');
    const target = rows[4]!;
    await client.api(`contacts(${target.contactid as string})`, { method: 'PATCH', body: JSON.stringify({ jobtitle: 'Changed' }) });
    const since = new Date(Date.now() - 60_000).toISOString().slice(0, 19) + 'Z';
    const response = await client.api(`contacts?$select=jobtitle,modifiedon&$filter=modifiedon gt ${since} and jobtitle eq 'changed'&$orderby=modifiedon asc&$count=true`);
    const body = await json(response);
    expect(body['@odata.count']).toBe(1);
    expect((body.value as { contactid: string }[]).map((row) => row.contactid)).toEqual([target.contactid]);
    const none = await json(await client.api(`contacts?$filter=modifiedon gt ${new Date(Date.now() + 3_600_000).toISOString()} and jobtitle eq 'changed'`));
    expect(none.value).toEqual([]);
    const top = await json(await client.api('contacts?$top=3'));
    expect((top.value as unknown[]).length).toBe(3);
    expect(top['@odata.nextLink']).toBeUndefined();
  });

  it('refuses $skip with the real 400', async () => {
    const response = await client.api('contacts?$top=5&$skip=5');
    expect(response.status).toBe(400);
    expect(await json(response)).toEqual({ error: { code: '0x80060888', message: 'The query parameter $skip is not supported' } });
  });
});

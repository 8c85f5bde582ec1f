import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

let sandbox: SalesforceSandbox;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ dailyApiRequests: false });
  sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@analytical.example' });
  sandbox.admin.createAsUser('Contact', { FirstName: 'Lovelace', LastName: 'Ada' });
  sandbox.admin.createAsUser('Account', { Name: 'Lovelace Engines' });
  const recycled = sandbox.admin.createAsUser('Contact', { LastName: 'Lovelace', FirstName: 'Recycled' });
  sandbox.admin.deleteRecord('Contact', String(recycled.Id));
});
afterAll(async () => sandbox.stop());

async function search(sosl: string, version = '62.0'): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${sandbox.url}/services/data/v${version}/search/?q=${encodeURIComponent(sosl)}`, { headers: { authorization: `Bearer ${sandbox.credentials.accessToken}` } });
  return { status: response.status, body: (await response.json()) };
}

const names = (body: unknown): string[] => (body as { searchRecords: Record<string, unknown>[] }).searchRecords.map((record) => String(record.FirstName ?? record.Name));

describe('SOSL GET /search', () => {
  it('answers a bare array before API 37.0 and {searchRecords} from it', async () => {
    const old = await search('FIND {engines} RETURNING Account(Name)', '36.0');
    expect(old).toEqual({ status: 200, body: [{ attributes: { type: 'Account', url: expect.stringMatching(/^\/services\/data\/v36\.0\/sobjects\/Account\/001/) as unknown }, Name: 'Lovelace Engines' }] });
    const current = await search('FIND {engines} RETURNING Account(Name)', '37.0');
    expect(current.body).toMatchObject({ searchRecords: [{ Name: 'Lovelace Engines' }] });
  });

  it('matches a quoted phrase in order only, leaves the Recycle Bin out, and applies the overall LIMIT across objects', async () => {
    expect(names((await search('FIND {"Ada Lovelace"} RETURNING Contact(FirstName)')).body)).toEqual(['Ada']);
    expect(names((await search('FIND {Ada Lovelace} RETURNING Contact(FirstName ORDER BY FirstName)')).body)).toEqual(['Ada', 'Lovelace']);
    expect(names((await search('FIND {lovelace} RETURNING Contact(FirstName ORDER BY FirstName), Account(Name)')).body)).toEqual(['Ada', 'Lovelace', 'Lovelace Engines']);
    expect(names((await search('FIND {lovelace} RETURNING Contact(FirstName ORDER BY FirstName LIMIT 1), Account(Name)')).body)).toEqual(['Ada', 'Lovelace Engines']);
    expect(names((await search('FIND {lovelace} RETURNING Contact(FirstName ORDER BY FirstName), Account(Name) LIMIT 2')).body)).toEqual(['Ada', 'Lovelace']);
  });

  it('refuses what it does not emulate, and bad input, in the Salesforce error shape', async () => {
    expect(names((await search('FIND {"(lovelace)"} RETURNING Account(Name)')).body)).toEqual(['Lovelace Engines']);
    expect(await search('FIND {(ada OR grace) lovelace}')).toMatchObject({ status: 400, body: [{ errorCode: 'MALFORMED_SEARCH' }] });
    expect(await search('FIND {ada AND NOT lovelace}')).toMatchObject({ status: 400, body: [{ errorCode: 'MALFORMED_SEARCH' }] });
    expect(await search('FIND {lovelace} WITH SNIPPET')).toMatchObject({ status: 400, body: [{ errorCode: 'MALFORMED_SEARCH' }] });
    expect(await search('FIND {l*}')).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_SEARCH', message: 'search term must be longer than one character' }] });
    expect(await search('FIND {lovelace} RETURNING Lead(Id)')).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_TYPE' }] });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../src/connectors/errors';
import type { PipedriveConnector } from '../../../src/connectors/pipedrive';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';

describe('Pipedrive connector: first-sync matching by email and domain', () => {
  let pd: PipedriveSandbox;
  let connector: PipedriveConnector;
  let domainKey: string;

  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false });
    domainKey = pd.admin.defineField('organizations', 'Domain', 'varchar');
    connector = await connectorFor(pd);
  });
  afterAll(async () => {
    await connector.close();
    await pd.stop();
  });

  it('finds persons by email exactly and case-insensitively, duplicates included, through the search endpoint', async () => {
    const ada = pd.admin.createAsUser('persons', { name: 'Ada', emails: [{ value: 'Ada@Acme.example', primary: true }] });
    const twin = pd.admin.createAsUser('persons', { name: 'Ada twin', emails: [{ value: 'ada@acme.example', primary: true }] });
    pd.admin.createAsUser('persons', { name: 'Adalbert', emails: [{ value: 'adalbert@acme.example', primary: true }] });
    const before = pd.counters.snapshot().requests['GET /api/v2/:entity/search'] ?? 0;
    const found = await connector.findByUniqueKeys('contact', { field: 'email', values: ['ADA@acme.example', 'nobody@acme.example'] });
    expect(found.map((record) => record.externalId).sort()).toEqual([String(ada.id), String(twin.id)].sort());
    expect(found[0]?.fields.email?.toString().toLowerCase()).toBe('ada@acme.example');
    expect((pd.counters.snapshot().requests['GET /api/v2/:entity/search'] ?? 0) - before).toBe(2);
  });

  it('finds organizations by domain through the website (host match, by scan: website is not searchable)', async () => {
    const acme = pd.admin.createAsUser('organizations', { name: 'Acme', website: 'https://www.Acme.example/about' });
    pd.admin.createAsUser('organizations', { name: 'Other', website: 'https://other.example' });
    const found = await connector.findByUniqueKeys('company', { field: 'domain', values: ['acme.example'] });
    expect(found.map((record) => record.externalId)).toEqual([String(acme.id)]);
  });

  it('finds organizations by a tenant domain custom field through custom field search', async () => {
    const mapped = await connectorFor(pd, { mappingOverride: { objects: { company: { fields: [{ canonical: 'domain', native: domainKey, type: 'string' }] } } } });
    const globex = pd.admin.createAsUser('organizations', { name: 'Globex', custom_fields: { [domainKey]: 'globex.example' } });
    const found = await mapped.findByUniqueKeys('company', { field: 'domain', values: ['GLOBEX.example'] });
    expect(found.map((record) => record.externalId)).toEqual([String(globex.id)]);
    expect(found[0]?.fields.domain).toBe('globex.example');
    await mapped.close();
  });

  it('refuses a key the mapping does not cover with validation', async () => {
    await expect(connector.findByUniqueKeys('deal', { field: 'email', values: ['x@y.z'] })).rejects.toSatisfy((error) => error instanceof ConnectorError && error.errorClass === 'validation');
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

describe('Zoho connector: values checked against the field metadata before the write', () => {
  let zoho: ZohoSandbox;
  const sourceOverride = (onViolation?: 'skip' | 'truncate') => ({
    objects: { contact: { fields: [{ canonical: 'custom.source', native: 'Lead_Source', type: 'string' as const, ...(onViolation ? { onViolation } : {}) }] } },
  });

  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false });
  });
  afterAll(async () => zoho.stop());

  it('fails exactly the records that cannot fit, naming field, limit and record, and writes the rest of the call', async () => {
    const connector = await connectTo(zoho, { mappingOverride: sourceOverride() });
    const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const before = connector.requestCount;
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: ids[0]!, fields: { lastName: 'Fits', email: 'fits@fit.example', custom: { source: 'Trade Show' } } },
      { syncId: ids[1]!, fields: { lastName: 'L'.repeat(81) } },
      { syncId: ids[2]!, fields: { firstName: 'Nolast' } },
      { syncId: ids[3]!, fields: { lastName: 'Pick', custom: { source: 'Billboard' } } },
      { syncId: ids[4]!, fields: { lastName: 'L'.repeat(80) } },
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'failed', 'failed', 'failed', 'created']);
    expect(outcomes[1]).toMatchObject({ error: { errorClass: 'validation', message: `Last_Name: 81 characters, Zoho CRM Contacts.Last_Name holds 80 (contact ${ids[1]})`, fieldErrors: [{ field: 'lastName' }] } });
    expect(outcomes[2]).toMatchObject({ error: { errorClass: 'validation', message: `Last_Name: missing, but Zoho CRM Contacts.Last_Name is required to create a record (contact ${ids[2]})` } });
    expect(outcomes[3]).toMatchObject({
      error: { errorClass: 'validation', message: expect.stringMatching(/^Lead_Source: "Billboard" is not one of the values Zoho CRM Contacts\.Lead_Source accepts \(-None-, Advertisement, .*, Chat\) \(contact /) as unknown, fieldErrors: [{ field: 'custom.source' }] },
    });
    expect(zoho.admin.listRecords('Contacts').map((record) => record.CRM_Sync_Id).sort()).toEqual([ids[0], ids[4]].sort());
    // One field metadata read and one upsert call: the refused records never reached Zoho.
    expect(connector.requestCount - before).toBe(2);
    await connector.close();
  });

  it('checks the bulk path too: truncates or skips where the tenant chose it', async () => {
    const truncating = await connectTo(zoho, { mappingOverride: { objects: { contact: { fields: [{ canonical: 'lastName', native: 'Last_Name', type: 'string' as const, onViolation: 'truncate' as const }] } } } });
    const id = randomUUID();
    const [cut] = await truncating.bulk.upsert('contact', [{ syncId: id, fields: { lastName: 'x'.repeat(90) } }]);
    expect(cut).toMatchObject({ status: 'created', adjusted: [expect.stringMatching(/^truncated: Last_Name: 90 characters, Zoho CRM Contacts\.Last_Name holds 80/)] });
    expect(zoho.admin.listRecords('Contacts').find((record) => record.CRM_Sync_Id === id)?.Last_Name).toBe('x'.repeat(80));
    const skipping = await connectTo(zoho, { mappingOverride: sourceOverride('skip') });
    const [skipped] = await skipping.bulk.upsert('contact', [{ syncId: randomUUID(), fields: { lastName: 'Skip', custom: { source: 'Billboard' } } }]);
    expect(skipped).toMatchObject({ status: 'created', adjusted: [expect.stringMatching(/^skipped: Lead_Source: "Billboard"/)] });
    await Promise.all([truncating.close(), skipping.close()]);
  });

  it('an update of a linked record needs no mandatory field', async () => {
    const connector = await connectTo(zoho);
    const [created] = await connector.upsertRecords('contact', [{ syncId: randomUUID(), fields: { lastName: 'Linked' } }]);
    const externalId = created?.status === 'created' ? created.externalId : '';
    const [updated] = await connector.upsertRecords('contact', [{ syncId: randomUUID(), externalId, fields: { title: 'CEO' } }]);
    expect(updated?.status).toBe('updated');
    await connector.close();
  });
});

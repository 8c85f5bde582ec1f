import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHarness, syncId, type Harness } from './support';

describe('Dynamics connector: values checked against the attribute metadata before the write', () => {
  let harness: Harness;
  const methodOverride = { objects: { contact: { fields: [{ canonical: 'custom.contactMethod', native: 'preferredcontactmethodcode', type: 'integer' as const }] } } };

  beforeAll(async () => {
    harness = await startHarness({ serviceProtection: { enabled: false } });
  });
  afterAll(async () => harness.stop());

  test('fails exactly the records that cannot fit, naming column, limit and record, and writes the rest of the $batch', async () => {
    const connector = await harness.connect({ mappingOverride: methodOverride });
    const ids = [syncId(), syncId(), syncId(), syncId()];
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: ids[0]!, fields: { lastName: 'Fits', custom: { contactMethod: 2 } } },
      { syncId: ids[1]!, fields: { lastName: 'L'.repeat(51) } },
      { syncId: ids[2]!, fields: { lastName: 'Choice', custom: { contactMethod: 9 } } },
      // Business required (ApplicationRequired) is not enforced by the platform: no last name is fine.
      { syncId: ids[3]!, fields: { firstName: 'Only first' } },
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'failed', 'failed', 'created']);
    expect(outcomes[1]).toMatchObject({ error: { errorClass: 'validation', message: `lastname: 51 characters, Dynamics 365 contact.lastname holds 50 (contact ${ids[1]})`, fieldErrors: [{ field: 'lastName' }] } });
    expect(outcomes[2]).toMatchObject({
      error: { errorClass: 'validation', message: `preferredcontactmethodcode: 9 is not one of the values Dynamics 365 contact.preferredcontactmethodcode accepts (1, 2, 3, 4, 5) (contact ${ids[2]})`, fieldErrors: [{ field: 'custom.contactMethod' }] },
    });
    expect(harness.sandbox.admin.listRecords('contacts').map((row) => row.crm_syncid).sort()).toEqual([ids[0], ids[3]].sort());
  });

  test('checks the bulk path too, and truncates where the tenant chose it', async () => {
    const connector = await harness.connect({ mappingOverride: { objects: { contact: { fields: [{ canonical: 'lastName', native: 'lastname', type: 'string' as const, onViolation: 'truncate' as const }] } } } });
    const id = syncId();
    const [outcome] = await connector.bulk.upsert('contact', [{ syncId: id, fields: { lastName: 'x'.repeat(60) } }]);
    expect(outcome).toMatchObject({ status: 'created', adjusted: [expect.stringMatching(/^truncated: lastname: 60 characters, Dynamics 365 contact\.lastname holds 50/)] });
    expect(harness.sandbox.admin.listRecords('contacts').find((row) => row.crm_syncid === id)?.lastname).toBe('x'.repeat(50));
  });
});

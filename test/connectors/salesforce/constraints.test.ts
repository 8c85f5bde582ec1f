import { afterAll, describe, expect, it } from 'vitest';
import { startHarness, stopAll } from './sandbox-connector';

afterAll(stopAll);

/** The tenant syncs a custom field into the org's restricted picklist Contact.Level__c. */
const levelOverride = (onViolation?: 'park' | 'truncate' | 'skip', lastNameChoice?: 'park' | 'truncate' | 'skip') => ({
  objects: {
    contact: {
      fields: [
        { canonical: 'custom.level', native: 'Level__c', type: 'string' as const, ...(onViolation ? { onViolation } : {}) },
        ...(lastNameChoice ? [{ canonical: 'lastName', native: 'LastName', type: 'string' as const, onViolation: lastNameChoice }] : []),
      ],
    },
  },
});

const writes = (snapshot: { requests: Record<string, number> }): number =>
  Object.entries(snapshot.requests)
    .filter(([route]) => route.startsWith('PATCH') || route.startsWith('POST'))
    .reduce((sum, [, count]) => sum + count, 0);

describe('Salesforce connector: values checked against describe before the write', () => {
  it('fails exactly the records that cannot fit, naming field, limit and record, and writes the rest', async () => {
    const { sandbox, connect } = await startHarness();
    const connector = await connect({ mappingOverride: levelOverride() });
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: 'fine-1', fields: { lastName: 'Fine', custom: { level: 'Primary' } } },
      { syncId: 'long-1', fields: { lastName: 'L'.repeat(97) } },
      { syncId: 'none-1', fields: { firstName: 'No last name' } },
      { syncId: 'pick-1', fields: { lastName: 'Pick', custom: { level: 'Quaternary' } } },
      { syncId: 'fine-2', fields: { lastName: 'Fine too', title: 'T'.repeat(128) } },
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'failed', 'failed', 'failed', 'created']);
    expect(outcomes[1]).toMatchObject({ status: 'failed', error: { errorClass: 'validation', message: 'LastName: 97 characters, Salesforce Contact.LastName holds 80 (contact long-1)', fieldErrors: [{ field: 'lastName' }] } });
    expect(outcomes[2]).toMatchObject({ error: { errorClass: 'validation', message: 'LastName: missing, but Salesforce Contact.LastName is required to create a record (contact none-1)' } });
    expect(outcomes[3]).toMatchObject({
      error: { errorClass: 'validation', message: 'Level__c: "Quaternary" is not one of the values Salesforce Contact.Level__c accepts (Primary, Secondary, Tertiary) (contact pick-1)', fieldErrors: [{ field: 'custom.level' }] },
    });
    expect(sandbox.admin.listRecords('Contact').map((record) => record.Sync_Id__c).sort()).toEqual(['fine-1', 'fine-2']);
  });

  it('does not send what it parks, and describes once per connection', async () => {
    const { sandbox, connect } = await startHarness();
    const connector = await connect();
    const before = sandbox.counters.snapshot();
    const outcomes = await connector.upsertRecords('contact', [{ syncId: 'long-2', fields: { lastName: 'L'.repeat(81) } }]);
    expect(outcomes[0]?.status).toBe('failed');
    await connector.upsertRecords('contact', [{ syncId: 'ok-2', fields: { lastName: 'Ok' } }]);
    const after = sandbox.counters.snapshot();
    expect(writes(after) - writes(before)).toBe(1);
    expect((after.requests['GET /services/data/:version/sobjects/:type/describe'] ?? 0) - (before.requests['GET /services/data/:version/sobjects/:type/describe'] ?? 0)).toBe(1);
  });

  it('truncates or skips where the tenant chose it, and says so in the outcome', async () => {
    const { sandbox, connect } = await startHarness();
    const connector = await connect({ mappingOverride: levelOverride('skip', 'truncate') });
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: 'cut-1', fields: { lastName: `${'x'.repeat(79)}😀tail`, custom: { level: 'Quaternary' } } },
      { syncId: 'cut-2', fields: { firstName: 'Still required' } },
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'created', adjusted: [expect.stringMatching(/^truncated: LastName: 85 characters/), expect.stringMatching(/^skipped: Level__c: "Quaternary"/)] });
    // A missing required value parks whatever the choice.
    expect(outcomes[1]).toMatchObject({ status: 'failed', error: { errorClass: 'validation' } });
    const written = sandbox.admin.listRecords('Contact').find((record) => record.Sync_Id__c === 'cut-1');
    // Cut to 79: the 80th unit would split the emoji's surrogate pair.
    expect(written).toMatchObject({ LastName: 'x'.repeat(79), Level__c: null });
  });

  it('checks the bulk path too', async () => {
    const { sandbox, connect } = await startHarness();
    const connector = await connect({ mappingOverride: levelOverride() });
    const outcomes = await connector.bulk.upsert('contact', [
      { syncId: 'bulk-ok', fields: { lastName: 'Bulk', custom: { level: 'Tertiary' } } },
      { syncId: 'bulk-long', fields: { lastName: 'L'.repeat(81) } },
      { syncId: 'bulk-pick', fields: { lastName: 'Bulk pick', custom: { level: 'None' } } },
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'failed', 'failed']);
    expect(outcomes[1]).toMatchObject({ error: { message: 'LastName: 81 characters, Salesforce Contact.LastName holds 80 (contact bulk-long)' } });
    expect(outcomes[2]?.status === 'failed' && outcomes[2].error.message).toMatch(/^Level__c: "None" is not one of the values/);
    expect(sandbox.admin.listRecords('Contact').map((record) => record.Sync_Id__c)).toEqual(['bulk-ok']);
  });
});

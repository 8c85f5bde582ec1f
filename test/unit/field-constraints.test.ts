import { describe, expect, it } from 'vitest';
import type { UpsertInput, UpsertOutcome } from '../../src/connectors/connector';
import { writeGuard } from '../../src/connectors/write-constraints';
import { checkWrite, type ObjectConstraints } from '../../src/model/field-constraints';
import { compileMapping, MappingSpecError, type ConnectorMappingSpec } from '../../src/model/mapping';

const contact: ObjectConstraints = {
  vendor: 'Salesforce',
  object: 'Contact',
  fields: [
    { name: 'LastName', maxLength: 80, requiredOnCreate: true },
    { name: 'Title', maxLength: 128 },
    { name: 'Level__c', maxLength: 255, allowedValues: ['Primary', 'Secondary'] },
  ],
};
const record = 'contact c-1';

describe('checkWrite (the one constraint check)', () => {
  it('passes values that fit, unchanged', () => {
    const values = { LastName: 'L'.repeat(80), Title: null, Level__c: 'Primary', Unconstrained: 'x'.repeat(1000) };
    expect(checkWrite(contact, values, { creating: true, record })).toEqual({ values, violations: [], adjustments: [] });
  });

  it('names field, limit and record for a value too long', () => {
    expect(checkWrite(contact, { LastName: 'L'.repeat(97) }, { creating: false, record }).violations).toEqual([
      { field: 'LastName', kind: 'too-long', message: 'LastName: 97 characters, Salesforce Contact.LastName holds 80 (contact c-1)' },
    ]);
  });

  it('requires a required field on create, and a non-empty value whenever it is written', () => {
    expect(checkWrite(contact, { Title: 'x' }, { creating: true, record }).violations).toEqual([
      { field: 'LastName', kind: 'required', message: 'LastName: missing, but Salesforce Contact.LastName is required to create a record (contact c-1)' },
    ]);
    expect(checkWrite(contact, { Title: 'x' }, { creating: false, record }).violations).toEqual([]);
    expect(checkWrite(contact, { LastName: null }, { creating: false, record }).violations.map((violation) => violation.message)).toEqual(['LastName: empty, but Salesforce Contact.LastName is required (contact c-1)']);
    expect(checkWrite(contact, { LastName: '' }, { creating: false, record }).violations).toHaveLength(1);
  });

  it('refuses a value outside the allowed values, listing them; clearing is allowed', () => {
    expect(checkWrite(contact, { LastName: 'x', Level__c: 'Tertiary' }, { creating: true, record }).violations).toEqual([
      { field: 'Level__c', kind: 'not-allowed', message: 'Level__c: "Tertiary" is not one of the values Salesforce Contact.Level__c accepts (Primary, Secondary) (contact c-1)' },
    ]);
    expect(checkWrite(contact, { Level__c: null }, { creating: false, record }).violations).toEqual([]);
    expect(checkWrite(contact, { Level__c: '' }, { creating: false, record }).violations).toEqual([]);
  });

  it('compares a choice held as a number (Dataverse option values) as its text', () => {
    const choices: ObjectConstraints = { vendor: 'Dynamics 365', object: 'contact', fields: [{ name: 'preferredcontactmethodcode', allowedValues: ['1', '2'] }] };
    expect(checkWrite(choices, { preferredcontactmethodcode: 2 }, { creating: false, record }).violations).toEqual([]);
    expect(checkWrite(choices, { preferredcontactmethodcode: 9 }, { creating: false, record }).violations.map((violation) => violation.message)).toEqual([
      'preferredcontactmethodcode: 9 is not one of the values Dynamics 365 contact.preferredcontactmethodcode accepts (1, 2) (contact c-1)',
    ]);
  });

  it('reports every breach of a record at once', () => {
    const result = checkWrite(contact, { Title: 'T'.repeat(129), Level__c: 'Nope' }, { creating: true, record });
    expect(result.violations.map((violation) => [violation.field, violation.kind])).toEqual([['LastName', 'required'], ['Title', 'too-long'], ['Level__c', 'not-allowed']]);
  });

  it('truncates or skips only where the tenant chose it, and says what it did', () => {
    const result = checkWrite(contact, { LastName: 'L'.repeat(90), Title: 'T'.repeat(130), Level__c: 'Nope' }, { creating: true, record, policies: { LastName: 'truncate', Title: 'skip', Level__c: 'skip' } });
    expect(result.violations).toEqual([]);
    expect(result.values).toEqual({ LastName: 'L'.repeat(80) });
    expect(result.adjustments.map((adjustment) => [adjustment.field, adjustment.action])).toEqual([['LastName', 'truncated'], ['Title', 'skipped'], ['Level__c', 'skipped']]);
    expect(result.adjustments[0]?.message).toBe('LastName: 90 characters, Salesforce Contact.LastName holds 80 (contact c-1)');
  });

  it('parks what truncation cannot fix (a value outside the picklist) and what skipping cannot (a missing required value)', () => {
    expect(checkWrite(contact, { LastName: 'x', Level__c: 'Nope' }, { creating: true, record, policies: { Level__c: 'truncate' } }).violations.map((violation) => violation.kind)).toEqual(['not-allowed']);
    expect(checkWrite(contact, {}, { creating: true, record, policies: { LastName: 'skip' } }).violations.map((violation) => violation.kind)).toEqual(['required']);
  });

  it('never cuts through a surrogate pair', () => {
    const result = checkWrite({ vendor: 'V', object: 'O', fields: [{ name: 'F', maxLength: 3 }] }, { F: 'ab😀c' }, { creating: false, record, policies: { F: 'truncate' } });
    expect(result.values.F).toBe('ab');
  });
});

const mappingSpec: ConnectorMappingSpec = {
  objects: {
    contact: {
      nativeObject: 'Contact',
      fields: [
        { canonical: 'lastName', native: 'LastName', type: 'string', onViolation: 'truncate' },
        { canonical: 'title', native: 'Title', type: 'string' },
        { canonical: 'custom.level', native: 'Level__c', type: 'string', onViolation: 'skip' },
      ],
    },
  },
};

describe('writeGuard (the check in front of a connector write)', () => {
  const harness = (vendorAnswer?: (inputs: readonly UpsertInput[]) => UpsertOutcome[]) => {
    const calls = { describe: 0, fresh: [] as boolean[], written: [] as UpsertInput[][] };
    const guard = writeGuard({
      provider: 'salesforce',
      mapping: compileMapping(mappingSpec),
      describe: async (_objectType, { fresh }) => {
        calls.describe += 1;
        calls.fresh.push(fresh);
        return contact;
      },
    });
    const upsert = guard(async (_objectType, inputs) => {
      calls.written.push([...inputs]);
      return vendorAnswer ? vendorAnswer(inputs) : inputs.map((input) => ({ syncId: input.syncId, status: 'created' as const, externalId: `x-${input.syncId}` }));
    });
    return { calls, upsert };
  };

  it('fails the records that cannot fit without sending them, in input order, and sends the others', async () => {
    const { calls, upsert } = harness();
    const outcomes = await upsert('contact', [
      { syncId: 'a', fields: { lastName: 'A' } },
      { syncId: 'b', fields: { title: 'T'.repeat(200) } },
      { syncId: 'c', fields: { lastName: 'C' } },
    ]);
    expect(outcomes.map((outcome) => [outcome.syncId, outcome.status])).toEqual([['a', 'created'], ['b', 'failed'], ['c', 'created']]);
    expect(outcomes[1]).toMatchObject({ error: { provider: 'salesforce', errorClass: 'validation', fieldErrors: [{ field: 'lastName' }, { field: 'title' }] } });
    expect(calls.written).toEqual([[{ syncId: 'a', fields: { lastName: 'A' } }, { syncId: 'c', fields: { lastName: 'C' } }]]);
  });

  it('writes the adjusted canonical fields and reports them with the outcome', async () => {
    const { calls, upsert } = harness();
    const [outcome] = await upsert('contact', [{ syncId: 'a', fields: { lastName: 'L'.repeat(81), custom: { level: 'Nope', other: 1 } } }]);
    const sent = { lastName: 'L'.repeat(80), custom: { other: 1 } };
    expect(calls.written).toEqual([[{ syncId: 'a', fields: sent }]]);
    expect(outcome).toMatchObject({ status: 'created', written: sent, adjusted: [expect.stringMatching(/^truncated: LastName/), expect.stringMatching(/^skipped: Level__c/)] });
  });

  it('describes once, and again after the vendor refused a field the check let through (its schema changed)', async () => {
    let refuse = true;
    const { calls, upsert } = harness((inputs) =>
      inputs.map((input) =>
        refuse ? { syncId: input.syncId, status: 'failed' as const, error: { provider: 'salesforce' as const, errorClass: 'validation' as const, message: 'STRING_TOO_LONG', fieldErrors: [{ field: 'title', message: 'too long' }] } } : { syncId: input.syncId, status: 'created' as const, externalId: 'x' },
      ),
    );
    await upsert('contact', [{ syncId: 'a', fields: { lastName: 'A', title: 'T' } }]);
    expect(calls.describe).toBe(1);
    refuse = false;
    await upsert('contact', [{ syncId: 'b', fields: { lastName: 'B' } }]);
    expect(calls.describe).toBe(2);
    await upsert('contact', [{ syncId: 'c', fields: { lastName: 'C' } }]);
    expect(calls.describe).toBe(2);
    // The second describe is asked fresh: a connector's own cache of the schema must not answer it.
    expect(calls.fresh).toEqual([false, true]);
  });
});

describe('mapping option onViolation', () => {
  it('is validated: truncate only for strings, never on a read-only mapping, only the known choices', () => {
    const bad = (field: Record<string, unknown>) => () => compileMapping({ objects: { contact: { nativeObject: 'Contact', fields: [{ canonical: 'lastName', native: 'LastName', type: 'string', ...field }] } } });
    expect(bad({ onViolation: 'cut' })).toThrow(MappingSpecError);
    expect(bad({ onViolation: 'skip', direction: 'read' })).toThrow(/onViolation applies to writes/);
    expect(() => compileMapping({ objects: { company: { nativeObject: 'Account', fields: [{ canonical: 'employeeCount', native: 'NumberOfEmployees', type: 'integer', onViolation: 'truncate' }] } } })).toThrow(
      /objects\.company\.fields\[0\]\.onViolation: truncate applies only to string fields, not integer/,
    );
    expect(() => compileMapping(mappingSpec)).not.toThrow();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileMapping, MappingSpecError, toCanonical, toNative, type ConnectorMappingSpec, type FieldMappingSpec } from '../../src/model/mapping';
import { dealStages } from '../../src/model/canonical';

const dealMapping = (encoding: 'json' | 'strings', closeDate: Partial<FieldMappingSpec> = {}): ConnectorMappingSpec => ({
  valueEncoding: encoding,
  objects: {
    deal: {
      nativeObject: 'Opportunity',
      fields: [
        { canonical: 'name', native: 'Name', type: 'string' },
        { canonical: 'amount', native: 'Amount', type: 'number' },
        { canonical: 'probability', native: 'Probability', type: 'number' },
        { canonical: 'closeDate', native: 'CloseDate', type: 'date', ...closeDate },
        {
          canonical: 'stage',
          native: 'StageName',
          type: 'picklist',
          values: { Prospecting: 'prospecting', Qualification: 'qualification', Proposal: 'proposal', Negotiation: 'negotiation', 'Closed Won': 'closed-won', 'Closed Lost': 'closed-lost' },
        },
        { canonical: 'custom.regions', native: 'Regions__c', type: 'multiselect', values: { EMEA: 'emea', APAC: 'apac', AMER: 'amer' } },
        { canonical: 'custom.strategic', native: 'Strategic__c', type: 'boolean' },
        { canonical: 'custom.reviewedAt', native: 'Reviewed_At__c', type: 'datetime' },
      ],
    },
  },
});

function issuesOf(defaults: ConnectorMappingSpec, override?: unknown): { path: string; message: string }[] {
  try {
    compileMapping(defaults, override);
  } catch (error) {
    if (error instanceof MappingSpecError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a MappingSpecError');
}

describe('mapping round trip (canonical -> native -> canonical is identity)', () => {
  const canonicalDeal = fc.record(
    {
      name: fc.option(fc.string({ minLength: 1 }), { nil: null }),
      // -0 becomes 0: JSON (snapshots, Temporal payloads) cannot carry it either.
      amount: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).map((n) => n + 0), { nil: null }),
      probability: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
      closeDate: fc.option(
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2199-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
        { nil: null },
      ),
      stage: fc.option(fc.constantFrom(...dealStages), { nil: null }),
      custom: fc.record({
        regions: fc.uniqueArray(fc.constantFrom('emea', 'apac', 'amer'), { minLength: 1 }),
        strategic: fc.option(fc.boolean(), { nil: null }),
        reviewedAt: fc.option(
          fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2199-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
          { nil: null },
        ),
      }),
    },
    { requiredKeys: [] },
  );

  const variants: [string, ConnectorMappingSpec][] = [
    ['JSON values (Salesforce, Dynamics)', dealMapping('json')],
    ['string values (HubSpot)', dealMapping('strings')],
    ['a date held in a vendor datetime, Berlin calendar', dealMapping('strings', { format: 'datetime', timeZone: 'Europe/Berlin' })],
    ['a date held as epoch ms, Auckland calendar', dealMapping('strings', { format: 'epoch-ms', timeZone: 'Pacific/Auckland' })],
    ['a date held in a vendor datetime, Sao Paulo calendar (DST at midnight in the past)', dealMapping('json', { format: 'datetime', timeZone: 'America/Sao_Paulo' })],
  ];

  for (const [name, spec] of variants) {
    it(name, () => {
      const mapping = compileMapping(spec);
      fc.assert(
        fc.property(canonicalDeal, (deal) => {
          const native = toNative(mapping, 'deal', deal);
          expect(toCanonical(mapping, 'deal', native).fields).toEqual(deal);
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('value conversions', () => {
  it('reads what the vendors send into canonical form', () => {
    const mapping = compileMapping(dealMapping('strings', { format: 'datetime', timeZone: 'America/New_York' }));
    const read = toCanonical(mapping, 'deal', {
      Name: 'Renewal',
      Amount: '1250.5',
      Probability: '',
      CloseDate: '2026-03-01T05:00:00.000Z', // midnight in New York
      StageName: 'Closed Won',
      Regions__c: 'EMEA;AMER',
      Strategic__c: 'true',
      Reviewed_At__c: '2026-02-03T04:05:06.000+0000',
    });
    expect(read.fields).toEqual({
      name: 'Renewal',
      amount: 1250.5,
      probability: null,
      closeDate: '2026-03-01',
      stage: 'closed-won',
      custom: { regions: ['emea', 'amer'], strategic: true, reviewedAt: '2026-02-03T04:05:06.000Z' },
    });
  });

  it('writes only the fields present, so a partial delta stays partial', () => {
    const mapping = compileMapping(dealMapping('json'));
    expect(toNative(mapping, 'deal', { amount: 10, stage: 'proposal' })).toEqual({ Amount: 10, StageName: 'Proposal' });
    expect(toNative(mapping, 'deal', { name: null })).toEqual({ Name: null });
    // Empty text and an empty multi-select are "no value" in every CRM here.
    expect(toNative(mapping, 'deal', { name: '', custom: { regions: [] } })).toEqual({ Name: null, Regions__c: null });
    expect(toCanonical(mapping, 'deal', { Name: '', Regions__c: '' }).fields).toEqual({ name: null, custom: { regions: null } });
  });

  it('names the field and the value it cannot convert', () => {
    const mapping = compileMapping(dealMapping('json'));
    expect(() => toCanonical(mapping, 'deal', { StageName: 'Stalled' })).toThrow(
      'StageName: vendor value is not in the picklist map (known: Prospecting, Qualification, Proposal, Negotiation, Closed Won, Closed Lost) (got "Stalled")',
    );
    expect(() => toCanonical(mapping, 'deal', { Amount: 'lots' })).toThrow('Amount: expected a number (got text of 4 characters)');
    expect(() => toNative(mapping, 'deal', { closeDate: '01/03/2026' })).toThrow('closeDate: expected a date as YYYY-MM-DD (got text of 10 characters)');
  });
});

describe('compileMapping', () => {
  it('applies a tenant override: custom field added, default replaced, field removed', () => {
    const mapping = compileMapping(dealMapping('json'), {
      objects: {
        deal: {
          fields: [
            { canonical: 'custom.companyCode', native: 'Company__c', type: 'string' },
            { canonical: 'stage', native: 'StageName', type: 'picklist', values: { Open: 'prospecting', Won: 'closed-won', Lost: 'closed-lost' } },
          ],
          remove: ['probability'],
        },
      },
    });
    expect(toNative(mapping, 'deal', { stage: 'closed-won', custom: { companyCode: 'ACME-7' }, probability: 50 })).toEqual({ StageName: 'Won', Company__c: 'ACME-7' });
  });

  it('reports every bad entry with its path and the reason', () => {
    const defaults: ConnectorMappingSpec = {
      objects: {
        contact: {
          nativeObject: 'Contact',
          fields: [
            { canonical: 'emial', native: 'Email', type: 'string' },
            { canonical: 'email', native: 'Email', type: 'number' },
            { canonical: 'firstName', native: 'FirstName', type: 'string', timeZone: 'Mars/Olympus' },
          ],
        },
        deal: {
          nativeObject: 'Opportunity',
          fields: [
            { canonical: 'stage', native: 'StageName', type: 'picklist', values: { Won: 'closed-won', Booked: 'closed-won', Dead: 'lost' } },
            { canonical: 'amount', native: 'Amount', type: 'number' },
            { canonical: 'amount', native: 'Amount_2__c', type: 'number' },
          ],
        },
      },
    };
    expect(issuesOf(defaults)).toEqual([
      { path: 'objects.contact.fields[0].canonical', message: 'contact has no canonical field "emial" (known: firstName, lastName, email, phone, mobilePhone, title, city, country, owner; tenant fields go under custom.<name>)' },
      { path: 'objects.contact.fields[1].type', message: 'contact.email cannot be mapped as number (use string)' },
      { path: 'objects.contact.fields[2].timeZone', message: '"Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin)' },
      { path: 'objects.contact.fields[1]', message: 'objects.contact.fields[0] already writes vendor field "Email"' },
      { path: 'objects.deal.fields[0].values.Dead', message: '"lost" is not a deal.stage value (use one of prospecting, qualification, proposal, negotiation, closed-won, closed-lost)' },
      {
        path: 'objects.deal.fields[0].values.Booked',
        message: 'both "Won" and "Booked" map to "closed-won", so a write could not choose; keep one here and read the other through a separate mapping with direction "read"',
      },
      { path: 'objects.deal.fields[2]', message: 'objects.deal.fields[1] already reads into "amount"' },
    ]);
  });

  it('reports schema errors in an override with the override path', () => {
    expect(issuesOf(dealMapping('json'), { objects: { deal: { fields: [{ canonical: 'amount', native: '', type: 'money' }] } } })).toEqual([
      { path: 'override.objects.deal.fields[0].native', message: 'must name the vendor field' },
      { path: 'override.objects.deal.fields[0].type', message: 'Invalid option: expected one of "string"|"number"|"integer"|"boolean"|"date"|"datetime"|"picklist"|"multiselect"|"owner"' },
    ]);
    expect(issuesOf(dealMapping('json'), { objects: { deal: { remove: ['nope'] }, contact: { fields: [] } } })).toEqual([
      { path: 'override.objects.deal.remove[0]', message: '"nope" is not mapped, so it cannot be removed' },
      { path: 'override.objects.contact.nativeObject', message: 'the defaults do not map contact, so the override must name the vendor object' },
    ]);
  });

  it('lists vendor fields nothing maps when asked to report them', () => {
    const mapping = compileMapping({ objects: { company: { nativeObject: 'Account', unmapped: 'report', fields: [{ canonical: 'name', native: 'Name', type: 'string' }] } } });
    expect(toCanonical(mapping, 'company', { Name: 'Acme', Tier__c: 'Gold' })).toEqual({ fields: { name: 'Acme' }, unmapped: ['Tier__c'] });
  });
});

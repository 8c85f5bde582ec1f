import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dynamicsDefaultMapping } from '../../src/connectors/dynamics/default-mapping';
import { hubspotDefaultMapping } from '../../src/connectors/hubspot/default-mapping';
import { salesforceDefaultMapping } from '../../src/connectors/salesforce/default-mapping';
import { canonicalFieldKinds } from '../../src/model/canonical';
import type { ObjectType } from '../../src/model/identifiers';
import { compileMapping, toCanonical, toNative, type ConnectorMappingSpec, type FieldMapping } from '../../src/model/mapping';

/** A canonical value a field of this mapping can hold. */
function arbitraryFor(objectType: ObjectType, field: FieldMapping): fc.Arbitrary<unknown> {
  const instant = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2199-12-31T00:00:00Z'), noInvalidDate: true });
  const canonicalValues = field.values ? [...new Set(Object.values(field.values))] : canonicalFieldKinds[objectType][field.canonical]?.values;
  const value = ((): fc.Arbitrary<unknown> => {
    switch (field.type) {
      case 'string':
        return field.canonical === 'email' ? fc.emailAddress() : fc.string({ minLength: 1 });
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).map((n) => n + 0);
      case 'integer':
        return fc.integer({ min: 0, max: 1_000_000 });
      case 'boolean':
        return fc.boolean();
      case 'date':
        return instant.map((d) => d.toISOString().slice(0, 10));
      case 'datetime':
        return instant.map((d) => d.toISOString());
      case 'picklist':
        return canonicalValues ? fc.constantFrom(...canonicalValues) : fc.string({ minLength: 1 });
      case 'multiselect':
        return fc.uniqueArray(canonicalValues ? fc.constantFrom(...canonicalValues) : fc.stringMatching(/^[a-z]{1,8}$/), { minLength: 1 });
      case 'owner':
        return fc.emailAddress().map((email) => email.toLowerCase());
    }
  })();
  return fc.option(value, { nil: null });
}

function canonicalRecords(objectType: ObjectType, fields: readonly FieldMapping[]): fc.Arbitrary<Record<string, unknown>> {
  const plain = fields.filter((field) => !field.canonical.startsWith('custom.'));
  const custom = fields.filter((field) => field.canonical.startsWith('custom.'));
  return fc
    .tuple(
      fc.record(Object.fromEntries(plain.map((field) => [field.canonical, arbitraryFor(objectType, field)])), { requiredKeys: [] }),
      fc.record(Object.fromEntries(custom.map((field) => [field.canonical.slice('custom.'.length), arbitraryFor(objectType, field)])), { requiredKeys: [] }),
    )
    .map(([record, customFields]) => (Object.keys(customFields).length > 0 ? { ...record, custom: customFields } : record));
}

const defaults: [string, ConnectorMappingSpec][] = [
  ['salesforce', salesforceDefaultMapping],
  ['hubspot', hubspotDefaultMapping],
  ['dynamics', dynamicsDefaultMapping],
];

describe.each(defaults)('%s default mapping', (_name, spec) => {
  const mapping = compileMapping(spec);
  const objects = Object.entries(mapping.objects) as [ObjectType, NonNullable<(typeof mapping.objects)[ObjectType]>][];

  it('maps every object type', () => {
    expect(objects.map(([objectType]) => objectType).sort()).toEqual(['activity', 'company', 'contact', 'deal']);
  });

  it.each(objects.map(([objectType]) => objectType))('round-trips every field it both reads and writes: %s', (objectType) => {
    const object = mapping.objects[objectType];
    const twoWay = (object?.writes ?? []).filter((field) => field.direction === 'both');
    expect(twoWay.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(canonicalRecords(objectType, twoWay), (record) => {
        expect(toCanonical(mapping, objectType, toNative(mapping, objectType, record)).fields).toEqual(record);
      }),
      { numRuns: 200 },
    );
  });
});

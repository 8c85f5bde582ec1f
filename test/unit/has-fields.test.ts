import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalFields } from '../../src/model/canonical';
import { flattenFields, hasFields } from '../../src/model/sync';

describe('hasFields', () => {
  it('says whether flattenFields holds any field', () => {
    // Values read from a CRM are not checked against the type: a `custom` that is no object is a field too.
    const cases = [undefined, {}, { custom: {} }, { custom: { tier: 'gold' } }, { custom: null }, { custom: [] }, { email: undefined }, { email: null, custom: {} }] as (CanonicalFields | undefined)[];
    for (const fields of cases) {
      expect(hasFields(fields)).toBe(flattenFields(fields).size > 0);
    }
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('email', 'phone', 'custom'), fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 2 }))), (fields) => {
        expect(hasFields(fields as CanonicalFields)).toBe(flattenFields(fields as CanonicalFields).size > 0);
      }),
    );
  });
});

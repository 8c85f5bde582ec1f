import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalFields } from '../../src/model/canonical';
import { flattenFields, hasFields, overlayFields, unflattenFields } from '../../src/model/sync';

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

describe('overlayFields', () => {
  // What overlayFields was before its shortcut for an empty side: every case must come out alike.
  const general = (base: CanonicalFields | undefined, over: CanonicalFields | undefined) => unflattenFields(new Map([...flattenFields(base), ...flattenFields(over)]));
  const fields = fc.option(
    fc.dictionary(fc.constantFrom('email', 'phone', '1', 'custom', 'custom.tier'), fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 2 }))),
    { nil: undefined },
  );

  it('lays one record on another as field paths do, an empty side included', () => {
    fc.assert(
      fc.property(fields, fields, (base, over) => {
        const [b, o] = [base as CanonicalFields | undefined, over as CanonicalFields | undefined];
        for (const [x, y] of [[b, o], [undefined, o], [{}, o], [b, undefined], [b, {}]] as const) {
          const laid = overlayFields(x, y);
          expect(laid).toStrictEqual(general(x, y));
          expect(Object.keys(laid)).toEqual(Object.keys(general(x, y)));
          // A copy, never one of the inputs: callers keep what they laid.
          expect(laid === x || laid === y).toBe(false);
        }
      }),
    );
  });
});

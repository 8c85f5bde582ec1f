import { describe, expect, it } from 'vitest';
import { canonicalWrites, emptyCanonicalRecord, mergeObservation, objectConflictPoliciesSchema, observedReferenceFields, referencesHeld, referencesToWrite, unreadReferenceFields } from '../../src/model/sync';

const latest = objectConflictPoliciesSchema.parse({});
const at = (second: number) => `2026-12-06T10:00:${String(second).padStart(2, '0')}.000Z`;
const observe = (connectionId: string, second: number, fields: Record<string, unknown>, held: Record<string, unknown> | undefined) => ({ connectionId, at: at(second), precisionMs: 1000, fields, held });

describe('associations as canonical fields', () => {
  it('reads a many slot as one field per member, and a member the connection held and no longer has as a removal', () => {
    expect(observedReferenceFields('deal', { contacts: ['c1', 'c2'], company: 'a1' }, undefined)).toEqual({ '@contacts:c1': true, '@contacts:c2': true, '@company': 'a1' });
    expect(observedReferenceFields('deal', { contacts: ['c2'] }, { '@contacts:c1': true, '@contacts:c2': true, '@company': 'a1' })).toEqual({ '@contacts:c1': null, '@contacts:c2': true });
    // A slot the read did not carry is not read: nothing removed, and the snapshot keeps what was held.
    expect(observedReferenceFields('deal', {}, { '@contacts:c1': true })).toEqual({});
    expect(unreadReferenceFields('deal', { company: 'a1' }, { '@contacts:c1': true, '@company': 'a0', name: 'x' })).toEqual({ '@contacts:c1': true });
  });

  it('keeps a contact added to a deal in one CRM and another added in a second CRM: each link is its own field', () => {
    const held = { '@contacts:c1': true };
    let canonical = mergeObservation(emptyCanonicalRecord(), observe('sf', 1, held, undefined), latest).canonical;
    canonical = mergeObservation(canonical, observe('hs', 1, held, held), latest).canonical;
    canonical = mergeObservation(canonical, observe('sf', 5, observedReferenceFields('deal', { contacts: ['c1', 'c2'] }, held), held), latest).canonical;
    const merged = mergeObservation(canonical, observe('hs', 6, observedReferenceFields('deal', { contacts: ['c1', 'c3'] }, held), held), latest);
    expect(merged.decisions).toEqual([]);
    expect(merged.canonical.fields).toEqual({ '@contacts:c1': true, '@contacts:c2': true, '@contacts:c3': true });
  });

  it('removes a link everywhere once a connection that held it drops it, and never removes one a connection never held', () => {
    const held = { '@contacts:c1': true, '@contacts:c2': true };
    let canonical = mergeObservation(emptyCanonicalRecord(), observe('sf', 1, held, undefined), latest).canonical;
    // A connection that never held c2 reports a set without it: nothing removed.
    canonical = mergeObservation(canonical, observe('dyn', 2, observedReferenceFields('deal', { contacts: ['c1'] }, undefined), undefined), latest).canonical;
    expect(canonical.fields).toEqual(held);
    canonical = mergeObservation(canonical, observe('sf', 3, observedReferenceFields('deal', { contacts: ['c1'] }, held), held), latest).canonical;
    expect(canonical.fields).toEqual({ '@contacts:c1': true, '@contacts:c2': null });
    // The target that holds c2 is told to drop it; one that never had it is told nothing.
    expect(canonicalWrites(canonical, { current: held, held }, latest)).toEqual({ '@contacts:c2': null });
    expect(canonicalWrites(canonical, { current: { '@contacts:c1': true }, held: undefined }, latest)).toEqual({});
  });

  it('decides a company changed in two CRMs at once by the field rules (the later edit wins)', () => {
    const held = { '@company': 'a1' };
    let canonical = mergeObservation(emptyCanonicalRecord(), observe('sf', 1, held, undefined), latest).canonical;
    canonical = mergeObservation(canonical, observe('sf', 5, { '@company': 'a2' }, held), latest).canonical;
    const merged = mergeObservation(canonical, observe('hs', 9, { '@company': 'a3' }, held), latest);
    expect(merged.decisions).toHaveLength(1);
    expect(merged.canonical.fields['@company']).toBe('a3');
  });

  it('takes a slot policy for every member of the slot', () => {
    const owner = objectConflictPoliciesSchema.parse({ fields: { '@contacts': { kind: 'owner', connectionId: 'sf' } } });
    const merged = mergeObservation(emptyCanonicalRecord(), observe('hs', 1, { '@contacts:c9': true }, undefined), owner);
    expect(merged.refused).toEqual(['@contacts:c9']);
  });

  it('writes a many slot as the whole set the target must hold, and leaves a link to a record the target lacks pending', () => {
    const targetIds = new Map([
      ['c1', 't1'],
      ['c2', 't2'],
      ['a1', 'ta'],
    ]);
    const result = referencesToWrite('deal', { name: 'Deal', '@contacts:c2': null, '@contacts:c3': true, '@contacts:c1': true, '@company': 'a1', '@primaryContact': 'c3' }, { contacts: ['t2', 'tx'] }, (id) => targetIds.get(id));
    // tx: a link the target holds that the canonical record cannot name is left as it is.
    expect(result.references).toEqual({ contacts: ['t1', 'tx'], company: 'ta' });
    expect(result.pending).toEqual([
      { slot: 'primaryContact', canonicalId: 'c3' },
      { slot: 'contacts', canonicalId: 'c3' },
    ]);
    expect(result.unwritten.sort()).toEqual(['@contacts:c3', '@primaryContact']);
    // A single slot is cleared only where the target holds a link now (one it did not report may share a vendor field with another slot).
    expect(referencesToWrite('contact', { '@company': null }, { company: 'ta' }, () => undefined).references).toEqual({ company: null });
    expect(referencesToWrite('activity', { '@company': null }, { deal: 'td' }, () => undefined).references).toEqual({});
  });

  it('tells what a connection was last known to hold, in its ids, from its snapshot', () => {
    const ids = new Map([['c1', 't1'], ['a1', 'ta']]);
    expect(referencesHeld('deal', { name: 'x', '@company': 'a1', '@contacts:c1': true, '@contacts:c2': true, '@contacts:c3': null }, (id) => ids.get(id))).toEqual({ company: 'ta', contacts: ['t1'] });
  });
});

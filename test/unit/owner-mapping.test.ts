import { describe, expect, it } from 'vitest';
import { canonicalFieldSchemas } from '../../src/model/canonical';
import { compileMapping, MappingSpecError, readOwner, toCanonical, toNative, unwrittenOwner, writeOwner, type ConnectorMappingSpec, type FieldMappingSpec } from '../../src/model/mapping';

const owner = (extra: Partial<FieldMappingSpec> = {}): FieldMappingSpec => ({ canonical: 'owner', native: 'OwnerId', type: 'owner', ...extra });
const defaults = (fields: FieldMappingSpec[] = [owner()]): ConnectorMappingSpec => ({
  valueEncoding: 'json',
  objects: { deal: { nativeObject: 'Opportunity', fields: [{ canonical: 'name', native: 'Name', type: 'string' }, ...fields] } },
});
const ADA = '005000000000001AAA';
const GRACE = '005000000000002AAA';
const owners = { [ADA]: 'Ada@Example.com', [GRACE]: 'grace@example.com' };

describe('owner rules', () => {
  it('without an owner map there is no owner field: nothing read, nothing written, nothing said', () => {
    const mapping = compileMapping(defaults());
    expect(toCanonical(mapping, 'deal', { Name: 'A', OwnerId: ADA }).fields).toEqual({ name: 'A' });
    expect(toNative(mapping, 'deal', { name: 'A', owner: 'ada@example.com' })).toEqual({ Name: 'A' });
    expect(unwrittenOwner(mapping, 'deal', { owner: 'ada@example.com' })).toBe(false);
  });

  it('reads a mapped user id as the lower-cased email and writes the email back as that id', () => {
    const mapping = compileMapping(defaults(), { owners });
    expect(toCanonical(mapping, 'deal', { Name: 'A', OwnerId: ADA }).fields).toEqual({ name: 'A', owner: 'ada@example.com' });
    expect(toNative(mapping, 'deal', { owner: 'ADA@example.com' })).toEqual({ OwnerId: ADA });
    expect(canonicalFieldSchemas.deal.safeParse({ owner: 'ada@example.com' }).success).toBe(true);
    expect(canonicalFieldSchemas.deal.safeParse({ owner: 'Ada@example.com' }).success).toBe(false);
  });

  it('an id the map does not name is not read: the field is absent, so nothing is erased anywhere', () => {
    const mapping = compileMapping(defaults(), { owners });
    for (const raw of ['005000000000009AAA', null, '', { name: 'no id' }]) {
      expect(toCanonical(mapping, 'deal', { Name: 'A', OwnerId: raw }).fields).toEqual({ name: 'A' });
    }
  });

  it('an email no id is mapped to is not written, and the write says so', () => {
    const mapping = compileMapping(defaults(), { owners });
    expect(toNative(mapping, 'deal', { name: 'A', owner: 'alan@example.com' })).toEqual({ Name: 'A' });
    expect(unwrittenOwner(mapping, 'deal', { owner: 'alan@example.com' })).toBe(true);
    expect(unwrittenOwner(mapping, 'deal', { owner: 'grace@example.com' })).toBe(false);
    expect(unwrittenOwner(mapping, 'deal', { name: 'no owner given' })).toBe(false);
  });

  it('reads every vendor shape of a user id and writes the one each vendor takes', () => {
    const map = { '17': 'ada@example.com', '3f2504e0-4f89-11d3-9a0c-0305e82c3301': 'grace@example.com' };
    expect(readOwner(map, 17)).toBe('ada@example.com'); // Pipedrive v2
    expect(readOwner(map, { id: 17, name: 'Ada', email: 'ada@example.com', value: 17 })).toBe('ada@example.com'); // Pipedrive v1 expanded
    expect(readOwner(map, { id: '17', name: 'Ada' })).toBe('ada@example.com'); // Zoho Owner
    expect(readOwner(map, '3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toBe('grace@example.com'); // Dataverse _ownerid_value
    expect(writeOwner(map, 'number', 'ada@example.com')).toBe(17);
    expect(writeOwner(map, 'object', 'ada@example.com')).toEqual({ id: '17' });
    expect(writeOwner(map, 'systemuser-bind', 'grace@example.com')).toBe('/systemusers(3f2504e0-4f89-11d3-9a0c-0305e82c3301)');
    expect(writeOwner(map, 'id', 'nobody@example.com')).toBeUndefined();
  });

  it('refuses at load what could only fail later: a bad email, two ids for one email, an owner field of the wrong type', () => {
    const issues = (spec: ConnectorMappingSpec, override: unknown): unknown => {
      try {
        compileMapping(spec, override);
        return [];
      } catch (error) {
        if (error instanceof MappingSpecError) return error.issues;
        throw error;
      }
    };
    expect(issues(defaults(), { owners: { [ADA]: 'not-an-email' } })).toEqual([{ path: `override.owners.${ADA}`, message: "must be the user's email" }]);
    expect(issues(defaults(), { owners: { [ADA]: 'ada@example.com', [GRACE]: 'ADA@example.com' } })).toEqual([
      { path: `override.owners.${GRACE}`, message: `users ${ADA}, ${GRACE} all map to ada@example.com, so a write could not choose: keep one` },
    ]);
    expect(issues(defaults([owner({ type: 'string' })]), { owners })).toEqual([{ path: 'objects.deal.fields[1].type', message: 'deal.owner cannot be mapped as string (use owner)' }]);
    expect(issues(defaults([owner({ ownerFormat: 'number' }), { canonical: 'amount', native: 'Amount', type: 'number', ownerFormat: 'id' }]), { owners })).toEqual([
      { path: 'objects.deal.fields[2].ownerFormat', message: 'ownerFormat applies only to owner fields, not number' },
    ]);
  });
});

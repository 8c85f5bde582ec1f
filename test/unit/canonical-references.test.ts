import { describe, expect, it } from 'vitest';
import { canonicalReferencesOf, type ReferenceLookup } from '../../src/activities/canonical-sync';
import type { ExternalRecord } from '../../src/connectors/connector';
import type { ObjectType } from '../../src/model/identifiers';

/**
 * A target copy's links translated to canonical ids. Pipedrive numbers organizations and persons
 * each on their own, so organization 1 and person 1 are different records with one id: mixing them
 * made a deal's company read back as its contact, and the engine took the mismatch for a person's
 * edit and erased the link everywhere (issue #14, acceptance 2).
 */
describe('canonicalReferencesOf', () => {
  const links: Record<string, Record<string, string>> = {
    company: { '1': 'canonical-org-1' },
    contact: { '1': 'canonical-person-1', '2': 'canonical-person-2' },
  };
  const lookup: ReferenceLookup = {
    targetIdsOf: () => Promise.resolve(new Map()),
    canonicalIdsOf: (objectType: ObjectType, targetIds: readonly string[]) =>
      Promise.resolve(new Map(targetIds.flatMap((id) => (links[objectType]?.[id] ? [[id, links[objectType][id]] as [string, string]] : [])))),
  };
  const deal: ExternalRecord = {
    objectType: 'deal',
    externalId: '7',
    syncId: null,
    modifiedAt: '2026-12-06T00:00:00.000Z',
    fields: { name: 'Pipe deal' },
    references: { company: '1', primaryContact: '1', contacts: ['1', '2'] },
  };

  it('keeps a company and a contact that share an id apart, whether known before the read or looked up', async () => {
    const expected = { company: 'canonical-org-1', primaryContact: 'canonical-person-1', contacts: ['canonical-person-1', 'canonical-person-2'] };
    const lookedUp = await canonicalReferencesOf('deal', new Map([[deal.externalId, deal]]), { related: [], targetIds: new Map() }, lookup);
    expect(lookedUp.get('7')).toEqual(expected);

    const related = [
      { objectType: 'contact' as const, canonicalId: 'canonical-person-1' },
      { objectType: 'company' as const, canonicalId: 'canonical-org-1' },
      { objectType: 'contact' as const, canonicalId: 'canonical-person-2' },
    ];
    const targetIds = new Map([
      ['canonical-person-1', '1'],
      ['canonical-org-1', '1'],
      ['canonical-person-2', '2'],
    ]);
    const known = await canonicalReferencesOf('deal', new Map([[deal.externalId, deal]]), { related, targetIds }, lookup);
    expect(known.get('7')).toEqual(expected);
  });

  it('leaves out a link to a record not linked at all, and reads an empty slot as none', async () => {
    const copy: ExternalRecord = { ...deal, references: { company: '9', primaryContact: null, contacts: ['2', '8'] } };
    const translated = await canonicalReferencesOf('deal', new Map([[copy.externalId, copy]]), { related: [], targetIds: new Map() }, lookup);
    expect(translated.get('7')).toEqual({ primaryContact: null, contacts: ['canonical-person-2'] });
  });
});

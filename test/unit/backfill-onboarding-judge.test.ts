import { describe, expect, it } from 'vitest';
import {
  comparedContactFields,
  evaluateOnboarding,
  ONBOARDING_CRMS,
  planPopulation,
  type ContactCopy,
  type OnboardingCrm,
  type PersonValues,
} from '../support/onboarding-population';

/**
 * The judge of test/e2e/backfill-onboarding.test.ts on data alone: the population it plans, and
 * that it passes a correct merge and flags each way of getting one wrong.
 */
const fields = comparedContactFields();
const T0 = Date.parse('2026-01-05T10:00:00.000Z');

function copy(crm: OnboardingCrm, values: PersonValues, at: number, id = `${crm}-${values.email}`): ContactCopy {
  const normalised = Object.fromEntries(Object.entries(values).map(([field, value]) => [field, field === 'email' ? value.toLowerCase() : value]));
  const from = crm === 'dynamics' ? Math.floor(at / 1000) * 1000 : at;
  return { crm, id, person: normalised.email ?? '', values: normalised, stamp: { from, to: crm === 'dynamics' ? from + 1000 : at + 1 } };
}

describe('onboarding judge', () => {
  it('compares the string fields all three default contact mappings carry', () => {
    expect([...fields.salesforce]).toEqual([
      ['firstName', 'FirstName'],
      ['lastName', 'LastName'],
      ['email', 'Email'],
      ['phone', 'Phone'],
      ['mobilePhone', 'MobilePhone'],
      ['title', 'Title'],
      ['city', 'MailingCity'],
      ['country', 'MailingCountry'],
    ]);
    expect(fields.hubspot.get('title')).toBe('jobtitle');
    expect(fields.dynamics.get('email')).toBe('emailaddress1');
  });

  it('plans the same population from the same seed: 30 % in HubSpot, 20 % in Dynamics, 10 % in all three, copies differing every way', () => {
    const plan = planPopulation(600, 7);
    expect(planPopulation(600, 7)).toEqual(plan);
    expect(planPopulation(600, 8)).not.toEqual(plan);
    const people = plan.people;
    expect(people.filter((person) => person.hubspot)).toHaveLength(180);
    expect(people.filter((person) => person.dynamics)).toHaveLength(120);
    expect(people.filter((person) => person.hubspot && person.dynamics)).toHaveLength(60);
    expect(new Set(people.map((person) => person.salesforce.email?.toLowerCase())).size).toBe(600);
    const copies = people.flatMap((person) => [person.hubspot, person.dynamics].flatMap((planned) => (planned ? [{ person, planned }] : [])));
    const count = (test: (source: PersonValues, values: PersonValues) => boolean): number => copies.filter(({ person, planned }) => test(person.salesforce, planned.values)).length;
    expect(count((source, values) => source.phone !== undefined && values.phone === undefined)).toBeGreaterThan(10); // lacks a phone
    expect(count((source, values) => source.title !== undefined && values.title === undefined)).toBeGreaterThan(10); // lacks a title
    expect(count((source, values) => Object.keys(values).some((field) => source[field] === undefined))).toBeGreaterThan(30); // has what Salesforce lacks
    expect(count((source, values) => source.title !== undefined && values.title !== undefined && values.title !== source.title)).toBeGreaterThan(10);
    expect(count((source, values) => values.email !== source.email && values.email?.toLowerCase() === source.email?.toLowerCase())).toBeGreaterThan(100);
    expect(copies.filter(({ planned }) => planned.when === 'before').length).toBeGreaterThan(100);
    expect(copies.filter(({ planned }) => planned.when === 'after').length).toBeGreaterThan(100);
    expect(people.filter((person) => person.salesforceEdit).length).toBeGreaterThan(30);
  });

  it('passes a correct merge of a planned population: one record each, newest non-empty value per field everywhere', () => {
    const plan = planPopulation(300, 3);
    // Stamps in the seeding phases' order: older HubSpot, older Dynamics, Salesforce, newer Dynamics, newer HubSpot.
    const phase = { hubspotBefore: T0, dynamicsBefore: T0 + 2_000, salesforce: T0 + 4_000, dynamicsAfter: T0 + 6_000, hubspotAfter: T0 + 8_000 };
    const before = plan.people.flatMap((person, i) => [
      copy('salesforce', { ...person.salesforce, ...person.salesforceEdit }, phase.salesforce + i),
      ...(person.hubspot ? [copy('hubspot', person.hubspot.values, (person.hubspot.when === 'before' ? phase.hubspotBefore : phase.hubspotAfter) + i)] : []),
      ...(person.dynamics ? [copy('dynamics', person.dynamics.values, person.dynamics.when === 'before' ? phase.dynamicsBefore : phase.dynamicsAfter)] : []),
    ]);
    const merged = (person: string): PersonValues => {
      const values: PersonValues = {};
      for (const c of before.filter((x) => x.person === person).sort((a, b) => a.stamp.from - b.stamp.from)) Object.assign(values, c.values);
      return values;
    };
    const after = [...new Set(before.map((c) => c.person))].flatMap((person) => ONBOARDING_CRMS.map((crm) => copy(crm, merged(person), T0 + 20_000)));
    const evaluation = evaluateOnboarding(before, after, fields);
    expect(evaluation).toMatchObject({ people: 300, erased: 0, disagreeing: 0, tiedFields: 0 });
    expect(evaluation.contestedFields).toBeGreaterThan(20);
    for (const crm of ONBOARDING_CRMS) expect(evaluation.perCrm[crm]).toEqual({ records: 300, distinctPeople: 300, duplicates: 0, missing: 0, strangers: 0 });

    // What today's backfill leaves: the target copies as they were, Salesforce's values elsewhere.
    const untouched = [...new Set(before.map((c) => c.person))].flatMap((person) => {
      const sf = before.find((c) => c.person === person && c.crm === 'salesforce') as ContactCopy;
      return ONBOARDING_CRMS.map((crm) => before.find((c) => c.person === person && c.crm === crm) ?? { ...sf, crm });
    });
    const flawed = evaluateOnboarding(before, untouched, fields);
    expect(flawed.erased).toBeGreaterThan(0);
    expect(flawed.erasedFromOwnRecord).toBe(0);
    expect(flawed.disagreeing).toBeGreaterThan(0);
  });

  it('counts duplicates, missing people and strangers per CRM', () => {
    const ada = { email: 'Ada@Example.com', firstName: 'Ada' };
    const before = [copy('salesforce', ada, T0), copy('hubspot', ada, T0 - 5_000)];
    const after = [
      copy('salesforce', ada, T0 + 9_000),
      copy('hubspot', ada, T0 + 9_000, 'hs-1'),
      copy('hubspot', ada, T0 + 9_000, 'hs-2'),
      copy('dynamics', { email: 'someone@else.example', firstName: 'Ada' }, T0 + 9_000),
    ];
    const evaluation = evaluateOnboarding(before, after, fields);
    expect(evaluation.perCrm).toEqual({
      salesforce: { records: 1, distinctPeople: 1, duplicates: 0, missing: 0, strangers: 0 },
      hubspot: { records: 2, distinctPeople: 1, duplicates: 1, missing: 0, strangers: 0 },
      dynamics: { records: 1, distinctPeople: 0, duplicates: 0, missing: 1, strangers: 1 },
    });
    expect(evaluation.examples.duplicates).toEqual([{ crm: 'hubspot', person: 'ada@example.com', records: 2 }]);
  });

  it('takes emails case-insensitively, a newer copy over an older one, and any one value of tied copies if all CRMs agree', () => {
    const email = 'Grace.Hopper@Navy.example';
    // Dynamics 10:00:07Z stands for [10:00:07, 10:00:08): Salesforce at 10:00:07.400 is a tie, HubSpot at 10:00:02 older.
    const before = [
      copy('salesforce', { email, title: 'Rear Admiral', phone: '+1 555 0100' }, T0 + 7_400),
      copy('hubspot', { email: email.toLowerCase(), title: 'Commodore', city: 'Arlington' }, T0 + 2_000),
      copy('dynamics', { email: email.toUpperCase(), title: 'Captain', phone: '+1 555 0199' }, T0 + 7_900),
    ];
    const everywhere = (values: PersonValues): ContactCopy[] => ONBOARDING_CRMS.map((crm) => copy(crm, { email, city: 'Arlington', ...values }, T0 + 20_000));
    for (const title of ['Rear Admiral', 'Captain']) {
      expect(evaluateOnboarding(before, everywhere({ title, phone: '+1 555 0199' }), fields)).toMatchObject({ erased: 0, disagreeing: 0, contestedFields: 2, tiedFields: 2 });
    }
    // The older HubSpot title, agreed everywhere: stale.
    expect(evaluateOnboarding(before, everywhere({ title: 'Commodore', phone: '+1 555 0100' }), fields)).toMatchObject({ erased: 0, disagreeing: 1, stale: 1, split: 0 });
    // Tied, but the CRMs do not agree: split.
    const split = [...everywhere({ title: 'Captain', phone: '+1 555 0100' }).slice(0, 2), copy('dynamics', { email, city: 'Arlington', title: 'Rear Admiral', phone: '+1 555 0100' }, T0 + 20_000)];
    expect(evaluateOnboarding(before, split, fields)).toMatchObject({ erased: 0, disagreeing: 1, split: 1, disagreeingWhereCopiesDiffered: 1 });
    // HubSpot's city cleared in HubSpot and never carried to the others: three erasures, one from HubSpot's own record.
    const cleared = ONBOARDING_CRMS.map((crm) => copy(crm, { email, title: 'Captain', phone: '+1 555 0100' }, T0 + 20_000));
    expect(evaluateOnboarding(before, cleared, fields)).toMatchObject({ erased: 3, erasedFromOwnRecord: 1, disagreeing: 1, stale: 1 });
  });
});

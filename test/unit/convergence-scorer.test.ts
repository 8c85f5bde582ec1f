import { describe, expect, it } from 'vitest';
import { salesforceStamp } from '../support/convergence/crm-adapters';
import { comparedFields, latestWinner, parseStamp, type CrmName, type Field } from '../support/convergence/model';
import { FAILURE_KINDS, score, type FailureKind, type ObservedRecord, type ScoreInput } from '../support/convergence/scorer';
import { Truth } from '../support/convergence/truth';

/**
 * The convergence scorer on hand-made outcomes: a correct end state scores 0 everywhere, and each
 * kind of failure the issue describes is flagged (and only where it is).
 */
const CRMS: CrmName[] = ['salesforce', 'hubspot', 'dynamics'];
const FIELDS = comparedFields(CRMS);
const sf = (time: string) => parseStamp(`2026-03-01T${time}+0000`); // Salesforce: milliseconds
const hs = (time: string) => parseStamp(`2026-03-01T${time}Z`); // HubSpot: milliseconds
const dyn = (time: string) => parseStamp(`2026-03-01T${time}Z`); // Dataverse: whole seconds

/** The story every case starts from, and the end state a correct product reaches. */
function story(): { truth: Truth; input: ScoreInput } {
  const truth = new Truth(FIELDS, CRMS);
  // p1 was in Salesforce (with a phone) and Dynamics (with a title) before the sync.
  truth.addCopy('p1', 'salesforce', { firstName: 'Ada', lastName: 'Lovelace', email: 'Ada@Example.com', phone: '+1 555 0001' }, sf('09:00:00.120'));
  truth.addCopy('p1', 'dynamics', { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', title: 'Countess' }, dyn('09:00:01'));
  // p2 only in HubSpot; later someone edits its phone there and its city in Salesforce.
  truth.addCopy('p2', 'hubspot', { firstName: 'Alan', lastName: 'Turing', email: 'alan@example.com', phone: '+1 555 0002', city: 'London' }, hs('09:00:00.500'));
  // p3 in all three; two true conflicts on its phone and title.
  for (const [crm, stamp] of [['salesforce', sf('09:00:02.000')], ['hubspot', hs('09:00:02.100')], ['dynamics', dyn('09:00:02')]] as const) {
    truth.addCopy('p3', crm, { lastName: 'Hopper', email: 'grace@example.com', phone: '+1 555 0003', title: 'Rear Admiral' }, stamp);
  }
  // p4 in HubSpot and Dynamics, deleted later.
  truth.addCopy('p4', 'hubspot', { lastName: 'Gone', email: 'gone@example.com' }, hs('09:00:03.000'));
  truth.addCopy('p4', 'dynamics', { lastName: 'Gone', email: 'gone@example.com' }, dyn('09:00:03'));
  // p5: Salesforce and HubSpot held different phones before the sync: HubSpot's copy is later.
  truth.addCopy('p5', 'salesforce', { lastName: 'Noether', email: 'emmy@example.com', phone: '+49 1' }, sf('09:00:04.000'));
  truth.addCopy('p5', 'hubspot', { lastName: 'Noether', email: 'emmy@example.com', phone: '+49 2' }, hs('09:00:06.000'));

  // Every connection has first-polled: what follows reaches a product that knows the copies.
  truth.firstContactDone = true;
  // Live: p2 edited in HubSpot (phone) and in Salesforce (city) at once: different fields.
  truth.edit('p2', 'hubspot', { phone: '+1 555 2222' }, hs('10:00:00.010'), { phone: '+1 555 0002', city: 'London' });
  truth.edit('p2', 'salesforce', { city: 'Manchester' }, sf('10:00:00.011'), { phone: '+1 555 0002', city: 'London' });
  // p3 phone: HubSpot at .900, then Dynamics in the next second (its whole-second interval lies
  // entirely after HubSpot's edit): Dynamics wins although HubSpot comes first in the priority.
  truth.edit('p3', 'hubspot', { phone: 'hs-phone' }, hs('10:00:00.900'), { phone: '+1 555 0003' });
  truth.edit('p3', 'dynamics', { phone: 'dyn-phone' }, dyn('10:00:01'), { phone: '+1 555 0003' });
  // p3 title: Dynamics in second 10:00:02, HubSpot at 10:00:02.700: the intervals overlap, a tie: HubSpot by priority.
  truth.edit('p3', 'dynamics', { title: 'dyn-title' }, dyn('10:00:02'), { title: 'Rear Admiral' });
  truth.edit('p3', 'hubspot', { title: 'hs-title' }, hs('10:00:02.700'), { title: 'Rear Admiral' });
  truth.delete('p4', 'hubspot');

  const ids: Record<string, string> = { p1: 'c-1', p2: 'c-2', p3: 'c-3', p5: 'c-5' };
  const observed: Partial<Record<CrmName, ObservedRecord[]>> = {};
  for (const crm of CRMS) {
    observed[crm] = truth
      .expected()
      .filter((person) => !person.deleted)
      .map((person) => ({
        externalId: `${crm}-${person.id}`,
        values: Object.fromEntries(FIELDS.map((field) => [field, person.fields[field]?.value ?? ''])),
        canonicalIds: [ids[person.id] as string],
      }));
  }
  const input: ScoreInput = {
    crms: CRMS,
    fields: FIELDS,
    people: truth.expected(),
    observed,
    conflictRows: [
      { canonicalId: 'c-3', field: 'phone' },
      { canonicalId: 'c-3', field: 'title' },
    ],
    writesAfterQuiet: { salesforce: 0, hubspot: 0, dynamics: 0 },
    parked: [],
  };
  return { truth, input };
}

function record(input: ScoreInput, crm: CrmName, personId: string): ObservedRecord {
  const found = input.observed[crm]?.find((candidate) => candidate.externalId === `${crm}-${personId}`);
  if (!found) throw new Error(`no ${crm} record of ${personId}`);
  return found;
}

function setEverywhere(input: ScoreInput, personId: string, field: Field, value: string): void {
  for (const crm of CRMS) record(input, crm, personId).values[field] = value;
}

/** The counts, with only the kinds named non-zero. */
function only(expected: Partial<Record<FailureKind, number>>): Record<FailureKind, number> {
  return Object.fromEntries(FAILURE_KINDS.map((kind) => [kind, expected[kind] ?? 0])) as Record<FailureKind, number>;
}

describe('convergence truth', () => {
  it('reads precision from how the vendor writes its stamps', () => {
    expect(parseStamp('2026-03-01T10:00:00.123+0000')).toEqual({ text: '2026-03-01T10:00:00.123+0000', ms: Date.parse('2026-03-01T10:00:00.123Z'), precisionMs: 1 });
    expect(parseStamp('2026-03-01T10:00:00Z').precisionMs).toBe(1000);
    // Salesforce writes every stamp as .000: one the sandbox gives on .000 is a whole second.
    expect(salesforceStamp('2026-03-01T10:00:02.000+0000').precisionMs).toBe(1000);
    expect(salesforceStamp('2026-03-01T10:00:02.001+0000').precisionMs).toBe(1);
    const winner = latestWinner(
      [
        { crm: 'salesforce', value: 'United States', stamp: salesforceStamp('2026-03-01T10:00:02.000+0000') },
        { crm: 'hubspot', value: 'Canada', stamp: parseStamp('2026-03-01T10:00:02.001Z') },
      ],
      ['salesforce', 'hubspot'],
    );
    expect(winner).toMatchObject({ tie: true, winner: { crm: 'salesforce' } });
    expect(parseStamp('2026-03-01T15:30:00+05:30')).toMatchObject({ ms: Date.parse('2026-03-01T10:00:00Z'), precisionMs: 1000 });
  });

  it('latest: a later interval wins whatever the priority; overlapping intervals are a tie the priority decides', () => {
    const candidate = (crm: CrmName, text: string) => ({ crm, value: crm, stamp: parseStamp(text) });
    expect(latestWinner([candidate('hubspot', '2026-03-01T10:00:00.999Z'), candidate('dynamics', '2026-03-01T10:00:01Z')], CRMS)).toMatchObject({ winner: { crm: 'dynamics' }, tie: false });
    expect(latestWinner([candidate('dynamics', '2026-03-01T10:00:01Z'), candidate('hubspot', '2026-03-01T10:00:01.999Z')], CRMS)).toMatchObject({ winner: { crm: 'hubspot' }, tie: true });
    expect(latestWinner([candidate('salesforce', '2026-03-01T10:00:00.001+0000'), candidate('hubspot', '2026-03-01T10:00:00.002Z')], CRMS)).toMatchObject({ winner: { crm: 'hubspot' }, tie: false });
    expect(latestWinner([candidate('hubspot', '2026-03-01T10:00:00.002Z'), candidate('salesforce', '2026-03-01T10:00:00.002+0000')], CRMS)).toMatchObject({ winner: { crm: 'salesforce' }, tie: true });
  });

  it('computes what people promise: gaps filled, edits kept, conflicts by latest, an edit that reached the other CRM is no conflict', () => {
    const { truth } = story();
    const value = (personId: string, field: Field) => truth.expectedValue(personId, field).value;
    expect([value('p1', 'phone'), value('p1', 'title'), value('p1', 'email')]).toEqual(['+1 555 0001', 'Countess', 'Ada@Example.com']);
    expect([value('p2', 'phone'), value('p2', 'city')]).toEqual(['+1 555 2222', 'Manchester']);
    expect(truth.expectedValue('p3', 'phone')).toMatchObject({ value: 'dyn-phone', origin: 'conflict', tie: false });
    expect(truth.expectedValue('p3', 'title')).toMatchObject({ value: 'hs-title', origin: 'conflict', tie: true });
    expect(truth.expectedValue('p5', 'phone')).toMatchObject({ value: '+49 2', origin: 'initial-conflict', tie: false });
    expect(truth.expected().find((person) => person.id === 'p3')?.conflicts.map((conflict) => [conflict.field, conflict.winner])).toEqual([
      ['phone', 'dynamics'],
      ['title', 'hubspot'],
    ]);
    // Salesforce already shows HubSpot's phone when a person edits it there: a later edit, not a conflict.
    truth.edit('p2', 'salesforce', { phone: '+1 555 3333' }, sf('10:00:05.000'), { phone: '+1 555 2222' });
    expect(truth.expectedValue('p2', 'phone')).toMatchObject({ value: '+1 555 3333', origin: 'edit' });
    expect(truth.expected().find((person) => person.id === 'p2')?.conflicts).toEqual([]);
    // A third edit that saw neither joins the conflict: Dynamics' second and HubSpot's later
    // millisecond tie (Salesforce's earlier millisecond is out), and HubSpot comes first in the priority.
    truth.edit('p3', 'dynamics', { country: 'dyn-country' }, dyn('10:00:04'), { country: '' });
    truth.edit('p3', 'salesforce', { country: 'sf-country' }, sf('10:00:04.100'), { country: '' });
    expect(truth.expectedValue('p3', 'country')).toMatchObject({ value: 'sf-country', tie: true });
    truth.edit('p3', 'hubspot', { country: 'hs-country' }, hs('10:00:04.500'), { country: '' });
    expect(truth.expectedValue('p3', 'country')).toMatchObject({ value: 'hs-country', origin: 'conflict', tie: true });
    expect(truth.expectedValue('p3', 'country').candidates?.map((candidate) => candidate.crm)).toEqual(['dynamics', 'salesforce', 'hubspot']);
    // Once the decided value shows in a CRM, an edit there comes after the conflict, not in it.
    truth.edit('p3', 'dynamics', { country: 'later' }, dyn('10:00:09'), { country: 'hs-country' });
    expect(truth.expectedValue('p3', 'country')).toMatchObject({ value: 'later', origin: 'edit' });
    // Two people emptying the same field in two CRMs agree: an erasure, no conflict.
    truth.edit('p1', 'salesforce', { phone: '' }, sf('10:00:06.000'), { phone: '+1 555 0001' });
    truth.edit('p1', 'dynamics', { phone: '' }, dyn('10:00:06'), { phone: '+1 555 0001' });
    expect(truth.expectedValue('p1', 'phone')).toMatchObject({ value: '', origin: 'erase' });
    expect(truth.expected().find((person) => person.id === 'p1')?.conflicts).toEqual([]);
  });
});

describe('convergence scorer', () => {
  it('passes a correct outcome', () => {
    const report = score(story().input);
    expect(report.counts).toEqual(only({}));
    expect(report.ok).toBe(true);
    expect(report.checked).toMatchObject({ people: 5, deleted: 1, trueConflicts: 2, fields: 8 });
  });

  it('flags a duplicate (same email, other casing, in one CRM)', () => {
    const { input } = story();
    input.observed.salesforce = [...(input.observed.salesforce ?? []), { externalId: 'sf-dup', values: { ...record(input, 'salesforce', 'p1').values, email: 'ADA@example.com' }, canonicalIds: ['c-9'] }];
    const report = score(input);
    expect(report.counts).toEqual(only({ duplicates: 1 }));
    expect(report.examples.duplicates?.[0]).toMatch(/p1 <ada@example.com>: 2 records in salesforce \(salesforce-p1, sf-dup\)/);
  });

  it('flags a missing record, a deleted one still there, and a record nobody wrote', () => {
    const { input } = story();
    input.observed.dynamics = input.observed.dynamics?.filter((candidate) => candidate.externalId !== 'dynamics-p2');
    input.observed.hubspot = [
      ...(input.observed.hubspot ?? []),
      { externalId: 'hs-gone', values: { lastName: 'Gone', email: 'gone@example.com' }, canonicalIds: [] },
      { externalId: 'hs-who', values: { lastName: 'Who', email: 'who@example.com' }, canonicalIds: [] },
    ];
    expect(score(input).counts).toEqual(only({ missing: 1, resurrected: 1, strays: 1 }));
  });

  it('flags an erased value: the Salesforce phone wiped because the Dynamics copy had none', () => {
    const { input } = story();
    setEverywhere(input, 'p1', 'phone', '');
    const report = score(input);
    expect(report.counts).toEqual(only({ erased: 1 }));
    expect(report.examples.erased?.[0]).toMatch(/p1 .* phone: expected "\+1 555 0001" \(only salesforce had it before the sync\)/);
  });

  it('flags a lost edit, and a field left unequal between the CRMs', () => {
    const { input } = story();
    setEverywhere(input, 'p2', 'city', 'London'); // Salesforce's city edit lost everywhere
    record(input, 'dynamics', 'p2').values.phone = '+1 555 0002'; // HubSpot's phone edit never reached Dynamics
    const report = score(input);
    expect(report.counts).toEqual(only({ lostEdits: 2, unequalFields: 1 }));
    expect(report.examples.unequalFields?.[0]).toBe('p2 <alan@example.com> phone: salesforce="+1 555 2222" hubspot="+1 555 2222" dynamics="+1 555 0002"');
  });

  it('flags a latest conflict won by the earlier edit (the whole-second Dataverse stamp read as earlier)', () => {
    const { input } = story();
    setEverywhere(input, 'p3', 'phone', 'hs-phone');
    const report = score(input);
    expect(report.counts).toEqual(only({ latestLost: 1 }));
    expect(report.examples.latestLost?.[0]).toMatch(/true conflict: hubspot "hs-phone" @2026-03-01T10:00:00.900Z vs dynamics "dyn-phone" @2026-03-01T10:00:01Z; later stamp wins: dynamics/);
  });

  it('accepts a latest conflict decided on a later stamp people gave the record before the product read it, and only such a stamp', () => {
    // HubSpot's phone edit (10:00:00.900) was followed by a title edit there (10:00:02.700): a
    // product that read the record after both sees the phone under 10:00:02.700, later than
    // Dynamics' 10:00:01, and its conflicts table says so.
    const decided = (hubspotStamp: string) => {
      const { input } = story();
      setEverywhere(input, 'p3', 'phone', 'hs-phone');
      input.conflictRows = [
        { canonicalId: 'c-3', field: 'phone', decidedValue: 'hs-phone', candidates: [{ crm: 'hubspot', value: 'hs-phone', modifiedAt: hubspotStamp }, { crm: 'dynamics', value: 'dyn-phone', modifiedAt: '2026-03-01T10:00:01.000Z' }] },
        { canonicalId: 'c-3', field: 'title' },
      ];
      return score(input);
    };
    const onTitleEdit = decided('2026-03-01T10:00:02.700Z');
    expect(onTitleEdit.counts).toEqual(only({}));
    expect(onTitleEdit.checked.decidedOnLaterStamps).toBe(1);
    // The same decision on a stamp no person made (the product's own write to HubSpot) is lost.
    const onOwnWrite = decided('2026-03-01T10:00:05.000Z');
    expect(onOwnWrite.counts).toEqual(only({ latestLost: 1 }));
    // And without the stamps in the conflicts table, nothing shows the product saw a later one.
    const { input } = story();
    setEverywhere(input, 'p3', 'phone', 'hs-phone');
    expect(score(input).counts).toEqual(only({ latestLost: 1 }));
  });

  it('flags copies that differed before the sync decided for the earlier copy', () => {
    const { input } = story();
    setEverywhere(input, 'p5', 'phone', '+49 1');
    expect(score(input).counts).toEqual(only({ latestLost: 1 }));
  });

  it('accepts, for an edit made before the product met the copies, what latest makes of the copies as they then stood', () => {
    const truth = new Truth(FIELDS, CRMS);
    truth.addCopy('p9', 'salesforce', { lastName: 'Hamilton', email: 'tim@example.com', country: 'United States', mobilePhone: '1' }, sf('11:00:00.000'));
    truth.addCopy('p9', 'dynamics', { lastName: 'Hamilton', email: 'tim@example.com', country: 'United States' }, dyn('11:00:01'));
    // During the first polls: Dynamics' country changes, then Salesforce's mobile (its record stamp moves on).
    truth.edit('p9', 'dynamics', { country: 'Portugal' }, dyn('11:00:04'), { country: 'United States' });
    truth.edit('p9', 'salesforce', { mobilePhone: '2' }, sf('11:00:04.490'), { mobilePhone: '1' });
    truth.firstContactDone = true;
    expect(truth.expectedValue('p9', 'country')).toMatchObject({ value: 'Portugal', alternative: 'United States' });
    // After first contact an edit stands alone.
    truth.edit('p9', 'hubspot', { country: 'Chile' }, hs('11:00:09.000'), { country: 'United States' });
    expect(truth.expectedValue('p9', 'country').alternative).toBeUndefined();
  });

  it('flags a true conflict with no row in the conflicts table', () => {
    const { input } = story();
    input.conflictRows = input.conflictRows.filter((row) => row.field !== 'title');
    expect(score(input).counts).toEqual(only({ conflictsUnrecorded: 1 }));
    // A row under another record does not count.
    input.conflictRows = [...input.conflictRows, { canonicalId: 'c-2', field: 'title' }];
    expect(score(input).counts).toEqual(only({ conflictsUnrecorded: 1 }));
  });

  it('flags writes after quiescence and parked records', () => {
    const { input } = story();
    input.writesAfterQuiet = { hubspot: 3, dynamics: 1 };
    input.parked = [{ connection: 'c-dyn', key: 'contact:123:c-hs', message: 'conflict' }];
    const report = score(input);
    expect(report.counts).toEqual(only({ writesAfterQuiet: 4, parked: 1 }));
    expect(report.ok).toBe(false);
  });
});

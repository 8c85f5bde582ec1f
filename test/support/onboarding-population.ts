import { en, Faker } from '@faker-js/faker';
import { dynamicsDefaultMapping } from '../../src/connectors/dynamics/default-mapping';
import { hubspotDefaultMapping } from '../../src/connectors/hubspot/default-mapping';
import { salesforceDefaultMapping } from '../../src/connectors/salesforce/default-mapping';
import type { ConnectorMappingSpec } from '../../src/model/mapping';
import type { DynamicsSandbox } from '../../src/sandbox/dynamics';
import type { HubSpotSandbox } from '../../src/sandbox/hubspot';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce';
import { SeededRandom } from '../../src/sandbox/core/random';

/**
 * An onboarding population for issue 13 (acceptance 3): Salesforce holds every person, HubSpot
 * and Dynamics already hold some of them, their copies differing as real copies do. Planned
 * deterministically from a seed, written through the sandboxes' admin surfaces (as people typed
 * them in the UI), snapshotted before and after a backfill and judged by `evaluateOnboarding`.
 */

export const ONBOARDING_CRMS = ['salesforce', 'hubspot', 'dynamics'] as const;
export type OnboardingCrm = (typeof ONBOARDING_CRMS)[number];

/** Canonical contact field -> native field, for the fields all three default contact mappings carry. */
export type ComparedFields = Record<OnboardingCrm, ReadonlyMap<string, string>>;

/**
 * The contact fields compared: those the Salesforce, HubSpot and Dynamics default mappings all
 * carry as strings, read and written (a tenant's override could add more; the defaults are what an
 * onboarding runs with).
 */
export function comparedContactFields(): ComparedFields {
  const natives = (spec: ConnectorMappingSpec): Map<string, string> =>
    new Map(
      (spec.objects.contact?.fields ?? []).flatMap((field) => (field.type === 'string' && (field.direction ?? 'both') === 'both' ? [[field.canonical, field.native] as const] : [])),
    );
  const byCrm = { salesforce: natives(salesforceDefaultMapping), hubspot: natives(hubspotDefaultMapping), dynamics: natives(dynamicsDefaultMapping) };
  const shared = [...byCrm.salesforce.keys()].filter((canonical) => byCrm.hubspot.has(canonical) && byCrm.dynamics.has(canonical));
  const pick = (map: Map<string, string>): Map<string, string> => new Map(shared.map((canonical) => [canonical, map.get(canonical) as string]));
  return { salesforce: pick(byCrm.salesforce), hubspot: pick(byCrm.hubspot), dynamics: pick(byCrm.dynamics) };
}

/** Canonical field -> value; a field absent means empty in that copy. */
export type PersonValues = Record<string, string>;

export interface PlannedCopy {
  values: PersonValues;
  /** Written before the Salesforce records (older) or after them (newer). */
  when: 'before' | 'after';
}

export interface PlannedPerson {
  salesforce: PersonValues;
  /** A later edit in Salesforce (after the older copies, before the newer ones). */
  salesforceEdit?: PersonValues;
  hubspot?: PlannedCopy;
  dynamics?: PlannedCopy;
}

export interface PopulationPlan {
  seed: number;
  people: PlannedPerson[];
}

/**
 * N people in Salesforce; HubSpot holds 30 % of them, Dynamics 20 %, and 10 % are in all three.
 * Copies differ realistically: a phone or title missing, a value Salesforce lacks, a different
 * non-empty value (title, phone, city, a shortened first name), emails in another case.
 */
export function planPopulation(count: number, seed: number): PopulationPlan {
  const faker = new Faker({ locale: [en] });
  faker.seed(seed);
  const random = new SeededRandom(seed);
  const people: PlannedPerson[] = [];
  for (let index = 0; index < count; index += 1) {
    const firstName = faker.person.firstName();
    const lastName = faker.person.lastName();
    const local = `${firstName}.${lastName}.${index}`.replace(/[^A-Za-z0-9.-]/g, '');
    const salesforce: PersonValues = {
      firstName,
      lastName,
      // As typed by a person: capitals kept (Salesforce stores the case it is given).
      email: `${local}@${faker.internet.domainName()}`.replace(/^(.)/, (c) => c.toUpperCase()),
    };
    const maybe = (field: string, probability: number, value: () => string): void => {
      if (random.chance(probability)) salesforce[field] = value();
    };
    maybe('phone', 0.85, () => faker.phone.number({ style: 'international' }));
    maybe('mobilePhone', 0.5, () => faker.phone.number({ style: 'international' }));
    maybe('title', 0.85, () => faker.person.jobTitle());
    maybe('city', 0.8, () => faker.location.city());
    maybe('country', 0.75, () => faker.location.country());
    people.push({ salesforce });
  }

  // Who already is where: a seeded shuffle, HubSpot the first 30 %, Dynamics 20 % to 40 % (so the
  // first half of Dynamics' people are in HubSpot too).
  const order = people.map((_, index) => index);
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const hubspotCount = Math.round(count * 0.3);
  const dynamicsFrom = Math.round(count * 0.2);
  const dynamicsTo = Math.round(count * 0.4);
  const copy = (person: PlannedPerson, emailCase: 'lower' | 'any'): PlannedCopy => ({ values: variedCopy(person.salesforce, emailCase, faker, random), when: random.chance(0.5) ? 'before' : 'after' });
  order.forEach((personIndex, rank) => {
    const person = people[personIndex] as PlannedPerson;
    if (rank < hubspotCount) person.hubspot = copy(person, 'lower');
    if (rank >= dynamicsFrom && rank < dynamicsTo) person.dynamics = copy(person, 'any');
  });
  // Some Salesforce records are edited once the older copies exist: a new title, or a phone added.
  for (const person of people) {
    if (!random.chance(0.1)) continue;
    person.salesforceEdit = person.salesforce.phone ? { title: faker.person.jobTitle() } : { phone: faker.phone.number({ style: 'international' }) };
  }
  return { seed, people };
}

/** A pre-existing copy of a Salesforce person, as another team typed it. */
function variedCopy(source: PersonValues, emailCase: 'lower' | 'any', faker: Faker, random: SeededRandom): PersonValues {
  const values: PersonValues = { ...source };
  const email = source.email as string;
  // HubSpot keeps emails in lower case whatever it is sent; Dynamics keeps what it was given.
  const cases = [email.toLowerCase(), email.toUpperCase(), email];
  values.email = emailCase === 'lower' ? email.toLowerCase() : (cases[random.int(cases.length)] as string);
  // Missing a value the Salesforce copy has.
  if (values.phone && random.chance(0.25)) delete values.phone;
  if (values.title && random.chance(0.2)) delete values.title;
  // Holding a value the Salesforce copy lacks.
  const fill: Record<string, () => string> = {
    phone: () => faker.phone.number({ style: 'international' }),
    mobilePhone: () => faker.phone.number({ style: 'international' }),
    title: () => faker.person.jobTitle(),
    city: () => faker.location.city(),
    country: () => faker.location.country(),
  };
  for (const [field, value] of Object.entries(fill)) {
    if (source[field] === undefined && random.chance(0.5)) values[field] = value();
  }
  // A different non-empty value.
  const differ = (field: string, probability: number, value: () => string): void => {
    if (values[field] === undefined || !random.chance(probability)) return;
    let next = value();
    while (next === values[field]) next = `${next} (2)`;
    values[field] = next;
  };
  differ('title', 0.3, () => faker.person.jobTitle());
  differ('phone', 0.15, () => faker.phone.number({ style: 'international' }));
  differ('city', 0.1, () => faker.location.city());
  differ('firstName', 0.05, () => (values.firstName as string).slice(0, 3));
  return values;
}

export interface OnboardingSandboxes {
  salesforce: SalesforceSandbox;
  hubspot: HubSpotSandbox;
  dynamics: DynamicsSandbox;
}

/**
 * Writes the plan as people in each CRM's UI would, in five phases: the older HubSpot copies, the
 * older Dynamics copies, the Salesforce records (then its edits), the newer Dynamics copies, the
 * newer HubSpot copies. Each phase starts in a later whole second than every stamp of the one
 * before, so even Dynamics' whole-second stamps order the phases (ties only within a phase).
 * Sandbox clocks hand out strictly increasing milliseconds and can run ahead of the wall clock
 * when records are written quickly, so the wait is on the stamps, not on a fixed delay.
 */
export async function seedPopulation(sandboxes: OnboardingSandboxes, plan: PopulationPlan, fields: ComparedFields): Promise<void> {
  const stamps: number[] = [];
  const nextPhase = async (): Promise<void> => {
    const after = Math.floor(Math.max(0, ...stamps) / 1000) * 1000 + 1000;
    stamps.length = 0;
    while (Date.now() < after + 20) await new Promise((resolve) => setTimeout(resolve, Math.max(5, after + 20 - Date.now())));
  };
  const hubspot = (values: PersonValues): void => {
    const record = sandboxes.hubspot.admin.createAsUser('contacts', toNative(values, fields.hubspot));
    stamps.push(Date.parse(record.updatedAt));
  };
  const dynamics = (values: PersonValues): void => {
    const row = sandboxes.dynamics.admin.uiCreate('contacts', toNative(values, fields.dynamics));
    stamps.push(Date.parse(String(row.modifiedon)));
  };
  for (const person of plan.people) if (person.hubspot?.when === 'before') hubspot(person.hubspot.values);
  await nextPhase();
  for (const person of plan.people) if (person.dynamics?.when === 'before') dynamics(person.dynamics.values);
  await nextPhase();
  const salesforceIds = plan.people.map((person) => {
    const record = sandboxes.salesforce.admin.createAsUser('Contact', toNative(person.salesforce, fields.salesforce));
    stamps.push(Date.parse(String(record.SystemModstamp).replace(/([+-]\d{2})(\d{2})$/, '$1:$2')));
    return String(record.Id);
  });
  plan.people.forEach((person, index) => {
    if (!person.salesforceEdit) return;
    const record = sandboxes.salesforce.admin.editAsUser('Contact', salesforceIds[index] as string, toNative(person.salesforceEdit, fields.salesforce));
    stamps.push(Date.parse(String(record.SystemModstamp).replace(/([+-]\d{2})(\d{2})$/, '$1:$2')));
  });
  await nextPhase();
  for (const person of plan.people) if (person.dynamics?.when === 'after') dynamics(person.dynamics.values);
  await nextPhase();
  for (const person of plan.people) if (person.hubspot?.when === 'after') hubspot(person.hubspot.values);
}

function toNative(values: PersonValues, natives: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([canonical, value]) => [natives.get(canonical) ?? canonical, value]));
}

/** One contact record as a CRM holds it: compared values and the vendor's modstamp as an interval. */
export interface ContactCopy {
  crm: OnboardingCrm;
  id: string;
  /** Lower-cased email: who the record is; '' when it has none. */
  person: string;
  values: PersonValues;
  /**
   * The record modstamp as the vendor's API shows it, as [from, to) in epoch ms: Salesforce and
   * HubSpot give milliseconds ([t, t+1)); Dynamics gives whole seconds, so `2024-05-01T10:20:30Z`
   * stands for [10:20:30, 10:20:31).
   */
  stamp: { from: number; to: number };
}

/** Every live contact of the three sandboxes, read through their admin surfaces. */
export function snapshotContacts(sandboxes: OnboardingSandboxes, fields: ComparedFields): ContactCopy[] {
  const fromNative = (record: Record<string, unknown>, natives: ReadonlyMap<string, string>): PersonValues => {
    const values: PersonValues = {};
    for (const [canonical, native] of natives) {
      const value = normalise(canonical, record[native]);
      if (value !== '') values[canonical] = value;
    }
    return values;
  };
  const copies: ContactCopy[] = [];
  for (const record of sandboxes.salesforce.admin.listRecords('Contact')) {
    const values = fromNative(record, fields.salesforce);
    const ms = Date.parse(String(record.SystemModstamp).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    copies.push({ crm: 'salesforce', id: String(record.Id), person: values.email ?? '', values, stamp: { from: ms, to: ms + 1 } });
  }
  for (const record of sandboxes.hubspot.admin.listRecords('contacts', { archived: false })) {
    const values = fromNative(record.properties, fields.hubspot);
    const ms = Date.parse(record.updatedAt);
    copies.push({ crm: 'hubspot', id: record.id, person: values.email ?? '', values, stamp: { from: ms, to: ms + 1 } });
  }
  for (const row of sandboxes.dynamics.admin.listRecords('contacts')) {
    const values = fromNative(row, fields.dynamics);
    // What the Web API renders (renderDateTime): the stored stamp cut to the second.
    const second = Math.floor(Date.parse(String(row.modifiedon)) / 1000) * 1000;
    copies.push({ crm: 'dynamics', id: String(row.contactid), person: values.email ?? '', values, stamp: { from: second, to: second + 1000 } });
  }
  return copies;
}

/** Empty is '' (null, undefined, blank); emails compare case-insensitively, so they are lower-cased. */
function normalise(canonical: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).trim();
  return canonical === 'email' ? text.toLowerCase() : text;
}

export interface CrmCounts {
  records: number;
  distinctPeople: number;
  /** Records beyond the first for a person (sum over people of records - 1). */
  duplicates: number;
  /** People with no record here. */
  missing: number;
  /** Records that are nobody of the population (no email, or an email no copy had before). */
  strangers: number;
}

export interface ValueIssue {
  person: string;
  field: string;
  /** Each copy's value before (with its stamp), and each CRM's value(s) after. */
  before: { crm: OnboardingCrm; value: string; stamp: string }[];
  acceptable: string[];
  after: Partial<Record<OnboardingCrm, string[]>>;
}

export interface OnboardingEvaluation {
  people: number;
  perCrm: Record<OnboardingCrm, CrmCounts>;
  /** (person, field, CRM): a value some copy held before, empty in a record of that CRM after. */
  erased: number;
  /** Of `erased`, those where that CRM's own record held the value before (overwritten or cleared, not merely not carried over). */
  erasedFromOwnRecord: number;
  /**
   * (person, field) with a value before in some copy, not ending as one single acceptable value
   * everywhere: `split` the CRMs hold different values (an empty one included), `stale` they agree
   * on a value other than the newest copy's (or are all empty).
   */
  disagreeing: number;
  split: number;
  stale: number;
  /** Of `disagreeing`, the (person, field) whose copies held different non-empty values before. */
  disagreeingWhereCopiesDiffered: number;
  /** (person, field) whose copies held different non-empty values before (the merge's real work). */
  contestedFields: number;
  /** Of those, how many had tied newest copies (overlapping stamps), where any one agreed value passes. */
  tiedFields: number;
  examples: { duplicates: { crm: OnboardingCrm; person: string; records: number }[]; missing: { crm: OnboardingCrm; person: string }[]; erased: (ValueIssue & { crm: OnboardingCrm })[]; disagreeing: ValueIssue[] };
}

const EXAMPLES = 5;

/**
 * Judges the CRMs after an onboarding backfill against the copies before it. People are the
 * lower-cased emails of the copies before. For each field a person had a value for anywhere:
 * every CRM must still hold a value (no erasure), and all three must end with the same one, the
 * value of the copy with the latest record modstamp; copies whose stamp intervals overlap the
 * latest are tied, and any one of their values passes as long as all CRMs agree on it.
 */
export function evaluateOnboarding(before: readonly ContactCopy[], after: readonly ContactCopy[], fields: ComparedFields): OnboardingEvaluation {
  const group = (copies: readonly ContactCopy[]): Map<string, ContactCopy[]> => {
    const byPerson = new Map<string, ContactCopy[]>();
    for (const copy of copies) {
      const list = byPerson.get(copy.person);
      if (list) list.push(copy);
      else byPerson.set(copy.person, [copy]);
    }
    return byPerson;
  };
  const beforeByPerson = group(before.filter((copy) => copy.person !== ''));
  const afterByPerson = group(after);
  const people = [...beforeByPerson.keys()].sort();
  const evaluation: OnboardingEvaluation = {
    people: people.length,
    perCrm: Object.fromEntries(ONBOARDING_CRMS.map((crm) => [crm, { records: 0, distinctPeople: 0, duplicates: 0, missing: 0, strangers: 0 }])) as Record<OnboardingCrm, CrmCounts>,
    erased: 0,
    erasedFromOwnRecord: 0,
    disagreeing: 0,
    split: 0,
    stale: 0,
    disagreeingWhereCopiesDiffered: 0,
    contestedFields: 0,
    tiedFields: 0,
    examples: { duplicates: [], missing: [], erased: [], disagreeing: [] },
  };
  const note = <T>(list: T[], item: () => T): void => {
    if (list.length < EXAMPLES) list.push(item());
  };

  for (const copy of after) {
    const counts = evaluation.perCrm[copy.crm];
    counts.records += 1;
    if (!beforeByPerson.has(copy.person)) counts.strangers += 1;
  }
  const canonicalFields = [...fields.salesforce.keys()];
  for (const person of people) {
    const copiesBefore = beforeByPerson.get(person) as ContactCopy[];
    const copiesAfter = afterByPerson.get(person) ?? [];
    for (const crm of ONBOARDING_CRMS) {
      const records = copiesAfter.filter((copy) => copy.crm === crm).length;
      const counts = evaluation.perCrm[crm];
      if (records === 0) {
        counts.missing += 1;
        note(evaluation.examples.missing, () => ({ crm, person }));
      } else {
        counts.distinctPeople += 1;
        counts.duplicates += records - 1;
        if (records > 1) note(evaluation.examples.duplicates, () => ({ crm, person, records }));
      }
    }
    for (const field of canonicalFields) {
      const holders = copiesBefore.filter((copy) => copy.values[field] !== undefined);
      if (holders.length === 0) continue;
      // Newest: not entirely before another holder's stamp interval.
      const newest = holders.filter((copy) => !holders.some((other) => other !== copy && copy.stamp.to <= other.stamp.from));
      const acceptable = [...new Set(newest.map((copy) => copy.values[field] as string))].sort();
      const contested = new Set(holders.map((copy) => copy.values[field])).size > 1;
      if (contested) {
        evaluation.contestedFields += 1;
        if (acceptable.length > 1) evaluation.tiedFields += 1;
      }
      const issue = (): ValueIssue => ({
        person,
        field,
        before: holders.map((copy) => ({ crm: copy.crm, value: copy.values[field] as string, stamp: new Date(copy.stamp.from).toISOString() })),
        acceptable,
        after: Object.fromEntries(ONBOARDING_CRMS.map((crm) => [crm, copiesAfter.filter((copy) => copy.crm === crm).map((copy) => copy.values[field] ?? '')])),
      });
      for (const crm of ONBOARDING_CRMS) {
        if (copiesAfter.some((copy) => copy.crm === crm && copy.values[field] === undefined)) {
          evaluation.erased += 1;
          if (holders.some((copy) => copy.crm === crm)) evaluation.erasedFromOwnRecord += 1;
          note(evaluation.examples.erased, () => ({ ...issue(), crm }));
        }
      }
      const finalValues = new Set(copiesAfter.map((copy) => copy.values[field] ?? ''));
      const [only] = finalValues;
      if (finalValues.size === 1 && only !== undefined && acceptable.includes(only)) continue;
      if (finalValues.size === 0) continue; // nowhere any more: counted as missing
      evaluation.disagreeing += 1;
      if (finalValues.size > 1) evaluation.split += 1;
      else evaluation.stale += 1;
      if (contested) evaluation.disagreeingWhereCopiesDiffered += 1;
      note(evaluation.examples.disagreeing, issue);
    }
  }
  return evaluation;
}

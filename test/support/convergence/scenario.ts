import { SeededRandom } from '../../../src/sandbox/core/random';
import type { CrmName, Field, Values } from './model';

/**
 * The convergence scenario, fully determined by a seed, a size and the CRM set: who exists where
 * before the sync starts (and with which data), and what people do in which CRM while it runs.
 * Which record an operation lands on is resolved when it runs (a person can only edit a record a
 * CRM already shows), so the plan names people and CRMs, not record ids.
 */
export interface PlannedCopy {
  crm: CrmName;
  /** Copies are created in rounds more than a second apart, so whole-second stamps differ too. */
  round: number;
  values: Values;
}

export type PersonKind = 'single' | 'pair' | 'triple' | 'live';
/**
 * How a person's copies differ before the sync: `complement` (each copy has fields the other
 * lacks), `differ` (also a different non-empty value of one or two fields: decided by `latest` over
 * the copies' modstamps), `same` (same data, email in other casing).
 */
export type CopyVariant = 'plain' | 'complement' | 'differ' | 'same';

export interface PlannedPerson {
  id: string;
  index: number;
  email: string;
  kind: PersonKind;
  variant: CopyVariant;
  /** Records people created before the sync started. */
  copies: PlannedCopy[];
  /** Created by a person while the sync runs (kind `live`). */
  liveCreate?: { crm: CrmName; values: Values } | undefined;
  /**
   * Whether people edit or delete this person during the run. Not for `differ`: which copy wins
   * is decided by the copies' modstamps before the sync, which a later edit would move.
   */
  editable: boolean;
}

export type Operation =
  /** One person edits one field (`edits` of one) or two people edit different fields in two CRMs at the same moment. */
  | { kind: 'fields'; personId: string; edits: { crm: CrmName; field: Field }[] }
  /** Two people edit the same field in two CRMs, `gapMs` apart, before either edit can reach the other CRM. */
  | { kind: 'conflict'; personId: string; field: Field; crms: [CrmName, CrmName]; gapMs: number }
  | { kind: 'erase'; personId: string; crm: CrmName; field: Field }
  | { kind: 'create'; personId: string }
  | { kind: 'delete'; personId: string; crm: CrmName };

export type WaveName = 'first-poll' | 'live' | 'worker-down' | 'deletions' | 'late';

export interface Scenario {
  seed: number;
  crms: CrmName[];
  fields: Field[];
  rounds: number;
  people: PlannedPerson[];
  waves: { name: WaveName; operations: Operation[] }[];
}

export interface ScenarioOptions {
  seed: number;
  people: number;
  crms: readonly CrmName[];
  /** The compared fields: copies and edits use only these. */
  fields: readonly Field[];
}

const FIRST = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'John', 'Radia', 'Leslie', 'Katherine', 'Tim', 'Hedy', 'Dennis', 'Sophie', 'Annie'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Backus', 'Perlman', 'Lamport', 'Johnson', 'Berners-Lee', 'Lamarr', 'Ritchie', 'Wilson', 'Easley'];
const TITLES = ['Engineer', 'Director of Sales', 'CFO', 'Account Executive', 'VP Marketing', 'Analyst', 'Head of Operations', 'Buyer'];
const CITIES = ['Berlin', 'Paris', 'Austin', 'Toronto', 'Lisbon', 'Osaka', 'Nairobi', 'Leeds'];
const COUNTRIES = ['Germany', 'France', 'United States', 'Canada', 'Portugal', 'Japan', 'Kenya', 'United Kingdom'];
const DOMAINS = ['acme.example', 'globex.example', 'initech.example', 'umbrella.example', 'hooli.example'];

export class Random extends SeededRandom {
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(items.length)] as T;
  }

  /** `count` distinct items (or all of them), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy.slice(0, count);
  }
}

/** At least one of each operation once the scenario is big enough to hold it. */
const share = (people: number, fraction: number): number => Math.max(people >= 20 ? 1 : 0, Math.round(people * fraction));

export function generateScenario(options: ScenarioOptions): Scenario {
  const random = new Random(options.seed * 7919 + options.people);
  const crms = [...options.crms];
  const fields = [...options.fields];
  const editable = fields.filter((field) => field !== 'email');
  const optional = fields.filter((field) => !['email', 'lastName'].includes(field));
  const n = options.people;
  const counts = { live: share(n, 0.08), triple: share(n, 0.1), pair: share(n, 0.35) };
  const kinds: PersonKind[] = random.sample(
    [...Array<PersonKind>(counts.live).fill('live'), ...Array<PersonKind>(counts.triple).fill('triple'), ...Array<PersonKind>(counts.pair).fill('pair'), ...Array<PersonKind>(Math.max(0, n - counts.live - counts.triple - counts.pair)).fill('single')],
    n,
  );

  const people: PlannedPerson[] = kinds.map((kind, index) => {
    const first = random.pick(FIRST);
    const last = random.pick(LAST);
    const email = `${first}.${last}.${index}@${random.pick(DOMAINS)}`.toLowerCase();
    const base: Record<Field, string> = {
      firstName: first,
      lastName: last,
      email,
      phone: `+1 555 01${String(index).padStart(4, '0')}`,
      mobilePhone: `+1 555 02${String(index).padStart(4, '0')}`,
      title: random.pick(TITLES),
      city: random.pick(CITIES),
      country: random.pick(COUNTRIES),
    };
    const other: Record<Field, string> = {
      ...base,
      firstName: first.slice(0, 3),
      lastName: `${last}-Smith`,
      phone: `+44 20 7946 ${String(index).padStart(4, '0')}`,
      mobilePhone: `+44 7700 9${String(index).padStart(5, '0')}`,
      title: TITLES.find((title) => title !== base.title) as string,
      city: CITIES.find((city) => city !== base.city) as string,
      country: COUNTRIES.find((country) => country !== base.country) as string,
    };
    const id = `p${String(index).padStart(4, '0')}`;
    const copyCrms = kind === 'pair' ? random.sample(crms, 2) : kind === 'triple' ? random.sample(crms, 3) : [random.pick(crms)];
    const variant: CopyVariant = kind === 'pair' || kind === 'triple' ? (random.chance(0.35) ? 'differ' : random.chance(0.3) ? 'same' : 'complement') : 'plain';
    const emailIn = (copy: number): string => (copy === 0 ? email : random.chance(0.5) ? capitalise(email) : email.replace(/@.*/, (domain) => domain.toUpperCase()));

    // Which optional fields each copy holds.
    const holders = new Map<Field, number[]>();
    for (const field of optional) {
      if (variant === 'same' || variant === 'plain') {
        holders.set(field, random.chance(0.75) || field === 'firstName' ? copyCrms.map((_, copy) => copy) : []);
        continue;
      }
      // complement / differ: a field in one copy only, in several, or in none.
      const roll = random.next();
      const one = random.int(copyCrms.length);
      holders.set(field, roll < 0.6 ? [one] : roll < 0.85 ? copyCrms.map((_, copy) => copy) : []);
    }
    // The sparsest copy of a triple has only a name and the email.
    if (kind === 'triple') for (const field of optional) holders.set(field, (holders.get(field) ?? []).filter((copy) => copy !== 2));
    // differ: one or two fields held by two copies with different non-empty values.
    const differing = variant === 'differ' ? random.sample(optional, random.chance(0.5) ? 2 : 1) : [];
    for (const field of differing) holders.set(field, [0, 1]);

    const copies = copyCrms.map((crm, copy) => {
      const values: Values = { email: emailIn(copy), lastName: differing.includes('lastName') && copy === 1 ? other.lastName : base.lastName };
      for (const field of optional) {
        if (!(holders.get(field) ?? []).includes(copy)) continue;
        values[field] = differing.includes(field) && copy === 1 ? other[field] : base[field];
      }
      return { crm, round: random.int(3), values };
    });
    if (kind === 'live') {
      const values: Values = { email: base.email, lastName: base.lastName };
      for (const field of optional) if (random.chance(0.7)) values[field] = base[field];
      return { id, index, email, kind, variant, copies: [], liveCreate: { crm: random.pick(crms), values }, editable: true };
    }
    return { id, index, email, kind, variant, copies, editable: variant !== 'differ' };
  });

  const isEditable = (person: PlannedPerson): boolean => person.editable;
  const preExistingShared = people.filter((person) => person.editable && person.copies.length >= 2);
  const anyEditable = people.filter(isEditable);
  const twoCrms = (): [CrmName, CrmName] => random.sample(crms, 2) as [CrmName, CrmName];
  const twoFields = (): [Field, Field] => random.sample(editable, 2) as [Field, Field];

  // Right after the workflows start, while they first-poll: people at work in the copies that were already there.
  const firstPoll: Operation[] = [
    ...random.sample(preExistingShared, share(n, 0.1)).map((person): Operation => {
      const [a, b] = random.sample(person.copies, 2) as [PlannedCopy, PlannedCopy];
      return { kind: 'conflict', personId: person.id, field: random.pick(editable), crms: [a.crm, b.crm], gapMs: 0 };
    }),
    ...random.sample(preExistingShared, share(n, 0.1)).map((person): Operation => {
      const [a, b] = random.sample(person.copies, 2) as [PlannedCopy, PlannedCopy];
      const [f, g] = twoFields();
      return { kind: 'fields', personId: person.id, edits: [{ crm: a.crm, field: f }, { crm: b.crm, field: g }] };
    }),
  ];

  // Once every connection has polled: new people, and edits anywhere the records are by then.
  const chosen = random.sample(anyEditable.filter((person) => person.kind !== 'live'), anyEditable.length);
  let cursor = 0;
  const next = (count: number): PlannedPerson[] => {
    const picked: PlannedPerson[] = [];
    for (let i = 0; i < count; i += 1) picked.push(chosen[(cursor + i) % Math.max(1, chosen.length)] as PlannedPerson);
    cursor += count;
    return chosen.length === 0 ? [] : picked;
  };
  const live: Operation[] = random.sample(
    [
      ...people.filter((person) => person.kind === 'live').map((person): Operation => ({ kind: 'create', personId: person.id })),
      ...next(share(n, 0.08)).map((person): Operation => {
        const [a, b] = twoCrms();
        const [f, g] = twoFields();
        return { kind: 'fields', personId: person.id, edits: [{ crm: a, field: f }, { crm: b, field: g }] };
      }),
      ...next(share(n, 0.08)).map((person): Operation => ({ kind: 'conflict', personId: person.id, field: random.pick(editable), crms: twoCrms(), gapMs: 0 })),
      ...next(share(n, 0.08)).map((person): Operation => ({ kind: 'fields', personId: person.id, edits: [{ crm: random.pick(crms), field: random.pick(editable) }] })),
      ...next(share(n, 0.03)).map((person): Operation => ({ kind: 'erase', personId: person.id, crm: random.pick(crms), field: random.pick(optional) })),
    ],
    Number.MAX_SAFE_INTEGER,
  );

  // The worker is down: nothing propagates, so same-field edits seconds apart are true conflicts,
  // and their stamps (whole seconds against milliseconds) decide. At most 15 s of gaps in all.
  let gapBudget = 15_000;
  const workerDown: Operation[] = random.sample(
    [
      ...next(share(n, 0.06)).map((person): Operation => {
        const gapMs = Math.min(gapBudget, random.pick([0, 0, 250, 600, 1100, 1600]));
        gapBudget -= gapMs;
        return { kind: 'conflict', personId: person.id, field: random.pick(editable), crms: twoCrms(), gapMs };
      }),
      ...next(share(n, 0.04)).map((person): Operation => {
        const [a, b] = twoCrms();
        const [f, g] = twoFields();
        return { kind: 'fields', personId: person.id, edits: [{ crm: a, field: f }, { crm: b, field: g }] };
      }),
      ...next(share(n, 0.03)).map((person): Operation => ({ kind: 'fields', personId: person.id, edits: [{ crm: random.pick(crms), field: random.pick(editable) }] })),
    ],
    Number.MAX_SAFE_INTEGER,
  );

  // Deletions (propagate) of people nobody edits, once they are everywhere; then a few late edits.
  const operated = new Set([...firstPoll, ...live, ...workerDown].map((operation) => operation.personId));
  const untouched = people.filter((person) => person.editable && !operated.has(person.id));
  const deletions = random.sample(untouched, share(n, 0.04)).map((person): Operation => ({ kind: 'delete', personId: person.id, crm: random.pick(crms) }));
  const deleted = new Set(deletions.map((operation) => operation.personId));
  const late = random
    .sample(
      chosen.filter((person) => !deleted.has(person.id)),
      share(n, 0.03),
    )
    .map((person): Operation => ({ kind: 'fields', personId: person.id, edits: [{ crm: random.pick(crms), field: random.pick(editable) }] }));

  return {
    seed: options.seed,
    crms,
    fields,
    rounds: 3,
    people,
    waves: [
      { name: 'first-poll', operations: firstPoll },
      { name: 'live', operations: live },
      { name: 'worker-down', operations: workerDown },
      { name: 'deletions', operations: deletions },
      { name: 'late', operations: late },
    ],
  };
}

function capitalise(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.split('.').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('.')}@${domain}`;
}

/** A new value for an edit, unique in the run (the edit counter), and plausible for the field. */
export function editedValue(field: Field, person: PlannedPerson, counter: number): string {
  const tag = String(counter).padStart(4, '0');
  switch (field) {
    case 'firstName':
      return `${FIRST[counter % FIRST.length] as string}${tag}`;
    case 'lastName':
      return `${LAST[counter % LAST.length] as string}-${tag}`;
    case 'email':
      return person.email;
    case 'phone':
      return `+1 555 9${tag} ${person.index}`;
    case 'mobilePhone':
      return `+1 555 8${tag} ${person.index}`;
    case 'title':
      return `${TITLES[counter % TITLES.length] as string} (${tag})`;
    case 'city':
      return `${CITIES[counter % CITIES.length] as string} ${tag}`;
    case 'country':
      return `${COUNTRIES[counter % COUNTRIES.length] as string} ${tag}`;
  }
}

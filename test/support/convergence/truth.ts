import { latestWinner, normalise, type Candidate, type CrmName, type Field, type Stamp, type Values } from './model';

/**
 * The truth: what people wrote in each CRM and when (by the vendor's stamp), and what the product
 * therefore promises at the end. Computed only from what the test did as people, never from what
 * the product did.
 *
 * Where a field's value comes from:
 * - `initial`: the copies that were there before the sync agree (or only one has a value);
 * - `initial-conflict`: copies that were there before held different non-empty values, decided
 *   by `latest` over each copy's record modstamp before the sync;
 * - `edit` / `erase`: the last edit a person made (erase: to empty);
 * - `conflict`: two people edited the field in two CRMs before either edit reached the other
 *   CRM (a true conflict), decided by `latest` over the two edits' stamps.
 */
export type Origin = 'initial' | 'initial-conflict' | 'edit' | 'erase' | 'conflict';

export interface FieldTruth {
  value: string;
  origin: Origin;
  /** The copy or edit the value comes from (absent when several copies agree). */
  from?: Candidate | undefined;
  /** For conflicts: every candidate, and whether the stamps could not order them (priority decided). */
  candidates?: Candidate[] | undefined;
  tie?: boolean | undefined;
  /**
   * Another value the product may end with: what `latest` makes of the copies as they stood when
   * the product first met them, each with its record's own stamp, when people edited them before
   * that (the product cannot tell such an edit from a copy that differed before the sync).
   */
  alternative?: string | undefined;
  /** The write was made before every connection had first-polled. */
  beforeFirstContact?: boolean | undefined;
}

export interface TrueConflict {
  field: Field;
  candidates: Candidate[];
  winner: CrmName;
  tie: boolean;
}

export interface PersonTruth {
  id: string;
  /** Lower-case: how records are matched to people. */
  email: string;
  deleted: boolean;
  /** CRMs the person was created in by people (before the sync, or during it). */
  createdIn: CrmName[];
  fields: Partial<Record<Field, FieldTruth>>;
  conflicts: TrueConflict[];
  edits: number;
  /**
   * Every modstamp people's writes gave this person's record in each CRM, in order. A record
   * edited again before the product read it reaches the product under the later stamp: vendors
   * stamp records, not fields.
   */
  stamps: Partial<Record<CrmName, Stamp[]>>;
}

interface Copy {
  crm: CrmName;
  values: Values;
  stamp: Stamp;
}

interface PersonState {
  id: string;
  email: string;
  copies: Copy[];
  /** Each CRM's copy as people left it before the product first met the person (values and record stamp). */
  beforeFirstContact: Map<CrmName, Copy>;
  editedBeforeFirstContact: boolean;
  overrides: Partial<Record<Field, FieldTruth>>;
  conflicts: TrueConflict[];
  deleted: boolean;
  edits: number;
  stamps: Partial<Record<CrmName, Stamp[]>>;
}

/** What people did, in order, with the wall-clock time the test did it (for reading a report). */
export interface JournalEntry {
  at: string;
  personId: string;
  crm: CrmName;
  kind: 'copy' | 'edit' | 'delete';
  values?: Values | undefined;
  before?: Values | undefined;
  stamp?: string | undefined;
}

export class Truth {
  private readonly people = new Map<string, PersonState>();
  readonly journal: JournalEntry[] = [];
  /**
   * Set once every connection has first-polled: until then an edit may reach the product before
   * or after the copies it was made on (first contact).
   */
  firstContactDone = false;

  constructor(
    readonly fields: readonly Field[],
    /** The `latest` policy's priority (first wins a tie). */
    readonly priority: readonly CrmName[],
  ) {}

  /** A person's record created by a person in one CRM (before the sync started, or while it ran), with its modstamp. */
  addCopy(personId: string, crm: CrmName, values: Values, stamp: Stamp): void {
    const email = normalise('email', values.email);
    if (email === '') throw new Error(`person ${personId}: a copy without an email cannot be matched`);
    let person = this.people.get(personId);
    if (!person) {
      person = { id: personId, email, copies: [], beforeFirstContact: new Map(), editedBeforeFirstContact: false, overrides: {}, conflicts: [], deleted: false, edits: 0, stamps: {} };
      this.people.set(personId, person);
    }
    if (person.email !== email) throw new Error(`person ${personId}: copies with different emails (${person.email}, ${email})`);
    person.copies.push({ crm, values: { ...values }, stamp });
    (person.stamps[crm] ??= []).push(stamp);
    if (!this.firstContactDone) person.beforeFirstContact.set(crm, { crm, values: { ...values }, stamp });
    this.journal.push({ at: new Date().toISOString(), personId, crm, kind: 'copy', values: { ...values }, stamp: stamp.text });
  }

  /**
   * A person edited the record in `crm`; `before` is what that CRM showed just before the edit
   * (read in the same tick, so nothing happened in between). A field whose last edit was made in
   * another CRM and has not reached this one yet (this CRM still shows something else) makes a
   * true conflict between the two edits; a third edit that saw neither joins their conflict, and
   * `latest` decides among all of them.
   */
  edit(personId: string, crm: CrmName, changes: Values, stamp: Stamp, before: Values): void {
    const person = this.person(personId);
    person.edits += 1;
    (person.stamps[crm] ??= []).push(stamp);
    const copy = person.beforeFirstContact.get(crm);
    if (!this.firstContactDone && copy) {
      person.editedBeforeFirstContact = true;
      person.beforeFirstContact.set(crm, { crm, values: { ...copy.values, ...changes }, stamp });
    }
    const touched = Object.keys(changes) as Field[];
    this.journal.push({ at: new Date().toISOString(), personId, crm, kind: 'edit', values: { ...changes }, before: Object.fromEntries(touched.map((field) => [field, before[field] ?? ''])), stamp: stamp.text });
    for (const [field, raw] of Object.entries(changes) as [Field, string][]) {
      const value = raw ?? '';
      const current = this.fieldState(person, field);
      const edit: Candidate = { crm, value, stamp };
      // The live edits this one did not see: the field's last edit (or every candidate of its last
      // conflict) made in another CRM, when this CRM still showed something else.
      const live = current.origin === 'edit' || current.origin === 'erase' || current.origin === 'conflict';
      const seen = normalise(field, before[field]);
      const unseen =
        live && seen !== normalise(field, current.value)
          ? (current.origin === 'conflict' ? (current.candidates ?? []) : current.from ? [current.from] : []).filter(
              (candidate) =>
                candidate.crm !== crm &&
                normalise(field, candidate.value) !== seen &&
                // Two people who wrote the same value (two erasures) agree: nothing to decide.
                normalise(field, candidate.value) !== normalise(field, value),
            )
          : [];
      if (unseen.length > 0) {
        const candidates = [...unseen, edit];
        const { winner, tie } = latestWinner(candidates, this.priority);
        person.conflicts.push({ field, candidates, winner: winner.crm, tie });
        person.overrides[field] = { value: winner.value, origin: 'conflict', from: winner, candidates, tie, beforeFirstContact: !this.firstContactDone };
      } else {
        person.overrides[field] = { value, origin: value === '' ? 'erase' : 'edit', from: edit, beforeFirstContact: !this.firstContactDone };
      }
    }
  }

  /** A person deleted the record in one CRM: with `propagate`, it must end in none. */
  delete(personId: string, crm: CrmName): void {
    this.person(personId).deleted = true;
    this.journal.push({ at: new Date().toISOString(), personId, crm, kind: 'delete' });
  }

  has(personId: string): boolean {
    return this.people.has(personId);
  }

  /** What the field should be now, as far as people's writes go. */
  expectedValue(personId: string, field: Field): FieldTruth {
    return this.fieldState(this.person(personId), field);
  }

  expected(): PersonTruth[] {
    return [...this.people.values()].map((person) => ({
      id: person.id,
      email: person.email,
      deleted: person.deleted,
      createdIn: [...new Set(person.copies.map((copy) => copy.crm))],
      fields: Object.fromEntries(this.fields.map((field) => [field, this.fieldState(person, field)])),
      conflicts: person.conflicts.map((conflict) => ({ ...conflict, candidates: [...conflict.candidates] })),
      edits: person.edits,
      stamps: Object.fromEntries(Object.entries(person.stamps).map(([crm, stamps]) => [crm, [...stamps]])),
    }));
  }

  private person(personId: string): PersonState {
    const person = this.people.get(personId);
    if (!person) throw new Error(`unknown person ${personId}`);
    return person;
  }

  private fieldState(person: PersonState, field: Field): FieldTruth {
    const override = person.overrides[field];
    const state = override ?? initialState(person.copies, field, this.priority);
    // Written after the product met the person: that write stands, whatever came before.
    if (!person.editedBeforeFirstContact || (override && !override.beforeFirstContact)) return state;
    const atFirstContact = initialState([...person.beforeFirstContact.values()], field, this.priority);
    return normalise(field, atFirstContact.value) === normalise(field, state.value) ? state : { ...state, alternative: atFirstContact.value };
  }
}

/** A field before any edit: what the copies people created hold. */
function initialState(copies: readonly Copy[], field: Field, priority: readonly CrmName[]): FieldTruth {
  const candidates = copies.flatMap((copy) => {
    const value = normalise(field, copy.values[field]);
    return value === '' ? [] : [{ crm: copy.crm, value: copy.values[field] as string, stamp: copy.stamp }];
  });
  if (candidates.length === 0) return { value: '', origin: 'initial' };
  const distinct = new Set(candidates.map((candidate) => normalise(field, candidate.value)));
  if (distinct.size === 1) return { value: (candidates[0] as Candidate).value, origin: 'initial', from: candidates.length === 1 ? candidates[0] : undefined };
  const { winner, tie } = latestWinner(candidates, priority);
  return { value: winner.value, origin: 'initial-conflict', from: winner, candidates, tie };
}

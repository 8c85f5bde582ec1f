import { latestWinner, normalise, type Candidate, type CrmName, type Field, type Values } from './model';
import type { FieldTruth, PersonTruth } from './truth';

/**
 * The convergence scorer: a pure function from what people wrote (the truth) and what the CRMs,
 * the conflicts table and the workflows hold at the end, to counts of each kind of failure with a
 * few examples each. Every count must be 0.
 */
export const FAILURE_KINDS = [
  /** Extra records of one person in one CRM (same email, case-insensitive). */
  'duplicates',
  /** A person (not deleted) absent from a CRM. */
  'missing',
  /** A deleted person still present in a CRM (the delete did not propagate, or the record came back). */
  'resurrected',
  /** A record matching no person (an email nobody wrote). */
  'strays',
  /** A field a person had non-empty, and never erased, that is empty in some CRM. */
  'erased',
  /** A field whose value is not the last one a person wrote (edit, erase, or the only copy's value). */
  'lostEdits',
  /** A field with different values in the CRMs holding the person. */
  'unequalFields',
  /** A field decided by `latest` (true conflict, or copies that differed before the sync) holding the loser's or another value. */
  'latestLost',
  /** A true conflict with no row for that field of that record in the conflicts table. */
  'conflictsUnrecorded',
  /** Vendor record writes during the quiet period after everything settled. */
  'writesAfterQuiet',
  /** Records parked by the workflows at the end. */
  'parked',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface ObservedRecord {
  externalId: string;
  values: Values;
  /** Canonical (sync) ids the product gave this record: its sync-id field, its link rows. */
  canonicalIds: string[];
}

export interface ScoreInput {
  /** The CRMs in the set, with the product's connection id of each (for examples). */
  crms: readonly CrmName[];
  fields: readonly Field[];
  people: readonly PersonTruth[];
  /** Every live record per CRM at the end. */
  observed: Partial<Record<CrmName, readonly ObservedRecord[]>>;
  /** Rows of the product's conflicts table (contact), with the CRM of each candidate's connection. */
  conflictRows: readonly ConflictRow[];
  /** Record writes per CRM during the quiet period. */
  writesAfterQuiet: Partial<Record<CrmName, number>>;
  /** Parked records per connection at the end. */
  parked: readonly { connection: string; key: string; message?: string | undefined }[];
}

export interface ConflictRow {
  canonicalId: string;
  field: string;
  /** The edits the product compared, under the stamps it read them with (absent: not checked). */
  candidates?: readonly { crm: CrmName | undefined; value: unknown; modifiedAt: string | null }[] | undefined;
  decidedValue?: unknown;
}

export interface ScoreReport {
  ok: boolean;
  counts: Record<FailureKind, number>;
  /** Up to `EXAMPLES` per kind, readable on their own. */
  examples: Partial<Record<FailureKind, string[]>>;
  checked: {
    people: number;
    deleted: number;
    fields: number;
    trueConflicts: number;
    /**
     * True conflicts the product decided, by `latest`, on a later stamp of a candidate's record
     * than the edit's own: that record was edited again by a person before the product read it
     * (the vendor stamps the record, not the field), and the conflicts table shows the stamps.
     */
    decidedOnLaterStamps: number;
    records: Partial<Record<CrmName, number>>;
  };
}

const EXAMPLES = 6;

export function score(input: ScoreInput): ScoreReport {
  const counts = Object.fromEntries(FAILURE_KINDS.map((kind) => [kind, 0])) as Record<FailureKind, number>;
  const examples: Partial<Record<FailureKind, string[]>> = {};
  const fail = (kind: FailureKind, count: number, example: () => string): void => {
    if (count <= 0) return;
    counts[kind] += count;
    const list = (examples[kind] ??= []);
    if (list.length < EXAMPLES) list.push(example());
  };

  const people = new Map(input.people.map((person) => [person.email, person]));
  // Records per CRM by email (case-insensitive).
  const byEmail = new Map<CrmName, Map<string, ObservedRecord[]>>();
  for (const crm of input.crms) {
    const index = new Map<string, ObservedRecord[]>();
    for (const record of input.observed[crm] ?? []) {
      const email = normalise('email', record.values.email);
      if (!people.has(email)) {
        fail('strays', 1, () => `${crm} ${record.externalId}: ${email === '' ? 'no email' : `email ${email} belongs to nobody`} ${show(record.values)}`);
        continue;
      }
      index.set(email, [...(index.get(email) ?? []), record]);
    }
    byEmail.set(crm, index);
  }
  const recordsOf = (crm: CrmName, email: string): ObservedRecord[] => byEmail.get(crm)?.get(email) ?? [];

  let trueConflicts = 0;
  let decidedOnLaterStamps = 0;
  const conflictKeys = new Set(input.conflictRows.map((row) => `${row.canonicalId}|${row.field}`));
  for (const person of input.people) {
    const label = `${person.id} <${person.email}>`;
    for (const crm of input.crms) {
      const records = recordsOf(crm, person.email);
      fail('duplicates', records.length - 1, () => `${label}: ${records.length} records in ${crm} (${records.map((record) => record.externalId).join(', ')})`);
      if (person.deleted) fail('resurrected', records.length > 0 ? 1 : 0, () => `${label}: deleted by a person, still in ${crm} (${records.map((record) => record.externalId).join(', ')})`);
      else fail('missing', records.length === 0 ? 1 : 0, () => `${label}: not in ${crm} (created in ${person.createdIn.join(', ')})`);
    }
    if (person.deleted) continue;

    // One record per CRM stands for the person (the oldest, when duplicated).
    const held = input.crms.flatMap((crm) => {
      const record = recordsOf(crm, person.email)[0];
      return record ? [{ crm, record }] : [];
    });
    const canonicalIds = new Set(held.flatMap(({ record }) => record.canonicalIds));
    const rowsOfPerson = input.conflictRows.filter((row) => canonicalIds.has(row.canonicalId));
    for (const field of input.fields) {
      const truth = person.fields[field] ?? { value: '', origin: 'initial' as const };
      const expected = normalise(field, truth.value);
      const values = held.map(({ crm, record }) => ({ crm, value: normalise(field, record.values[field]) }));
      const shown = (): string => values.map(({ crm, value }) => `${crm}=${JSON.stringify(value)}`).join(' ');
      if (new Set(values.map(({ value }) => value)).size > 1) fail('unequalFields', 1, () => `${label} ${field}: ${shown()}`);
      const acceptable = new Set([expected, ...(truth.alternative === undefined ? [] : [normalise(field, truth.alternative)])]);
      const wrong = values.filter(({ value }) => !acceptable.has(value));
      if (wrong.length === 0) continue;
      const describe = (): string =>
        `${label} ${field}: expected ${JSON.stringify(truth.value)}${truth.alternative === undefined ? '' : ` or ${JSON.stringify(truth.alternative)} (the copies at first contact)`} (${explain(truth)}), got ${shown()}`;
      if (expected !== '' && wrong.some(({ value }) => value === '')) fail('erased', 1, describe);
      else if (truth.origin === 'conflict' && decidedOnLaterStamp(person, field, values, rowsOfPerson, input.crms)) decidedOnLaterStamps += 1;
      else if (truth.origin === 'conflict' || truth.origin === 'initial-conflict') fail('latestLost', 1, describe);
      else fail('lostEdits', 1, describe);
    }

    for (const conflict of person.conflicts) {
      trueConflicts += 1;
      const recorded = [...canonicalIds].some((canonicalId) => conflictKeys.has(`${canonicalId}|${conflict.field}`));
      fail('conflictsUnrecorded', recorded ? 0 : 1, () => `${label} ${conflict.field}: ${conflict.candidates.map(showCandidate).join(' vs ')} (canonical ids ${[...canonicalIds].join(', ') || 'none'})`);
    }
  }

  for (const crm of input.crms) {
    const writes = input.writesAfterQuiet[crm] ?? 0;
    fail('writesAfterQuiet', writes, () => `${crm}: ${writes} record writes after everything had settled`);
  }
  for (const parked of input.parked) fail('parked', 1, () => `${parked.connection} ${parked.key}${parked.message ? `: ${parked.message}` : ''}`);

  return {
    ok: FAILURE_KINDS.every((kind) => counts[kind] === 0),
    counts,
    examples,
    checked: {
      people: input.people.length,
      deleted: input.people.filter((person) => person.deleted).length,
      fields: input.fields.length,
      trueConflicts,
      decidedOnLaterStamps,
      records: Object.fromEntries(input.crms.map((crm) => [crm, input.observed[crm]?.length ?? 0])),
    },
  };
}

/**
 * Whether every CRM ended with a candidate of the field's last true conflict that `latest` picks
 * over the stamps the product recorded for the candidates in its conflicts table, each of them a
 * stamp people gave that candidate's record at or after the candidate's edit. The product read
 * that record only after a later edit of it (of any field), which the vendor's record stamp
 * cannot tell apart: by the vendors' stamps, that decision is right. A stamp nobody but the
 * product made (its own write's) explains nothing.
 */
function decidedOnLaterStamp(person: PersonTruth, field: Field, values: readonly { value: string }[], rows: readonly ConflictRow[], priority: readonly CrmName[]): boolean {
  const final = values[0]?.value;
  if (final === undefined || values.some(({ value }) => value !== final)) return false;
  const conflict = [...person.conflicts].reverse().find((candidate) => candidate.field === field);
  if (!conflict?.candidates.some((candidate) => normalise(field, candidate.value) === final)) return false;
  return rows.some((row) => {
    if (row.field !== field || !row.candidates || normalise(field, row.decidedValue) !== final) return false;
    const seen = row.candidates.map((recorded): Candidate | undefined => {
      const edit = conflict.candidates.find((candidate) => candidate.crm === recorded.crm && normalise(field, candidate.value) === normalise(field, recorded.value));
      if (!edit || recorded.modifiedAt === null) return undefined;
      const at = Date.parse(recorded.modifiedAt);
      const stamp = (person.stamps[edit.crm] ?? []).find((candidate) => candidate.ms === at && candidate.ms >= edit.stamp.ms);
      return stamp && { crm: edit.crm, value: edit.value, stamp };
    });
    if (seen.some((candidate) => candidate === undefined)) return false;
    return normalise(field, latestWinner(seen as Candidate[], priority).winner.value) === final;
  });
}

function showCandidate(candidate: Candidate): string {
  return `${candidate.crm} ${JSON.stringify(candidate.value)} @${candidate.stamp.text}`;
}

function explain(truth: FieldTruth): string {
  switch (truth.origin) {
    case 'initial':
      return truth.from ? `only ${truth.from.crm} had it before the sync` : 'the copies before the sync';
    case 'initial-conflict':
    case 'conflict': {
      const what = truth.origin === 'conflict' ? 'true conflict' : 'copies differed before the sync';
      const how = truth.tie ? 'stamps overlap, priority decides' : 'later stamp wins';
      return `${what}: ${(truth.candidates ?? []).map(showCandidate).join(' vs ')}; ${how}: ${truth.from?.crm ?? '?'}`;
    }
    case 'edit':
    case 'erase':
      return `${truth.origin} in ${truth.from?.crm ?? '?'} @${truth.from?.stamp.text ?? '?'}`;
  }
}

function show(values: Values): string {
  return JSON.stringify(Object.fromEntries(Object.entries(values).filter(([, value]) => value !== '' && value !== undefined)));
}

import type { References } from '../../model/canonical';
import type { ObjectType } from '../../model/identifiers';

/**
 * Pure mapping between Pipedrive's links and the canonical reference slots (BEHAVIOR.md,
 * "Associations"). Pipedrive keeps them in three shapes:
 * - single ids on the record: a person's and a deal's `org_id`, a deal's `person_id`, an
 *   activity's `org_id` and `deal_id`;
 * - an activity's `participants` `[{person_id, primary}]` (v2; its `person_id` is the primary one
 *   and read-only) [P17];
 * - a deal's participants, a v1 list of their own (`/v1/deals/{id}/participants`) [P13], which
 *   a record read does not carry: it says only how many there are (`participants_count`) [P16].
 */

/** An activity participant as v2 answers it: `primary_flag` by users' reports, `primary` by the client's model [P17]. */
export interface ActivityParticipant {
  person_id: number;
  primary_flag?: boolean;
  primary?: boolean;
}

export function idOrNull(value: unknown): string | null {
  return typeof value === 'number' ? String(value) : typeof value === 'string' && value !== '' ? value : null;
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/**
 * Whether a deal's participants must be listed to know its contacts: only when it has any
 * (`participants_count` > 0). A deal read without the count (never, on our paths) is listed too.
 */
export function needsParticipants(record: Readonly<Record<string, unknown>>): boolean {
  const count = record.participants_count;
  return typeof count !== 'number' || count > 0;
}

/**
 * The slots a record holds. `dealParticipants` is the deal's participant person ids when listed
 * (or known empty); undefined leaves `contacts` out: not read, never "none".
 */
export function referencesOf(objectType: ObjectType, record: Readonly<Record<string, unknown>>, dealParticipants?: readonly string[]): References {
  switch (objectType) {
    case 'contact':
      return { company: idOrNull(record.org_id) };
    case 'company':
      return {};
    case 'deal': {
      const person = idOrNull(record.person_id);
      const references: References = { company: idOrNull(record.org_id), primaryContact: person };
      // The deal's person is one of its contacts whether or not Pipedrive also lists it as a participant.
      if (dealParticipants) references.contacts = unique([...(person ? [person] : []), ...dealParticipants]);
      return references;
    }
    case 'activity':
      return { company: idOrNull(record.org_id), deal: idOrNull(record.deal_id), contacts: activityContacts(record) };
  }
}

/** An activity's persons, the primary first (so writing the list back keeps it primary). */
function activityContacts(record: Readonly<Record<string, unknown>>): string[] {
  const participants = Array.isArray(record.participants) ? (record.participants as ActivityParticipant[]) : [];
  const isPrimary = (participant: ActivityParticipant): boolean => participant.primary_flag === true || participant.primary === true;
  const ordered = [...participants.filter(isPrimary), ...participants.filter((participant) => !isPrimary(participant))];
  const ids = ordered.map((participant) => idOrNull(participant.person_id)).filter((id): id is string => id !== null);
  // An activity read from an answer without `participants` still names its primary person.
  const person = idOrNull(record.person_id);
  return unique(ids.length === 0 && person ? [person] : ids);
}

function single(value: string | null | string[] | undefined): number | null {
  const id = Array.isArray(value) ? value[0] : value;
  return id === undefined || id === null ? null : Number(id);
}

function many(value: string | null | string[] | undefined): string[] {
  if (Array.isArray(value)) return unique(value);
  return value === null || value === undefined ? [] : [value];
}

/**
 * The record fields the written slots set; slots absent are left out (untouched). An activity's
 * contacts become its whole `participants` list, the first one primary. A deal's `contacts` are
 * not a record field: see `dealContactsPlan`.
 */
export function referenceFields(objectType: ObjectType, references: References): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const has = (slot: string): boolean => Object.prototype.hasOwnProperty.call(references, slot);
  if (has('company')) out.org_id = single(references.company);
  if (objectType === 'deal' && has('primaryContact')) out.person_id = single(references.primaryContact);
  if (objectType === 'activity') {
    if (has('deal')) out.deal_id = single(references.deal);
    if (has('contacts')) out.participants = many(references.contacts).map((id, index) => ({ person_id: Number(id), primary: index === 0 }));
  }
  return out;
}

/** A deal participant as listed: its own id (what DELETE takes) and the person's. */
export interface DealParticipantRow {
  participantId: number;
  personId: string;
}

export interface DealContactsPlan {
  /** Set the deal's `person_id` to null first: the contacts written leave its person out. */
  clearPerson: boolean;
  add: string[];
  /** Participant ids (not person ids) to delete. */
  remove: number[];
}

/**
 * What makes a deal's contacts exactly `wanted`, given its person after the write and its current
 * participants: participants are the wanted persons other than the deal's person; a person no
 * longer wanted stops being the deal's person (the contacts slot is the whole set; BEHAVIOR.md).
 */
export function dealContactsPlan(wanted: readonly string[], person: string | null, current: readonly DealParticipantRow[]): DealContactsPlan {
  const want = new Set(wanted);
  const clearPerson = person !== null && !want.has(person);
  const keptPerson = clearPerson ? null : person;
  const present = new Set(current.map((row) => row.personId));
  const add = [...want].filter((id) => id !== keptPerson && !present.has(id));
  // A participant who is also the deal's person is left alone: the person is in the set either way.
  const seen = new Set<string>();
  const remove: number[] = [];
  for (const row of current) {
    const duplicate = seen.has(row.personId);
    seen.add(row.personId);
    if (duplicate || !want.has(row.personId)) remove.push(row.participantId);
  }
  return { clearPerson, add, remove };
}

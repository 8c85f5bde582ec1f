import type { FastifyInstance } from 'fastify';
import { errorBody, notFound, PipedriveError, validation } from './errors';
import { SANDBOX_USER_ID } from './changelog';
import { renderRecord, rfc3339, type RecordStore } from './store';

/**
 * A deal's participants (v1 only; v2 has no participants endpoint) [P13][P14]: persons involved in
 * the deal besides its `person_id`. Adding or removing one is logged in the deal's participants
 * changelog [P15]; whether it also moves the deal's `update_time` is UNCONFIRMED, and the sandbox
 * does NOT move it (nor send a deal webhook): the case a poller cannot see, so the connector is
 * tested against it (BEHAVIOR.md).
 */
interface Participant {
  id: number;
  dealId: number;
  personId: number;
  addTime: number;
}

interface ParticipantLogEntry {
  actor_user_id: number;
  person_id: number;
  action: 'added' | 'removed';
  time: string;
}

/** v1 offset paging: `limit` 100 by default; 500 at most (the v1 maximum elsewhere, UNCONFIRMED here). */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

export class DealParticipants {
  private readonly byDeal = new Map<number, Participant[]>();
  private readonly log = new Map<number, ParticipantLogEntry[]>();
  private nextId = 1;

  constructor(
    private readonly store: RecordStore,
    private readonly now: () => number,
  ) {}

  list(dealId: number): Participant[] {
    this.store.live('deals', dealId);
    return [...(this.byDeal.get(dealId) ?? [])];
  }

  count(dealId: number): number {
    return this.byDeal.get(dealId)?.length ?? 0;
  }

  add(dealId: number, personId: unknown): Participant {
    this.store.live('deals', dealId);
    if (typeof personId !== 'number' || !Number.isInteger(personId) || personId <= 0) throw validation('Validation failed: person_id: must be a positive integer');
    // A person who does not exist (or is deleted) cannot take part; the exact answer is UNCONFIRMED.
    const person = this.store.get('persons', personId);
    if (!person || person.deletedAt !== undefined) throw notFound('person');
    const current = this.byDeal.get(dealId) ?? [];
    // Adding a person twice: the answer is UNCONFIRMED; the sandbox refuses it so a client that does not diff is caught.
    if (current.some((participant) => participant.personId === personId)) throw new PipedriveError(400, errorBody('Person is already a participant of this deal', { code: 'ERR_BAD_REQUEST' }));
    const participant: Participant = { id: this.nextId++, dealId, personId, addTime: this.now() };
    this.byDeal.set(dealId, [...current, participant]);
    this.append(dealId, personId, 'added');
    return participant;
  }

  remove(dealId: number, participantId: number): number {
    this.store.live('deals', dealId);
    const current = this.byDeal.get(dealId) ?? [];
    const participant = current.find((candidate) => candidate.id === participantId);
    if (!participant) throw notFound('participant');
    this.byDeal.set(
      dealId,
      current.filter((candidate) => candidate.id !== participantId),
    );
    this.append(dealId, participant.personId, 'removed');
    return participant.id;
  }

  changelog(dealId: number): ParticipantLogEntry[] {
    this.store.live('deals', dealId);
    return [...(this.log.get(dealId) ?? [])];
  }

  private append(dealId: number, personId: number, action: ParticipantLogEntry['action']): void {
    // v1 times: `YYYY-MM-DD HH:MM:SS`, UTC [P15].
    const time = rfc3339(this.now()).replace('T', ' ').replace('Z', '');
    this.log.set(dealId, [...(this.log.get(dealId) ?? []), { actor_user_id: SANDBOX_USER_ID, person_id: personId, action, time }]);
  }

  /** A participant as the v1 list and add answers give it [P13]: `person_id` is the person object, its id in `value`. */
  render(participant: Participant): Record<string, unknown> {
    const person = this.store.get('persons', participant.personId);
    const rendered = person ? renderRecord(person) : undefined;
    return {
      id: participant.id,
      person_id: { value: participant.personId, name: rendered?.name ?? '', active_flag: person?.deletedAt === undefined },
      add_time: rfc3339(participant.addTime).replace('T', ' ').replace('Z', ''),
      active_flag: true,
      related_item_type: 'deal',
      related_item_id: participant.dealId,
      person: rendered ? { id: participant.personId, name: rendered.name } : null,
    };
  }
}

function positive(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw validation(`Validation failed: ${name}: must be a positive integer`);
  return value;
}

function offsetParam(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (name === 'start' ? 0 : 1) || value > max) throw validation(`Validation failed: ${name}: must be an integer from ${name === 'start' ? 0 : 1} to ${max}`);
  return value;
}

/**
 * `GET/POST /v1/deals/{id}/participants` (offset paging: `start`, `limit`; `additional_data`
 * `{start, limit, more_items_in_collection}` [P13]), `DELETE /v1/deals/{id}/participants/{deal_participant_id}`
 * (answers `{id}` of the participant [P13]) and `GET /v1/deals/{id}/participantsChangelog`
 * (cursor paged, `{actor_user_id, person_id, action, time}` [P15]).
 */
export function registerParticipantRoutes(app: FastifyInstance, participants: DealParticipants): void {
  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/v1/deals/:id/participants', async (request) => {
    const dealId = positive('id', request.params.id);
    const start = offsetParam('start', request.query.start, 0, Number.MAX_SAFE_INTEGER);
    const limit = offsetParam('limit', request.query.limit, DEFAULT_LIMIT, MAX_LIMIT);
    const all = participants.list(dealId);
    const slice = all.slice(start, start + limit);
    return { success: true, data: slice.map((participant) => participants.render(participant)), additional_data: { start, limit, more_items_in_collection: start + limit < all.length } };
  });

  app.post<{ Params: { id: string } }>('/v1/deals/:id/participants', async (request) => {
    const dealId = positive('id', request.params.id);
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validation('Validation failed: body: must be a JSON object');
    const participant = participants.add(dealId, (body as { person_id?: unknown }).person_id);
    return { success: true, data: participants.render(participant) };
  });

  app.delete<{ Params: { id: string; participantId: string } }>('/v1/deals/:id/participants/:participantId', async (request) => {
    const dealId = positive('id', request.params.id);
    const id = participants.remove(dealId, positive('deal_participant_id', request.params.participantId));
    return { success: true, data: { id } };
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/v1/deals/:id/participantsChangelog', async (request) => {
    const dealId = positive('id', request.params.id);
    const limit = offsetParam('limit', request.query.limit, DEFAULT_LIMIT, MAX_LIMIT);
    const start = request.query.cursor ? decodeLogCursor(request.query.cursor) : 0;
    const entries = participants.changelog(dealId);
    const slice = entries.slice(start, start + limit);
    const next = start + limit < entries.length ? Buffer.from(JSON.stringify({ o: start + limit }), 'utf8').toString('base64url') : null;
    return { success: true, data: slice, additional_data: { next_cursor: next } };
  });
}

function decodeLogCursor(cursor: string): number {
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof state.o === 'number' && Number.isInteger(state.o) && state.o >= 0) return state.o;
  } catch {
    // Falls through to the validation error.
  }
  throw validation('Validation failed: cursor: Invalid cursor');
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CountersSnapshot } from '../core/counters';
import type { FakeData } from '../core/fake-data';
import { ADMIN_PREFIX } from '../core/sandbox-app';
import { createSeeder } from '../core/seeding';
import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import type { AuthRegistry } from './auth';
import { notFound, validation } from './errors';
import type { LimitsState, PipedriveLimitOptions, PipedriveLimits } from './limits';
import { DEFAULT_STAGES, ENTITIES, entityOf, type FieldKind, type PipedriveEntity } from './schema';
import { customFieldKey, renderRecord, SYNC_ID_FIELD_NAME, type RecordStore } from './store';
import type { DealParticipants } from './participants';
import type { PipedriveWebhooks, WebhookSubscription } from './webhooks';

/** A request the sandbox will carry out and then not answer (the socket is destroyed): a lost response. */
export interface LostResponseRule {
  method: string;
  /** Route pattern, e.g. `/api/v2/:entity`, or a concrete path prefix such as `/api/v2/persons`. */
  path: string;
  remaining: number;
}

/** Lost responses on demand: the write happens, the caller never hears of it (retries must not duplicate). */
export class LostResponses {
  private rules: LostResponseRule[] = [];
  lost = 0;

  add(rule: LostResponseRule): void {
    this.rules.push({ ...rule });
  }

  /** Whether this (already handled) request's answer is to be lost; counts it down. */
  take(request: FastifyRequest): boolean {
    const path = request.url.split('?')[0] ?? '';
    const rule = this.rules.find((candidate) => candidate.remaining > 0 && candidate.method === request.method && (candidate.path === request.routeOptions.url || path.startsWith(candidate.path)));
    if (!rule) return false;
    rule.remaining -= 1;
    this.lost += 1;
    return true;
  }
}

/** The sandbox's in-process knobs; most are mirrored under `/__sandbox`. */
export interface PipedriveAdmin {
  /** Adds N realistic records per entity (no webhooks: they stand for data already there). */
  seed(counts: Partial<Record<PipedriveEntity, number>>): Record<PipedriveEntity, number[]>;
  /** Writes as a person in the web app would (`meta.change_source` = `app`). */
  createAsUser(entity: PipedriveEntity, body: Record<string, unknown>): Record<string, unknown>;
  changeAsUser(entity: PipedriveEntity, id: number, body: Record<string, unknown>): Record<string, unknown>;
  deleteAsUser(entity: PipedriveEntity, id: number): Record<string, unknown>;
  /** Every stored record of an entity (deleted ones included, with `is_deleted`). */
  listRecords(entity: PipedriveEntity): Record<string, unknown>[];
  getRecord(entity: PipedriveEntity, id: number): Record<string, unknown> | undefined;
  /** Adds a custom field (as an admin would in Settings); returns its 40-hex key. */
  /** A custom field; an `enum` given option labels takes only their ids (see `fieldOptions`). */
  defineField(entity: PipedriveEntity, name: string, fieldType: FieldKind, options?: readonly string[]): string;
  /** An enum field's options, `{id, label}`, as the field definitions list them. */
  fieldOptions(entity: PipedriveEntity, key: string): { id: number; label: string }[];
  /** A custom activity type (its key_string is made from the name) [P19]. */
  addActivityType(name: string, iconKey: string): { key_string: string };
  /** Turns a type off (`active_flag` false) or back on: writes naming an inactive type are refused. */
  deactivateActivityType(key: string): boolean;
  activateActivityType(key: string): boolean;
  /** The key of the `crm_sync_id` custom field every entity has. */
  syncIdFieldKey(entity: PipedriveEntity): string;
  /** Expires every OAuth access token; later calls with them get 401. */
  expireTokens(): number;
  /** Refresh grants the token endpoint has answered. */
  tokenGrants(): number;
  spendDailyTokens(tokens: number): void;
  configureLimits(options: PipedriveLimitOptions): LimitsState;
  limits(): LimitsState;
  /** The next `count` matching requests are carried out but their answers are lost. */
  loseResponses(rule: { method: string; path: string; count?: number }): void;
  lostResponses(): number;
  webhookSubscriptions(): WebhookSubscription[];
  counters(): CountersSnapshot;
  /** Waits until every queued webhook delivery succeeded or gave up. */
  flushWebhooks(): Promise<void>;
  /** Adds a deal participant as a person in the web app would (logged; the deal's `update_time` stays, see participants.ts). */
  addDealParticipant(dealId: number, personId: number): number;
  removeDealParticipant(dealId: number, personId: number): void;
  /** The persons taking part in a deal (its participants, not its `person_id`). */
  dealParticipants(dealId: number): number[];
}

export interface AdminDeps {
  store: RecordStore;
  participants: DealParticipants;
  auth: AuthRegistry;
  limits: PipedriveLimits;
  webhooks: PipedriveWebhooks;
  dispatcher: WebhookDispatcher;
  lost: LostResponses;
  counters: () => CountersSnapshot;
  fake: FakeData;
}

export function createAdmin(deps: AdminDeps): PipedriveAdmin {
  return {
    seed: createSeeder(ENTITIES, deps.webhooks, (entity, indexes) => indexes.map((index) => deps.store.create(entity, fakeBody(deps.fake, entity, index), 'app').id)),
    createAsUser: (entity, body) => renderRecord(deps.store.create(entity, body, 'app')),
    changeAsUser: (entity, id, body) => renderRecord(deps.store.update(entity, id, body, 'app')),
    deleteAsUser: (entity, id) => renderRecord(deps.store.delete(entity, id, 'app')),
    listRecords: (entity) => deps.store.all(entity).map(renderRecord),
    getRecord(entity, id) {
      const record = deps.store.get(entity, id);
      return record ? renderRecord(record) : undefined;
    },
    defineField: (entity, name, fieldType, options) => deps.store.defineField(entity, name, fieldType, options).key,
    fieldOptions: (entity, key) => deps.store.fields(entity).find((field) => field.key === key)?.options ?? [],
    addActivityType: (name, iconKey) => deps.store.activityTypes.add(name, iconKey),
    deactivateActivityType: (key) => deps.store.activityTypes.setActive(key, false),
    activateActivityType: (key) => deps.store.activityTypes.setActive(key, true),
    syncIdFieldKey: (entity) => customFieldKey(entity, SYNC_ID_FIELD_NAME),
    expireTokens: () => deps.auth.expireAll(),
    tokenGrants: () => deps.auth.refreshGrants,
    spendDailyTokens: (tokens) => deps.limits.spendDaily(tokens),
    configureLimits(options) {
      deps.limits.configure(options);
      return deps.limits.state();
    },
    limits: () => deps.limits.state(),
    loseResponses: ({ method, path, count = 1 }) => deps.lost.add({ method: method.toUpperCase(), path, remaining: count }),
    lostResponses: () => deps.lost.lost,
    webhookSubscriptions: () => deps.webhooks.list(),
    counters: () => deps.counters(),
    flushWebhooks: () => deps.dispatcher.idle(),
    addDealParticipant: (dealId, personId) => deps.participants.add(dealId, personId).id,
    removeDealParticipant(dealId, personId) {
      const participant = deps.participants.list(dealId).find((candidate) => candidate.personId === personId);
      if (!participant) throw notFound('participant');
      deps.participants.remove(dealId, participant.id);
    },
    dealParticipants: (dealId) => deps.participants.list(dealId).map((participant) => participant.personId),
  };
}

const DEAL_STAGE_IDS: Record<string, number> = { prospecting: 1, qualification: 2, proposal: 3, negotiation: 4 };

function fakeBody(fake: FakeData, entity: PipedriveEntity, index: number): Record<string, unknown> {
  switch (entity) {
    case 'persons': {
      const person = fake.person(index);
      return {
        name: `${person.firstName} ${person.lastName}`,
        first_name: person.firstName,
        last_name: person.lastName,
        emails: [{ value: person.email, primary: true, label: 'work' }],
        phones: [{ value: person.phone, primary: true, label: 'work' }],
        job_title: person.title,
      };
    }
    case 'organizations': {
      const company = fake.company(index);
      return { name: company.name, address: { value: company.city, locality: company.city }, industry: company.industry, website: `https://${company.domain}` };
    }
    case 'deals': {
      const deal = fake.deal(index);
      const status = deal.stage === 'closed-won' ? 'won' : deal.stage === 'closed-lost' ? 'lost' : 'open';
      return { title: deal.name, value: deal.amount, currency: 'USD', stage_id: DEAL_STAGE_IDS[deal.stage] ?? DEFAULT_STAGES[4].id, status, expected_close_date: deal.closeDate };
    }
    case 'activities': {
      const person = fake.person(index);
      const due = new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toISOString();
      return { subject: `Call ${person.firstName} ${person.lastName}`, type: 'call', due_date: due.slice(0, 10), due_time: due.slice(11, 16), done: index % 3 === 0, note: `Call ${person.phone} about next steps.` };
    }
  }
}

type EntityParams = { entity: string };
type RecordParams = { entity: string; id: string };

function entityParam(segment: string): PipedriveEntity {
  const entity = entityOf(segment);
  if (!entity) throw notFound('Entity');
  return entity;
}

/** HTTP mirror of the admin API (the core serves counters, faults and the webhook switch). */
export function registerAdminRoutes(app: FastifyInstance, admin: PipedriveAdmin): void {
  const at = (path: string): string => `${ADMIN_PREFIX}${path}`;
  const body = (raw: unknown): Record<string, unknown> => (typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {});
  app.post<{ Body: Partial<Record<PipedriveEntity, number>> | undefined }>(at('/seed'), async (request) => admin.seed(request.body ?? {}));
  app.get<{ Params: EntityParams }>(at('/records/:entity'), async (request) => admin.listRecords(entityParam(request.params.entity)));
  app.post<{ Params: EntityParams }>(at('/records/:entity'), async (request, reply) => reply.code(201).send(admin.createAsUser(entityParam(request.params.entity), body(request.body))));
  app.get<{ Params: RecordParams }>(at('/records/:entity/:id'), async (request) => {
    const entity = entityParam(request.params.entity);
    const record = admin.getRecord(entity, Number(request.params.id));
    if (!record) throw notFound(entity);
    return record;
  });
  app.patch<{ Params: RecordParams }>(at('/records/:entity/:id'), async (request) => admin.changeAsUser(entityParam(request.params.entity), Number(request.params.id), body(request.body)));
  app.delete<{ Params: RecordParams }>(at('/records/:entity/:id'), async (request) => admin.deleteAsUser(entityParam(request.params.entity), Number(request.params.id)));
  app.post<{ Params: EntityParams; Body: { name?: string; field_type?: FieldKind } | undefined }>(at('/fields/:entity'), async (request, reply) => {
    const name = request.body?.name;
    if (typeof name !== 'string' || name === '') throw validation('Validation failed: name: required');
    return reply.code(201).send({ key: admin.defineField(entityParam(request.params.entity), name, request.body?.field_type ?? 'varchar') });
  });
  app.post(at('/tokens/expire'), async () => ({ expired: admin.expireTokens() }));
  app.post<{ Body: { tokens?: number } | undefined }>(at('/limits/daily/spend'), async (request) => {
    const tokens = request.body?.tokens;
    if (typeof tokens !== 'number' || tokens < 0) throw validation('Validation failed: tokens: must be a non-negative number');
    admin.spendDailyTokens(tokens);
    return admin.limits();
  });
  app.get(at('/limits'), async () => admin.limits());
  app.put<{ Body: PipedriveLimitOptions | undefined }>(at('/limits'), async (request) => admin.configureLimits(request.body ?? {}));
  app.post<{ Body: { method?: string; path?: string; count?: number } | undefined }>(at('/lose-responses'), async (request, reply) => {
    const { method, path, count } = request.body ?? {};
    if (typeof method !== 'string' || typeof path !== 'string') throw validation('Validation failed: method and path are required');
    admin.loseResponses({ method, path, ...(count !== undefined ? { count } : {}) });
    return reply.code(204).send();
  });
  app.post(at('/webhooks/flush'), async (_request, reply) => {
    await admin.flushWebhooks();
    return reply.code(204).send();
  });
}

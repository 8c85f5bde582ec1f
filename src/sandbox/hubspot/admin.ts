import type { FastifyInstance } from 'fastify';
import type { CountersSnapshot, SandboxCounters } from '../core/counters';
import type { FakeData } from '../core/fake-data';
import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import { ADMIN_PREFIX } from '../core/sandbox-app';
import { createSeeder } from '../core/seeding';
import type { AssociationStore, AssociationLabel } from './associations';
import type { AuthRegistry } from './auth';
import { defaultTypeId, primaryTypeId } from './associations';
import { HubSpotError, notFound } from './errors';
import type { HubSpotLimitOptions, HubSpotLimits, LimitsState } from './limits';
import { toPublicObject, type PublicObject } from './public-object';
import { objectTypeParam } from './request-context';
import { OBJECT_TYPES, type HubSpotObjectType, type PropertyKind } from './schema';
import { fakeProperties } from './seed';
import type { PropertyInput, RecordStore, StoredRecord, WriteSource } from './store';
import type { HubSpotWebhooks } from './webhooks';
import type { BeforeWriteHook, WriteHooks } from './write-hooks';

/** A record as the admin surface shows it: every stored property. */
export interface HubSpotRecordView extends PublicObject {
  type: HubSpotObjectType;
}

/** The sandbox's in-process knobs; each is mirrored by an HTTP route under `/__sandbox`. */
export interface HubSpotAdmin {
  /** Adds N realistic records per type (no webhooks: they stand for data that was already there). */
  seed(counts: Partial<Record<HubSpotObjectType, number>>): Record<HubSpotObjectType, string[]>;
  /** Writes as a person in HubSpot's UI would: webhooks carry changeSource CRM_UI. */
  createAsUser(type: HubSpotObjectType, properties: PropertyInput): HubSpotRecordView;
  changeAsUser(type: HubSpotObjectType, id: string, properties: PropertyInput): HubSpotRecordView;
  archive(type: HubSpotObjectType, id: string): boolean;
  restore(type: HubSpotObjectType, id: string): HubSpotRecordView;
  getRecord(type: HubSpotObjectType, id: string): HubSpotRecordView | undefined;
  /** Adds a custom property to this portal (as a HubSpot admin would in Settings), e.g. a tenant field. */
  /** A custom property; an enumeration given `options` refuses other values (INVALID_OPTION). */
  defineProperty(type: HubSpotObjectType, name: string, kind: PropertyKind, unique?: boolean, options?: readonly string[]): void;
  listRecords(type: HubSpotObjectType, options?: { archived?: boolean }): HubSpotRecordView[];
  /**
   * Associates two records as a person in HubSpot's UI would (webhooks carry CRM_UI); `primary`
   * makes the company the contact's or deal's primary one. Neither record's modstamp moves.
   */
  associateAsUser(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, options?: { primary?: boolean }): void;
  dissociateAsUser(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string): void;
  /** A record's associations to one type, with their labels, as the v4 read shows them. */
  listAssociations(type: HubSpotObjectType, id: string, toType: HubSpotObjectType): { toObjectId: string; associationTypes: AssociationLabel[] }[];
  /** Expires one OAuth access token or all; later calls with it get 401 EXPIRED_AUTHENTICATION. */
  expireTokens(token?: string): number;
  issueRefreshToken(): string;
  issueAuthorizationCode(): string;
  spendDailyBudget(count: number): void;
  configureLimits(options: HubSpotLimitOptions): LimitsState;
  limits(): LimitsState;
  counters(): CountersSnapshot;
  /** Sends gathered webhook events now and waits until every delivery succeeded or gave up. */
  flushWebhooks(): Promise<void>;
  /**
   * Runs `hook` just before each API write (create, update, upsert; single or batch) is handled,
   * until it returns true. In-process only: for races a test must make happen at one exact moment.
   */
  beforeApiWrite(hook: BeforeWriteHook): void;
}

export interface AdminDeps {
  store: RecordStore;
  associations: AssociationStore;
  writeHooks: WriteHooks;
  auth: AuthRegistry;
  limits: HubSpotLimits;
  counters: SandboxCounters;
  webhooks: HubSpotWebhooks;
  dispatcher: WebhookDispatcher;
  fake: FakeData;
  /** HubSpot UI writes are attributed to a user: `sourceId` "userId:N". */
  userId: number;
}

function view(record: StoredRecord): HubSpotRecordView {
  return { ...toPublicObject(record, Object.keys(record.properties)), type: record.type };
}

export function createAdmin(deps: AdminDeps): HubSpotAdmin {
  const user: WriteSource = { changeSource: 'CRM_UI', sourceId: `userId:${deps.userId}` };
  return {
    seed: createSeeder(OBJECT_TYPES, deps.webhooks, (type, indexes) => indexes.map((index) => deps.store.create(type, fakeProperties(deps.fake, type, index), user).id)),
    createAsUser: (type, properties) => view(deps.store.create(type, properties, user)),
    changeAsUser: (type, id, properties) => view(deps.store.update(type, id, properties, user)),
    archive: (type, id) => deps.store.archive(type, id, user),
    restore: (type, id) => view(deps.store.restore(type, id, user)),
    defineProperty: (type, name, kind, unique = false, options) => deps.store.defineProperty(type, name, kind, unique, options),
    getRecord(type, id) {
      const record = deps.store.get(type, id);
      return record ? view(record) : undefined;
    },
    listRecords(type, options = {}) {
      return [...deps.store.all(type)].filter((record) => options.archived === undefined || record.archived === options.archived).map(view);
    },
    associateAsUser(fromType, fromId, toType, toId, options = {}) {
      for (const [type, id] of [[fromType, fromId], [toType, toId]] as const) {
        const record = deps.store.get(type, id);
        if (!record || record.archived) throw notFound(id);
      }
      const typeId = options.primary ? primaryTypeId(fromType, toType) : defaultTypeId(fromType, toType);
      deps.associations.add(fromType, fromId, toType, toId, { category: 'HUBSPOT_DEFINED', typeId, label: options.primary ? 'Primary' : null }, user);
    },
    dissociateAsUser: (fromType, fromId, toType, toId) => deps.associations.remove(fromType, fromId, toType, toId, user),
    listAssociations: (type, id, toType) => deps.associations.list(type, id, toType),
    expireTokens: (token) => deps.auth.expire(token),
    issueRefreshToken: () => deps.auth.issueRefreshToken(),
    issueAuthorizationCode: () => deps.auth.issueAuthorizationCode(),
    spendDailyBudget: (count) => deps.limits.spendDaily(count),
    configureLimits(options) {
      deps.limits.configure(options);
      return deps.limits.state();
    },
    limits: () => deps.limits.state(),
    counters: () => deps.counters.snapshot(),
    async flushWebhooks() {
      deps.webhooks.flush();
      await deps.dispatcher.idle();
    },
    beforeApiWrite: (hook) => deps.writeHooks.add(hook),
  };
}

type TypeParams = { type: string };
type RecordParams = { type: string; id: string };
type PropertiesBody = { properties?: PropertyInput } | undefined;

/** HTTP mirror of the admin API (the core already serves counters, faults and the webhook target). */
export function registerAdminRoutes(app: FastifyInstance, admin: HubSpotAdmin): void {
  const at = (path: string): string => `${ADMIN_PREFIX}${path}`;
  const found = (record: HubSpotRecordView | undefined, id: string): HubSpotRecordView => {
    if (!record) throw notFound(id);
    return record;
  };
  app.post<{ Body: Partial<Record<HubSpotObjectType, number>> | undefined }>(at('/seed'), async (request) => admin.seed(request.body ?? {}));
  app.get<{ Params: TypeParams; Querystring: { archived?: string } }>(at('/records/:type'), async (request) => {
    const archived = request.query.archived === undefined ? undefined : request.query.archived === 'true';
    return admin.listRecords(objectTypeParam(request.params.type), archived === undefined ? {} : { archived });
  });
  app.post<{ Params: TypeParams; Body: PropertiesBody }>(at('/records/:type'), async (request, reply) =>
    reply.code(201).send(admin.createAsUser(objectTypeParam(request.params.type), request.body?.properties ?? {})),
  );
  app.get<{ Params: RecordParams }>(at('/records/:type/:id'), async (request) =>
    found(admin.getRecord(objectTypeParam(request.params.type), request.params.id), request.params.id),
  );
  app.patch<{ Params: RecordParams; Body: PropertiesBody }>(at('/records/:type/:id'), async (request) =>
    admin.changeAsUser(objectTypeParam(request.params.type), request.params.id, request.body?.properties ?? {}),
  );
  app.delete<{ Params: RecordParams }>(at('/records/:type/:id'), async (request, reply) => {
    admin.archive(objectTypeParam(request.params.type), request.params.id);
    return reply.code(204).send();
  });
  app.get<{ Params: RecordParams & { toType: string } }>(at('/associations/:type/:id/:toType'), async (request) =>
    admin.listAssociations(objectTypeParam(request.params.type), request.params.id, objectTypeParam(request.params.toType)),
  );
  app.put<{ Params: RecordParams & { toType: string; toId: string }; Body: { primary?: boolean } | undefined }>(at('/associations/:type/:id/:toType/:toId'), async (request, reply) => {
    const { type, id, toType, toId } = request.params;
    admin.associateAsUser(objectTypeParam(type), id, objectTypeParam(toType), toId, { primary: request.body?.primary === true });
    return reply.code(204).send();
  });
  app.delete<{ Params: RecordParams & { toType: string; toId: string } }>(at('/associations/:type/:id/:toType/:toId'), async (request, reply) => {
    const { type, id, toType, toId } = request.params;
    admin.dissociateAsUser(objectTypeParam(type), id, objectTypeParam(toType), toId);
    return reply.code(204).send();
  });
  app.post<{ Params: RecordParams }>(at('/records/:type/:id/restore'), async (request) => admin.restore(objectTypeParam(request.params.type), request.params.id));
  app.post<{ Body: { token?: string } | undefined }>(at('/tokens/expire'), async (request) => ({ expired: admin.expireTokens(request.body?.token) }));
  app.post(at('/tokens/refresh-tokens'), async () => ({ refreshToken: admin.issueRefreshToken() }));
  app.post(at('/tokens/authorization-codes'), async () => ({ code: admin.issueAuthorizationCode() }));
  app.post<{ Body: { count?: number } | undefined }>(at('/limits/daily/spend'), async (request) => {
    const count = request.body?.count;
    if (typeof count !== 'number' || count < 0) throw new HubSpotError(400, { status: 'error', message: 'count must be a non-negative number', correlationId: '' });
    admin.spendDailyBudget(count);
    return admin.limits();
  });
  app.get(at('/limits'), async () => admin.limits());
  app.put<{ Body: HubSpotLimitOptions | undefined }>(at('/limits'), async (request) => admin.configureLimits(request.body ?? {}));
  app.post(at('/webhooks/flush'), async (_request, reply) => {
    await admin.flushWebhooks();
    return reply.code(204).send();
  });
}

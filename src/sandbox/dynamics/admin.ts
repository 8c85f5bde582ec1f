import type { FastifyInstance } from 'fastify';
import type { CountersSnapshot, SandboxCounters } from '../core/counters';
import { ADMIN_PREFIX } from '../core/sandbox-app';
import type { DeltaTokens } from './change-tracking';
import type { TokenAuthority } from './auth';
import { entitySet, type EntitySetDefinition } from './entity-sets';
import { DataverseError, ErrorCodes } from './errors';
import type { ServiceProtection, ServiceProtectionOptions } from './limits';
import { ACTIVITY_PARTIES, partyValues, replaceParties } from './activities';
import { toColumnValues } from './payload';
import type { DynamicsEntitySetName, SeedData } from './seed';
import type { DataverseStore, Row } from './store';
import type { WebhookAuth } from './webhooks';

/** The sandbox's own controls, in-process; mirrored over HTTP under `/__sandbox`. */
export interface DynamicsAdmin {
  /** Creates `count` realistic records as existing data (no webhooks, as for data already there). */
  seed(entitySet: DynamicsEntitySetName, count: number): Row[];
  /** Creates a record as a person in the UI would: stamped with the UI user, fires the webhook. */
  uiCreate(entitySet: DynamicsEntitySetName, values: Row): Row;
  /** Changes a record as a person in the UI would. */
  uiUpdate(entitySet: DynamicsEntitySetName, id: string, values: Row): Row;
  uiDelete(entitySet: DynamicsEntitySetName, id: string): void;
  getRecord(entitySet: DynamicsEntitySetName, id: string): Row | undefined;
  listRecords(entitySet: DynamicsEntitySetName): Row[];
  /** Expires every access token (or the given one); returns how many. */
  expireTokens(token?: string): number;
  /** Invalidates every change-tracking delta token issued so far. */
  expireDeltaTokens(): void;
  /** Marks `count` requests as already made by a user (default: the application user). */
  spendServiceProtectionBudget(count: number, userId?: string): void;
  configureServiceProtection(options: ServiceProtectionOptions): Required<ServiceProtectionOptions>;
  setWebhookAuth(auth: WebhookAuth): void;
  counters(): CountersSnapshot;
  /** Collection queries (`GET set?...`) served for an entity set since start. */
  queryCount(entitySet: DynamicsEntitySetName): number;
  /** Turns the organisation's auditing on or off [D81]: rows already recorded stay. */
  setAuditing(on: boolean): void;
}

export interface AdminDependencies {
  store: DataverseStore;
  seedData: SeedData;
  authority: TokenAuthority;
  deltaTokens: DeltaTokens;
  protection: ServiceProtection;
  counters: SandboxCounters;
  applicationUserId: string;
  uiUserId: string;
  setWebhookAuth(auth: WebhookAuth): void;
  /** Runs `work` with webhooks muted (seeding). */
  quietly<T>(work: () => T): T;
}

function definitionOf(name: string): EntitySetDefinition {
  const definition = entitySet(name);
  if (!definition) throw new DataverseError(404, ErrorCodes.resourceNotFound, `Resource not found for the segment '${name}'.`);
  return definition;
}

export function createAdmin(deps: AdminDependencies): DynamicsAdmin {
  const ui = { userId: deps.uiUserId };
  return {
    seed: (name, count) => {
      const definition = definitionOf(name);
      const start = deps.store.count(definition);
      return deps.quietly(() => Array.from({ length: count }, (_, i) => deps.store.create(definition, deps.seedData.values(name, start + i), ui)));
    },
    uiCreate: (name, values) => {
      const definition = definitionOf(name);
      // An activity made in the UI names its parties (to, from, attendees) with it, as a deep insert does.
      const navigation = definition.activityParties?.navigation;
      const { [navigation ?? '']: partyBody, ...columns } = values;
      const parties = navigation && partyBody !== undefined ? partyValues(definition, partyBody, (party) => toColumnValues(ACTIVITY_PARTIES, party, deps.store, new Map())) : undefined;
      const row = deps.store.create(definition, toColumnValues(definition, navigation ? columns : values, deps.store, new Map()), ui);
      if (parties) replaceParties(deps.store, row[definition.primaryId] as string, parties, ui);
      return row;
    },
    uiUpdate: (name, id, values) => {
      const definition = definitionOf(name);
      return deps.store.update(definition, id, toColumnValues(definition, values, deps.store, new Map()), ui);
    },
    uiDelete: (name, id) => {
      deps.store.delete(definitionOf(name), id, ui);
    },
    queryCount: (name) => deps.store.queryCount(name),
    setAuditing: (on) => {
      deps.store.auditing = on;
    },
    getRecord: (name, id) => deps.store.get(definitionOf(name), id),
    listRecords: (name) => [...deps.store.rows(definitionOf(name))],
    expireTokens: (token) => deps.authority.expire(token),
    expireDeltaTokens: () => {
      deps.deltaTokens.expireAll(deps.store.currentVersion());
      deps.store.advanceVersion();
    },
    spendServiceProtectionBudget: (count, userId) => deps.protection.spend(userId ?? deps.applicationUserId, count),
    configureServiceProtection: (options) => deps.protection.configure(options),
    setWebhookAuth: (auth) => deps.setWebhookAuth(auth),
    counters: () => deps.counters.snapshot(),
  };
}

type SetParams = { entitySet: DynamicsEntitySetName };
type RecordParams = SetParams & { id: string };

/** HTTP mirror of the admin API (never faulted, limited or counted: see ADMIN_PREFIX). */
export function registerAdminRoutes(app: FastifyInstance, admin: DynamicsAdmin): void {
  const p = ADMIN_PREFIX;
  app.post<{ Body: { entitySet: DynamicsEntitySetName; count: number } }>(`${p}/seed`, async (request) => ({ value: admin.seed(request.body.entitySet, request.body.count) }));
  app.get<{ Params: SetParams }>(`${p}/records/:entitySet`, async (request) => ({ value: admin.listRecords(request.params.entitySet) }));
  app.get<{ Params: RecordParams }>(`${p}/records/:entitySet/:id`, async (request, reply) => {
    const record = admin.getRecord(request.params.entitySet, request.params.id);
    return record ?? reply.code(404).send({ error: 'not found' });
  });
  app.post<{ Params: SetParams; Body: Row }>(`${p}/records/:entitySet`, async (request) => admin.uiCreate(request.params.entitySet, request.body));
  app.patch<{ Params: RecordParams; Body: Row }>(`${p}/records/:entitySet/:id`, async (request) =>
    admin.uiUpdate(request.params.entitySet, request.params.id, request.body),
  );
  app.delete<{ Params: RecordParams }>(`${p}/records/:entitySet/:id`, async (request, reply) => {
    admin.uiDelete(request.params.entitySet, request.params.id);
    return reply.code(204).send();
  });
  app.post<{ Body: { token?: string } | undefined }>(`${p}/tokens/expire`, async (request) => ({ expired: admin.expireTokens(request.body?.token) }));
  app.post(`${p}/delta-tokens/expire`, async (_request, reply) => {
    admin.expireDeltaTokens();
    return reply.code(204).send();
  });
  app.post<{ Body: { count: number; userId?: string } }>(`${p}/service-protection/spend`, async (request, reply) => {
    admin.spendServiceProtectionBudget(request.body.count, request.body.userId);
    return reply.code(204).send();
  });
  app.put<{ Body: ServiceProtectionOptions }>(`${p}/service-protection`, async (request) => admin.configureServiceProtection(request.body ?? {}));
  app.put<{ Body: WebhookAuth }>(`${p}/webhook-auth`, async (request, reply) => {
    admin.setWebhookAuth(request.body);
    return reply.code(204).send();
  });
}

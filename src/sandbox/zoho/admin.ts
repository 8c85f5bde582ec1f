import type { FastifyInstance } from 'fastify';
import type { CountersSnapshot, SandboxCounters } from '../core/counters';
import type { FakeData } from '../core/fake-data';
import { ADMIN_PREFIX } from '../core/sandbox-app';
import { createSeeder } from '../core/seeding';
import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import type { ZohoAuth, ZohoRegion } from './auth';
import { errorBody, ZohoError } from './errors';
import type { ZohoLimitOptions, ZohoLimits, ZohoLimitsState } from './limits';
import { MODULES, type FieldKind, type ZohoModule } from './modules';
import { ZOHO_UI_USER } from './users';
import type { WatchChannel, ZohoNotifications } from './notifications';
import { moduleParam, renderRecord } from './records';
import { fakeValues } from './seed';
import type { DeletedRecord, RecordStore, WriteEntry, ZohoUser } from './store';

/** The sandbox's in-process knobs; the main ones are mirrored under `/__sandbox` on every API host. */
export interface ZohoAdmin {
  /** Adds N realistic records per module (no notifications: they stand for data that was already there). */
  seed(counts: Partial<Record<ZohoModule, number>>): Record<ZohoModule, string[]>;
  /** Writes as a person in Zoho's UI would (Modified_By is that person; notifications fire). */
  createAsUser(module: ZohoModule, values: Record<string, unknown>): Record<string, unknown>;
  changeAsUser(module: ZohoModule, id: string, values: Record<string, unknown>): Record<string, unknown>;
  deleteAsUser(module: ZohoModule, id: string): boolean;
  getRecord(module: ZohoModule, id: string): Record<string, unknown> | undefined;
  listRecords(module: ZohoModule): Record<string, unknown>[];
  deletedRecords(module: ZohoModule): DeletedRecord[];
  emptyRecycleBin(module: ZohoModule): number;
  /** A custom field; `length` caps a text (default 255), `options` make a picklist refuse other values. */
  defineField(module: ZohoModule, apiName: string, kind: FieldKind, unique?: boolean, extra?: { length?: number; options?: readonly string[] }): void;
  expireTokens(token?: string): number;
  issueRefreshToken(): string;
  issueAuthorizationCode(): { code: string; location: string; accountsServer: string };
  revokeRefreshToken(token: string): boolean;
  /** Refresh-token grants served per region. */
  tokenGrants(): Partial<Record<ZohoRegion, number>>;
  configureLimits(options: ZohoLimitOptions): ZohoLimitsState;
  limits(): ZohoLimitsState;
  /** Marks credits as spent by others (people, other integrations). */
  spendCredits(count: number): void;
  channels(): WatchChannel[];
  /** Requests per host (`accounts.zoho.com`, `www.zohoapis.eu`...), counted before any fault or refusal. */
  hostCounts(): Record<string, number>;
  counters(): CountersSnapshot;
  /** A deal's Contact Roles as contact id -> role name (what a person sees on the deal). */
  dealContactRoles(dealId: string): Record<string, string>;
  /** Gives a contact a role on a deal as a person in Zoho's UI would (the deal's Modified_Time does not move, README). */
  setContactRoleAsUser(dealId: string, contactId: string, roleName?: string): void;
  /** Waits until every queued notification was delivered or given up. */
  flushWebhooks(): Promise<void>;
}

export interface AdminDeps {
  store: RecordStore;
  auth: ZohoAuth;
  limits: ZohoLimits;
  counters: SandboxCounters;
  notifications: ZohoNotifications;
  dispatcher: WebhookDispatcher;
  fake: FakeData;
  hostCounts: Map<string, number>;
}

const PERSON: ZohoUser = ZOHO_UI_USER;

function succeeded(entry: WriteEntry | undefined): string {
  if (!entry || entry.status !== 'success') throw new ZohoError(400, entry && entry.status === 'error' ? entry : errorBody('INVALID_DATA', 'invalid data'));
  return entry.details.id;
}

export function createAdmin(deps: AdminDeps): ZohoAdmin {
  const { store } = deps;
  const view = (module: ZohoModule, id: string): Record<string, unknown> => renderRecord(store, store.get(module, id) as NonNullable<ReturnType<RecordStore['get']>>);
  return {
    seed: createSeeder(MODULES, deps.notifications, (module, indexes) =>
      store.write(module, indexes.map((index) => fakeValues(deps.fake, module, index)), 'create', PERSON).map(succeeded),
    ),
    createAsUser: (module, values) => view(module, succeeded(store.write(module, [values], 'create', PERSON)[0])),
    changeAsUser: (module, id, values) => view(module, succeeded(store.write(module, [{ ...values, id }], 'update', PERSON)[0])),
    deleteAsUser: (module, id) => store.remove(module, [id], PERSON)[0]?.status === 'success',
    getRecord: (module, id) => (store.get(module, id) ? view(module, id) : undefined),
    listRecords: (module) => store.all(module).map((record) => renderRecord(store, record)),
    deletedRecords: (module) => store.deletions(module),
    emptyRecycleBin: (module) => store.purge(module),
    defineField: (module, apiName, kind, unique = false, extra) => store.defineField(module, apiName, kind, unique, extra),
    expireTokens: (token) => deps.auth.expire(token),
    issueRefreshToken: () => deps.auth.issueRefreshToken(),
    issueAuthorizationCode: () => deps.auth.issueAuthorizationCode(),
    revokeRefreshToken: (token) => deps.auth.revokeRefreshToken(token),
    tokenGrants: () => ({ ...deps.auth.grants }),
    configureLimits(options) {
      deps.limits.configure(options);
      return deps.limits.state();
    },
    limits: () => deps.limits.state(),
    spendCredits: (count) => deps.limits.spendCredits(count),
    channels: () => deps.notifications.list(),
    hostCounts: () => Object.fromEntries(deps.hostCounts),
    counters: () => deps.counters.snapshot(),
    flushWebhooks: () => deps.dispatcher.idle(),
    dealContactRoles: (dealId) => {
      const names = new Map(store.contactRoles().map((role) => [role.id, role.name]));
      return Object.fromEntries(store.dealContactRoles(dealId).map(([contactId, roleId]) => [contactId, names.get(roleId) ?? roleId]));
    },
    setContactRoleAsUser: (dealId, contactId, roleName) => {
      const role = store.contactRoles().find((candidate) => roleName === undefined || candidate.name === roleName);
      if (!role || !store.get('Deals', dealId) || !store.get('Contacts', contactId)) throw new ZohoError(400, errorBody('INVALID_DATA', 'the related id given seems to be invalid'));
      store.setContactRole(dealId, contactId, role.id);
    },
  };
}

type ModuleParams = { module: string };
type RecordParams = { module: string; id: string };

/** HTTP mirror of the admin API (the core already serves counters, faults and the webhook target). */
export function registerAdminRoutes(app: FastifyInstance, admin: ZohoAdmin): void {
  const at = (path: string): string => `${ADMIN_PREFIX}${path}`;
  app.post<{ Body: Partial<Record<ZohoModule, number>> | undefined }>(at('/seed'), async (request) => admin.seed(request.body ?? {}));
  app.get<{ Params: ModuleParams }>(at('/records/:module'), async (request) => admin.listRecords(moduleParam(request.params.module)));
  app.post<{ Params: ModuleParams; Body: Record<string, unknown> | undefined }>(at('/records/:module'), async (request, reply) =>
    reply.code(201).send(admin.createAsUser(moduleParam(request.params.module), request.body ?? {})),
  );
  app.patch<{ Params: RecordParams; Body: Record<string, unknown> | undefined }>(at('/records/:module/:id'), async (request) =>
    admin.changeAsUser(moduleParam(request.params.module), request.params.id, request.body ?? {}),
  );
  app.delete<{ Params: RecordParams }>(at('/records/:module/:id'), async (request, reply) => {
    admin.deleteAsUser(moduleParam(request.params.module), request.params.id);
    return reply.code(204).send();
  });
  app.post<{ Body: { token?: string } | undefined }>(at('/tokens/expire'), async (request) => ({ expired: admin.expireTokens(request.body?.token) }));
  app.post(at('/tokens/authorization-codes'), async () => admin.issueAuthorizationCode());
  app.get(at('/limits'), async () => admin.limits());
  app.put<{ Body: ZohoLimitOptions | undefined }>(at('/limits'), async (request) => admin.configureLimits(request.body ?? {}));
  app.get(at('/hosts'), async () => admin.hostCounts());
  app.get(at('/channels'), async () => admin.channels());
}

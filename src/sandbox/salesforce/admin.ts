import type { ChangeDataCaptureSelection, ChannelMember } from './cdc-selection';
import type { FastifyInstance } from 'fastify';
import { ADMIN_PREFIX } from '../core/sandbox-app';
import type { OutboundMessageQueue } from './outbound-messages';
import type { CountersSnapshot } from '../core/counters';
import type { SalesforceContext } from './context';
import { RecordFailure, SalesforceApiError } from './errors';
import { toId18 } from './ids';
import { allFieldNames, readField, type FieldValue, type StoredRecord } from './records';
import { resolveTypeName, type SObjectType } from './schema';
import type { SalesforceSeeder, SeedCounts } from './seed';
import { ChangeBatch } from './store';
import { toApiError } from './upsert';

/** A record as the admin surface shows it: every field, system fields included. */
export type RecordView = Record<string, FieldValue>;

export interface SalesforceStats extends CountersSnapshot {
  tokenRequests: number;
  dailyRequests: { used: number; limit: number; enforced: boolean };
  /** Open Pub/Sub API Subscribe streams. */
  pubSubSubscriptions: number;
  /** Change events sent over Subscribe streams so far. */
  pubSubEventsDelivered: number;
}

/** In-process control of the sandbox; mirrored by HTTP routes under `/__sandbox`. */
export interface SalesforceAdmin {
  /** Creates realistic records that were "already there": no webhook fires. Returns new ids by type. */
  seed(counts: SeedCounts): Partial<Record<SObjectType, string[]>>;
  /** A person creates a record in the UI (webhook fires, changeOrigin empty). */
  createAsUser(type: SObjectType, fields: Record<string, unknown>): RecordView;
  /** A person edits a record in the UI (webhook fires, changeOrigin empty). */
  editAsUser(type: SObjectType, id: string, changes: Record<string, unknown>): RecordView;
  deleteRecord(type: SObjectType, id: string): void;
  undeleteRecord(type: SObjectType, id: string): RecordView;
  /** Empties the record from the Recycle Bin (it stays in the deleted log). */
  purgeRecord(type: SObjectType, id: string): void;
  /** Includes recycled records; undefined when unknown or purged. */
  getRecord(type: SObjectType, id: string): RecordView | undefined;
  listRecords(type: SObjectType, options?: { includeDeleted?: boolean }): RecordView[];
  expireTokens(): void;
  /**
   * How change events report the next transactions: `gap` turns each into GAP_<type> events
   * (record ids, no values), `overflow` into one GAP_OVERFLOW per object; `normal` again after.
   */
  setChangeEventMode(mode: 'normal' | 'gap' | 'overflow'): void;
  spendDailyRequests(count: number): void;
  /**
   * Another transaction (a long data load, an Apex job) holds the row locks of every record of
   * `type` while `held`: each write to one fails on its own with UNABLE_TO_LOCK_ROW [S84], a
   * failure that clears up once the locks are released.
   */
  holdRowLocks(type: SObjectType, held: boolean): void;
  /** The rolling 24 h allocation frees up (time passed, or the org bought more) [S33]. */
  resetDailyRequests(): void;
  stats(): SalesforceStats;
  /** The org's Change Data Capture selection: the ChangeEvents channel's members (Tooling API). */
  changeDataCaptureMembers(): ChannelMember[];
  /** Change events the org published so far (retained or not). */
  changeEventsPublished(): number;
}

export function createAdmin(context: SalesforceContext, seeder: SalesforceSeeder, selection: ChangeDataCaptureSelection): SalesforceAdmin {
  const { store } = context;
  const view = (record: StoredRecord): RecordView => Object.fromEntries(allFieldNames(store.def(record.type)).map((field) => [field, readField(record, field)]));
  const asUser = <T>(fn: (batch: ChangeBatch) => T): T => {
    const batch = new ChangeBatch({ kind: 'ui', userId: context.uiUserId });
    try {
      return fn(batch);
    } catch (error) {
      throw toApiError(error);
    } finally {
      store.commit(batch);
    }
  };

  return {
    seed(counts) {
      const created: Partial<Record<SObjectType, string[]>> = {};
      const batch = new ChangeBatch({ kind: 'ui', userId: context.uiUserId });
      const accounts = () => created.Account ?? [];
      for (const { type, values } of seeder.records(counts, accounts)) {
        (created[type] ??= []).push(store.create(type, values, batch).id);
      }
      // Deliberately not committed: seeded data predates the webhook subscription.
      return created;
    },
    createAsUser: (type, fields) => asUser((batch) => view(store.create(type, fields, batch))),
    editAsUser: (type, id, changes) => asUser((batch) => view(store.update(type, toId18(id), changes, batch))),
    deleteRecord: (type, id) => asUser((batch) => void store.delete(type, toId18(id), batch)),
    undeleteRecord: (type, id) => asUser((batch) => view(store.undelete(type, toId18(id), batch))),
    purgeRecord: (type, id) => asUser((batch) => store.purge(type, toId18(id), batch)),
    getRecord(type, id) {
      const record = store.get(type, toId18(id));
      return record ? view(record) : undefined;
    },
    listRecords(type, options = {}) {
      return [...store.all(type)].filter((record) => options.includeDeleted || record.deletedMs === undefined).map(view);
    },
    expireTokens: () => context.tokens.expireAll(),
    setChangeEventMode: (mode) => void (context.changeEvents.mode = mode),
    spendDailyRequests: (count) => context.limits.spend(count),
    resetDailyRequests: () => context.limits.reset(),
    holdRowLocks: (type, held) => store.setRowLocksHeld(type, held),
    stats: () => ({ ...context.counters.snapshot(), tokenRequests: context.tokens.tokenRequests, dailyRequests: context.limits.usage(), pubSubSubscriptions: context.changeEvents.subscriptions(), pubSubEventsDelivered: context.changeEvents.delivered }),
    changeDataCaptureMembers: () => selection.list(),
    changeEventsPublished: () => Number(context.changeEvents.latest()),
  };
}

type Params = { type: string; id: string };

export function registerAdminRoutes(app: FastifyInstance, admin: SalesforceAdmin): void {
  const type = (name: string): SObjectType => {
    const resolved = resolveTypeName(name);
    if (!resolved) throw new SalesforceApiError(404, 'NOT_FOUND', `Unknown sObject type ${name}`);
    return resolved;
  };
  const base = `${ADMIN_PREFIX}/records/:type`;

  app.post<{ Body: SeedCounts | undefined }>(`${ADMIN_PREFIX}/seed`, async (request) => admin.seed(request.body ?? {}));
  app.get<{ Params: Params; Querystring: { includeDeleted?: string } }>(base, async (request) =>
    admin.listRecords(type(request.params.type), { includeDeleted: request.query.includeDeleted === 'true' }),
  );
  app.post<{ Params: Params; Body: Record<string, unknown> | undefined }>(base, async (request, reply) =>
    reply.code(201).send(admin.createAsUser(type(request.params.type), request.body ?? {})),
  );
  app.get<{ Params: Params }>(`${base}/:id`, async (request) => {
    const record = admin.getRecord(type(request.params.type), request.params.id);
    if (!record) throw toApiError(new RecordFailure({ statusCode: 'NOT_FOUND', message: 'The requested resource does not exist', fields: [] }));
    return record;
  });
  app.patch<{ Params: Params; Body: Record<string, unknown> | undefined }>(`${base}/:id`, async (request) =>
    admin.editAsUser(type(request.params.type), request.params.id, request.body ?? {}),
  );
  app.delete<{ Params: Params; Querystring: { purge?: string } }>(`${base}/:id`, async (request, reply) => {
    const sobject = type(request.params.type);
    if (request.query.purge === 'true') admin.purgeRecord(sobject, request.params.id);
    else admin.deleteRecord(sobject, request.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: Params }>(`${base}/:id/undelete`, async (request) => admin.undeleteRecord(type(request.params.type), request.params.id));
  app.post(`${ADMIN_PREFIX}/tokens/expire`, async (_request, reply) => {
    admin.expireTokens();
    return reply.code(204).send();
  });
  app.put<{ Body: { mode?: string } | undefined }>(`${ADMIN_PREFIX}/change-events/mode`, async (request, reply) => {
    const mode = request.body?.mode;
    if (mode !== 'normal' && mode !== 'gap' && mode !== 'overflow') throw new SalesforceApiError(400, 'INVALID_INPUT', 'mode must be one of normal, gap, overflow');
    admin.setChangeEventMode(mode);
    return reply.code(204).send();
  });
  app.put<{ Params: Params; Body: { held?: boolean } | undefined }>(`${base}/row-locks`, async (request, reply) => {
    if (typeof request.body?.held !== 'boolean') throw new SalesforceApiError(400, 'INVALID_INPUT', 'held must be true or false');
    admin.holdRowLocks(type(request.params.type), request.body.held);
    return reply.code(204).send();
  });
  app.get(`${ADMIN_PREFIX}/limits`, async () => admin.stats().dailyRequests);
  app.post<{ Body: { count?: number } | undefined }>(`${ADMIN_PREFIX}/limits/spend`, async (request) => {
    admin.spendDailyRequests(Number(request.body?.count ?? 0));
    return admin.stats().dailyRequests;
  });
  app.get(`${ADMIN_PREFIX}/stats`, async () => admin.stats());
}

/**
 * The Outbound Message queue, as Setup > Monitoring > Outbound Messages shows it: `GET` lists what
 * waits for an Ack; `POST …/flush` resends what is due on the sandbox clock; `POST …/retry`
 * resends everything now (the page's "Retry"). Both answer once the attempts have been answered.
 */
export function registerOutboundMessageRoutes(app: FastifyInstance, queue: OutboundMessageQueue): void {
  app.get(`${ADMIN_PREFIX}/outbound-messages`, async () => queue.list());
  app.post(`${ADMIN_PREFIX}/outbound-messages/flush`, async () => queue.flushDue());
  app.post(`${ADMIN_PREFIX}/outbound-messages/retry`, async () => queue.retryAll());
}

import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SandboxCounters } from '../core/counters';
import { FaultInjector } from '../core/faults';
import { ModstampClock } from '../core/modstamp-clock';
import { createSandboxApp, listen } from '../core/sandbox-app';
import { WebhookDispatcher } from '../core/webhook-dispatcher';
import { createAdmin, registerAdminRoutes, registerOutboundMessageRoutes } from './admin';
import { AUTHORIZATION_CODE_LIFETIME_MS, registerAuthorizeRoute, registerTokenRoute, TOKEN_PATH, TokenStore } from './auth';
import { AuthorizationCodes, consentApp } from '../core/consent';
import { registerIngestRoutes } from './bulk2-ingest';
import { registerBulkQueryRoutes } from './bulk2-query';
import { registerCompositeRoutes } from './composite';
import { registerCompositeRequestRoute } from './composite-request';
import { MAX_VERSION, MIN_VERSION, parseVersion, type SalesforceContext } from './context';
import { SalesforceApiError, sessionExpired } from './errors';
import { IdGenerator } from './ids';
import { DailyRequestLimit } from './limits';
import type { SalesforceSandbox, SalesforceSandboxOptions } from './options';
import { registerQueryRoutes } from './query';
import { registerReplicationRoutes } from './replication';
import { createSchema } from './schema';
import { seedUsers } from './users';
import { registerSearchRoute } from './search';
import { SalesforceSeeder } from './seed';
import { MultipleChoices, registerSObjectRoutes } from './sobjects';
import type { StoredRecord } from './records';
import { RecordStore } from './store';
import { isOutboundAck } from './outbound-envelope';
import { OutboundMessageQueue } from './outbound-messages';
import { ChangeEventBus } from './pubsub/event-bus';
import { ChangeDataCaptureSelection, registerToolingRoutes, SELECTABLE_OBJECTS } from './cdc-selection';
import { startPubSubServer } from './pubsub/pubsub-server';

const DATA_PREFIX = '/services/data/v';

/** Starts an in-memory Salesforce org behind Salesforce's REST, Bulk 2.0 and OAuth endpoints. */
export async function startSalesforceSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const counters = new SandboxCounters();
  const faults = new FaultInjector(options.faults);
  // One attempt per send: the Outbound Message queue owns retries (on the sandbox clock). Salesforce
  // waits 60 s for an answer [S79]; an answer without Ack true is a failure [S77].
  const webhooks = new WebhookDispatcher({ counters, retryDelaysMs: [], ...(options.webhooks?.chaos ? { chaos: options.webhooks.chaos } : {}), timeoutMs: 60_000, isAcknowledged: isOutboundAck });
  webhooks.setTarget(options.webhooks?.url);

  const ids = new IdGenerator();
  const organizationId = options.organizationId ?? ids.generate('00D');
  const apiUserId = ids.generate('005');
  const uiUserId = ids.generate('005');
  const client = {
    clientId: options.clientId ?? '3MVG9sandbox.salesforce.client',
    clientSecret: options.clientSecret ?? 'sandbox-client-secret',
    username: options.username ?? 'integration@crm-sync.sandbox',
    password: options.password ?? 'sandbox-password',
  };
  const now = options.now ?? Date.now;
  const clock = new ModstampClock(now);
  const tokens = new TokenStore({ client, lifetimeMs: options.tokenLifetimeMs ?? 2 * 60 * 60 * 1000, organizationId, userId: apiUserId, now });
  const limits = new DailyRequestLimit(options.dailyApiRequests ?? 100_000, now);
  let instanceUrl = '';
  const version = options.apiVersion ?? '62.0';
  const retryDelaysMs = options.webhooks?.retryDelaysMs;
  const outboundMessages = new OutboundMessageQueue({
    dispatcher: webhooks,
    counters,
    ids,
    organizationId,
    now,
    instanceUrl: () => instanceUrl,
    apiVersion: version,
    lookup: (type, id): StoredRecord | undefined => store.get(type, id),
    objects: options.outboundMessages?.objects ?? ['Contact', 'Account', 'Opportunity', 'Task'],
    ...(retryDelaysMs ? { retryIntervalMs: (retry: number) => retryDelaysMs[retry - 1] } : {}),
    ...(options.outboundMessages?.autoRetry === undefined ? {} : { autoRetry: options.outboundMessages.autoRetry }),
  });
  const schema = createSchema(options.externalIdFields);
  // Default: an org whose admin selected every synced object in Setup (what the CDC tests rely on).
  const selection = new ChangeDataCaptureSelection(ids, options.changeDataCapture?.selected ?? SELECTABLE_OBJECTS);
  const changeEvents = new ChangeEventBus({ now, def: (type) => store.def(type), selected: (type) => selection.isSelected(type) });
  const store: RecordStore = new RecordStore({
    schema,
    clock,
    ids,
    counters,
    onCommit: (batch) => {
      changeEvents.publishBatch(batch);
      outboundMessages.onCommit(batch);
    },
  });
  seedUsers(store, ids, { apiUserId, uiUserId, apiUsername: client.username });
  const context: SalesforceContext = { store, tokens, limits, counters, clock, now, organizationId, apiUserId, uiUserId, startedMs: Date.now(), instanceUrl: () => instanceUrl, changeEvents };

  const app = createSandboxApp({
    now,
    faults,
    counters,
    webhooks,
    renderFault: (kind, _request, reply) => renderFault(kind, reply),
    tokenRoutes: [TOKEN_PATH],
    renderTokenFault: (kind, _request, reply) => renderTokenFault(kind, reply),
  });
  installGuards(app, context);
  app.get('/services/data', async () => versionList());
  app.get('/services/data/', async () => versionList());
  const consent = consentApp(() => client.clientId);
  const codes = new AuthorizationCodes(AUTHORIZATION_CODE_LIFETIME_MS, now, () => `aPrx${randomBytes(32).toString('base64url')}==`);
  registerAuthorizeRoute(app, consent.app, codes, consent.controls);
  registerTokenRoute(app, tokens, () => instanceUrl, { processingMs: options.tokenProcessingMs, rotation: options.refreshTokenRotation, codes });
  registerSObjectRoutes(app, context);
  registerReplicationRoutes(app, context);
  registerCompositeRoutes(app, context);
  registerCompositeRequestRoute(app, context);
  registerQueryRoutes(app, context);
  registerSearchRoute(app, context);
  registerToolingRoutes(app, selection);
  const processingDelayMs = options.bulk?.processingDelayMs ?? 20;
  registerIngestRoutes(app, context, ids, { processingDelayMs });
  registerBulkQueryRoutes(app, context, ids, { processingDelayMs, defaultPageSize: options.bulk?.queryPageSize ?? 50_000 });
  const admin = createAdmin(context, new SalesforceSeeder(options.dataSeed ?? 42), selection);
  registerAdminRoutes(app, admin);
  registerOutboundMessageRoutes(app, outboundMessages);

  instanceUrl = await listen(app, options.port ?? 0);
  const pubSub = await startPubSubServer(context, changeEvents, options.pubSub);
  const seed = options.seed;
  if (seed) admin.seed(seed);

  return {
    name: 'salesforce',
    url: instanceUrl,
    credentials: {
      instanceUrl,
      loginUrl: instanceUrl,
      accessToken: tokens.issueAccessToken(),
      refreshToken: tokens.issueRefreshToken(),
      ...client,
      version,
      organizationId,
      pubSubEndpoint: pubSub.endpoint,
    },
    counters,
    faults,
    webhooks,
    outboundMessages,
    admin,
    consent: consent.controls,
    async stop() {
      await outboundMessages.stop();
      await webhooks.stop();
      await pubSub.stop();
      await app.close();
    },
  };
}

/**
 * Version check, then session, then the daily allocation, in that order: an expired session is
 * a 401 even when the allocation is spent, and unauthenticated calls do not use it up.
 */
function installGuards(app: FastifyInstance, context: SalesforceContext): void {
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith(DATA_PREFIX)) return;
    const segment = request.url.slice('/services/data/'.length).split(/[/?]/)[0];
    if (!parseVersion(segment)) throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const header = request.headers.authorization ?? '';
    const token = /^(Bearer|OAuth)\s+(.+)$/i.exec(header)?.[2]?.trim();
    if (!token || !context.tokens.isValid(token)) throw sessionExpired();
    try {
      context.limits.take();
    } catch (error) {
      context.counters.rateLimited += 1;
      throw error;
    }
  });

  // [S2]: every REST response carries the org's usage, errors included.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith(DATA_PREFIX)) reply.header('sforce-limit-info', context.limits.header());
    return payload;
  });

  app.setErrorHandler((error: FastifyError | SalesforceApiError | MultipleChoices, _request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof SalesforceApiError) return reply.code(error.statusCode).send(error.body());
    if (error instanceof MultipleChoices) return reply.code(300).send(error.urls);
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status === 415) return reply.code(415).send([{ errorCode: 'UNSUPPORTED_MEDIA_TYPE', message: error.message }]);
    if (status === 413) return reply.code(413).send([{ errorCode: 'REQUEST_TOO_LARGE', message: error.message }]);
    if (status >= 400 && status < 500) return reply.code(400).send([{ errorCode: 'JSON_PARSER_ERROR', message: error.message }]);
    return reply.code(500).send([{ errorCode: 'UNKNOWN_EXCEPTION', message: `An unexpected error occurred. ${error.message}` }]);
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]));
}

/** Injected faults in Salesforce's shape; there is no 429 at Salesforce, a refusal is a 403 [S35][S37]. */
function renderFault(kind: 'server-error' | 'rate-limit', reply: FastifyReply): FastifyReply {
  if (kind === 'rate-limit') return reply.code(403).send([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
  return reply.code(500).send([{ message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1602347819-104588 (-1431766498)', errorCode: 'UNKNOWN_EXCEPTION' }]);
}

/**
 * Injected faults at the token endpoint. REQUEST_LIMIT_EXCEEDED is an API allocation the token
 * endpoint does not count against; Salesforce documents no throttling answer there, but clients
 * have met a bare 429 from it (jsforce then names the error ERROR_HTTP_429), so "rate-limit" is a
 * 429 with a plain-text body and no Retry-After (UNCONFIRMED). A server error is answered as the
 * API's.
 */
function renderTokenFault(kind: 'server-error' | 'rate-limit', reply: FastifyReply): FastifyReply {
  if (kind === 'rate-limit') return reply.code(429).type('text/plain').send('Too Many Requests');
  return renderFault(kind, reply);
}

/** `GET /services/data/`: one entry per release, v20.0 = Winter '11, three releases a year. */
function versionList(): { label: string; url: string; version: string }[] {
  const seasons = ['Winter', 'Spring', 'Summer'];
  const out = [];
  for (let major = MIN_VERSION; major <= MAX_VERSION; major += 1) {
    const release = major - 20;
    const year = 11 + Math.floor(release / 3);
    out.push({ label: `${seasons[release % 3]} '${String(year).padStart(2, '0')}`, url: `/services/data/v${major}.0`, version: `${major}.0` });
  }
  return out;
}

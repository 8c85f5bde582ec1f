import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SandboxCounters } from '../core/counters';
import { FakeData } from '../core/fake-data';
import { FaultInjector } from '../core/faults';
import { ModstampClock } from '../core/modstamp-clock';
import { ADMIN_PREFIX, createSandboxApp, listen } from '../core/sandbox-app';
import type { CommonSandboxOptions, SandboxHandle } from '../core/sandbox-handle';
import { WebhookDispatcher } from '../core/webhook-dispatcher';
import { createAdmin, registerAdminRoutes, type ZohoAdmin } from './admin';
import { parseFormFields, REGION_DOMAINS, registerAuthorizeRoute, TOKEN_ROUTE, tokenThrottled, ZohoAuth, type RegionUrls, type ZohoRegion } from './auth';
import { consentApp, type ConsentControls } from '../core/consent';
import { errorBody, invalidUrl, ZohoError } from './errors';
import { creditsFor, ZohoLimits, type ZohoLimitOptions } from './limits';
import { DEFAULT_SYNC_ID_FIELD } from './modules';
import { registerContactRoleRoutes } from './contact-roles';
import { ZohoNotifications } from './notifications';
import { API_PREFIXES, isApiPath, recordsInCall, registerRecordRoutes } from './records';
import { RecordStore, type ZohoUser } from './store';
import { ZOHO_API_USER } from './users';

export interface ZohoSandboxOptions extends CommonSandboxOptions {
  /** The data centre the account lives in. Default `us`. */
  region?: ZohoRegion;
  /** Data centres served (each an accounts server and an API domain on its own port). Default `['us', 'eu']`; always includes `region`. */
  regions?: ZohoRegion[];
  /** The OAuth client and the refresh token a consent produced. */
  client?: { clientId?: string; clientSecret?: string; refreshToken?: string; accessTokenLifetimeSeconds?: number };
  /** `false` turns credits and concurrency off (benchmarks); otherwise settings over Standard's defaults. */
  limits?: ZohoLimitOptions | false;
  /** Time each API call holds its concurrency slot (a vendor call is not instant). Default 0. */
  callLatencyMs?: number;
  /** API name of the unique custom field crm-sync writes the sync id to. Default `CRM_Sync_Id`. */
  syncIdField?: string;
  /** The organisation's time zone as minutes east of UTC (datetimes are rendered in it). Default 330 (+05:30). */
  utcOffsetMinutes?: number;
}

export type ZohoCredentials = {
  region: string;
  accountsServer: string;
  apiDomain: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
};

export interface ZohoSandbox extends SandboxHandle {
  name: 'zoho';
  /** The home region's API domain (the `api_domain` tokens carry). */
  url: string;
  region: ZohoRegion;
  /** Accounts server and API domain of every emulated data centre. */
  regions: Partial<Record<ZohoRegion, RegionUrls>>;
  credentials: ZohoCredentials;
  admin: ZohoAdmin;
  /** The client's authorized redirect URIs (API console) and the consent page's decisions. */
  consent: ConsentControls;
}

function parseJsonBody(body: string): unknown {
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new ZohoError(400, errorBody('INVALID_DATA', 'body is not a valid JSON'));
  }
}

/** Host label for counters, as the vendor names the host: `accounts.zoho.eu`, `www.zohoapis.eu`. */
export function hostLabel(kind: 'accounts' | 'api', region: ZohoRegion): string {
  return kind === 'accounts' ? `accounts.zoho.${REGION_DOMAINS[region]}` : `www.zohoapis.${REGION_DOMAINS[region]}`;
}

export async function startZohoSandbox(options: ZohoSandboxOptions = {}): Promise<ZohoSandbox> {
  const now = options.now ?? Date.now;
  const home = options.region ?? 'us';
  const regions = [...new Set([...(options.regions ?? ['us', 'eu']), home])];
  const syncIdField = options.syncIdField ?? DEFAULT_SYNC_ID_FIELD;
  const callLatencyMs = options.callLatencyMs ?? 0;
  const counters = new SandboxCounters();
  const faults = new FaultInjector(options.faults);
  const dispatcher = new WebhookDispatcher({ counters, chaos: options.webhooks?.chaos, retryDelaysMs: options.webhooks?.retryDelaysMs, timeoutMs: 10_000 });
  dispatcher.setTarget(options.webhooks?.url);
  const urls: Partial<Record<ZohoRegion, RegionUrls>> = {};
  const auth = new ZohoAuth(
    home,
    {
      clientId: options.client?.clientId ?? `1000.${randomBytes(15).toString('hex').toUpperCase()}`,
      clientSecret: options.client?.clientSecret ?? randomBytes(21).toString('hex'),
      refreshToken: options.client?.refreshToken ?? `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`,
      accessTokenLifetimeSeconds: options.client?.accessTokenLifetimeSeconds ?? 3600,
    },
    () => urls as Record<ZohoRegion, RegionUrls>,
    now,
  );
  const store = new RecordStore(new ModstampClock(now), syncIdField, options.utcOffsetMinutes ?? 330, 5_843_104n);
  const limits = new ZohoLimits(options.limits, now);
  const apiUser: ZohoUser = ZOHO_API_USER;
  const hostCounts = new Map<string, number>();
  const inFlight = new WeakSet<FastifyRequest>();
  const apps: FastifyInstance[] = [];

  const renderFault = (kind: 'server-error' | 'rate-limit', _request: FastifyRequest, reply: FastifyReply): FastifyReply =>
    kind === 'rate-limit'
      ? reply.code(429).send(errorBody('TOO_MANY_REQUESTS', 'concurrency limit exceeded', {}))
      : reply.code(500).send(errorBody('INTERNAL_ERROR', 'Internal Server Error'));

  // Zoho's accounts server throttles token requests (10 access tokens per refresh token per 10
  // minutes) with HTTP 200 and "Access Denied" (Zoho, "Kaizen #43 - Tokens and Limitations"; the
  // body as clients log it); an outage there answers as the API does (UNCONFIRMED).
  const renderTokenFault = (kind: 'server-error' | 'rate-limit', request: FastifyRequest, reply: FastifyReply): FastifyReply =>
    kind === 'rate-limit' ? reply.code(200).send(tokenThrottled()) : renderFault(kind, request, reply);

  const newApp = (label: string): FastifyInstance => {
    const app = createSandboxApp({ now, faults, counters, webhooks: dispatcher, renderFault, tokenRoutes: [TOKEN_ROUTE], renderTokenFault });
    // Counted at the socket, before faults or refusals: a test asserts which hosts were called at all.
    app.server.on('request', (request: { url?: string }) => {
      if (!request.url?.startsWith(ADMIN_PREFIX)) hostCounts.set(label, (hostCounts.get(label) ?? 0) + 1);
    });
    app.setErrorHandler((error: FastifyError | ZohoError, _request, reply) => {
      if (error instanceof ZohoError) return reply.code(error.statusCode).headers(error.headers).send(error.body);
      if (error.statusCode !== undefined && error.statusCode < 500) return reply.code(error.statusCode).send(errorBody('INVALID_DATA', `invalid data: ${error.message}`));
      return reply.code(500).send(errorBody('INTERNAL_ERROR', 'Internal Server Error'));
    });
    app.setNotFoundHandler((_request, reply) => reply.code(404).send(invalidUrl().body));
    apps.push(app);
    return app;
  };

  const notifications = new ZohoNotifications(dispatcher, () => (urls[home] as RegionUrls).apiUrl, now);
  store.onChange((change) => notifications.record(change));
  const admin = createAdmin({ store, auth, limits, counters, notifications, dispatcher, fake: new FakeData(options.dataSeed ?? 42), hostCounts });
  const creditHeaders = new WeakMap<FastifyRequest, Record<string, string>>();
  const regionApps: { region: ZohoRegion; accounts: FastifyInstance; api: FastifyInstance }[] = [];
  const consent = consentApp(() => auth.client.clientId);
  for (const region of regions) {
    const accounts = newApp(hostLabel('accounts', region));
    registerAuthorizeRoute(accounts, consent.app, auth, consent.controls);
    // Zoho's own SDKs post the grant as multipart/form-data (the v8 Node SDK's refreshAccessToken
    // and generateAccessToken build a FormData body [Z13]); the accounts server takes it.
    accounts.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, async (request: FastifyRequest, body: Buffer) => parseFormFields(request.headers['content-type'] ?? '', body));
    accounts.post<{ Body: Record<string, string | undefined> | undefined; Querystring: Record<string, string | undefined> }>(TOKEN_ROUTE, async (request, reply) => {
      // Zoho takes the grant as query parameters or a form body [Z2].
      const { statusCode, body } = auth.grant(region, { ...request.query, ...(request.body ?? {}) });
      return reply.code(statusCode).send(body);
    });
    const api = newApp(hostLabel('api', region));
    // A body without Content-Type is read as JSON: Zoho's v8 Node SDK sends record writes with no
    // Content-Type at all (it sets one only for bulk and enrichment paths [Z13]), and Zoho takes them.
    api.addContentTypeParser('*', { parseAs: 'string' }, async (_request: FastifyRequest, body: string) => parseJsonBody(body));
    // Auth (a token is valid only at its own data centre), then concurrency, then credits.
    api.addHook('preHandler', async (request) => {
      if (!isApiPath(request.url)) return;
      auth.authenticate(request.headers.authorization, region);
      limits.enter();
      inFlight.add(request);
      creditHeaders.set(request, limits.spend(creditsFor(request.method, recordsInCall(request.method, request.body, request.query as Record<string, string | undefined>))));
      if (callLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, callLatencyMs));
    });
    api.addHook('onSend', async (request, reply) => {
      const headers = creditHeaders.get(request);
      if (headers) reply.headers(headers);
    });
    api.addHook('onResponse', async (request) => {
      if (inFlight.delete(request)) limits.leave();
    });
    // Every data centre serves the same API; a token is only valid at its own.
    for (const prefix of API_PREFIXES) {
      registerContactRoleRoutes(api, store, prefix);
      registerRecordRoutes(api, { store, counters, notifications, apiUser }, prefix);
    }
    registerAdminRoutes(api, admin);
    regionApps.push({ region, accounts, api });
  }
  for (const { region, accounts, api } of regionApps) urls[region] = { accountsUrl: await listen(accounts, 0), apiUrl: await listen(api, region === home ? (options.port ?? 0) : 0) };
  const homeUrls = urls[home] as RegionUrls;

  if (options.seed) {
    const { contacts, companies, deals, activities } = options.seed;
    admin.seed({ Contacts: contacts, Accounts: companies, Deals: deals, Tasks: activities });
  }

  return {
    name: 'zoho',
    url: homeUrls.apiUrl,
    region: home,
    regions: urls,
    credentials: {
      region: home,
      accountsServer: homeUrls.accountsUrl,
      apiDomain: homeUrls.apiUrl,
      clientId: auth.client.clientId,
      clientSecret: auth.client.clientSecret,
      refreshToken: auth.client.refreshToken,
    },
    counters,
    faults,
    webhooks: dispatcher,
    admin,
    consent: consent.controls,
    async stop() {
      await dispatcher.stop();
      await Promise.all(apps.map((app) => app.close()));
    },
  };
}

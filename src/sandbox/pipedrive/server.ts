import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SandboxCounters } from '../core/counters';
import { FakeData } from '../core/fake-data';
import { FaultInjector } from '../core/faults';
import { ModstampClock } from '../core/modstamp-clock';
import { ADMIN_PREFIX, createSandboxApp, listen } from '../core/sandbox-app';
import type { CommonSandboxOptions, SandboxHandle } from '../core/sandbox-handle';
import { WebhookDispatcher } from '../core/webhook-dispatcher';
import { createAdmin, LostResponses, registerAdminRoutes, type PipedriveAdmin } from './admin';
import { AuthRegistry, registerAuthorizeRoute, registerOAuthRoutes, TOKEN_ROUTE, type Caller } from './auth';
import { consentApp, type ConsentControls } from '../core/consent';
import { errorBody, PipedriveError, rateLimited, serverError } from './errors';
import { PipedriveLimits, type PipedriveLimitOptions } from './limits';
import { callKindOf, registerEntityRoutes } from './routes';
import { Changelog, registerChangelogRoutes } from './changelog';
import { DealParticipants, registerParticipantRoutes } from './participants';
import { RecordStore } from './store';
import { PipedriveWebhooks, registerWebhookRoutes } from './webhooks';

export interface PipedriveSandboxOptions extends CommonSandboxOptions {
  /** The personal API token the sandbox accepts (`x-api-token` / `api_token`). */
  apiToken?: string;
  oauth?: { clientId?: string; clientSecret?: string; refreshToken?: string; accessTokenLifetimeSeconds?: number };
  /** `false` turns every limit off (benchmarks); otherwise per-limit settings over Pipedrive's Growth defaults. */
  limits?: PipedriveLimitOptions | false;
  /**
   * Basic auth for the subscription made from `webhooks.url` (`*` actions on `*` objects).
   * Default: generated, in `credentials.webhookUser` / `webhookPassword`.
   */
  webhookAuth?: { user: string; password: string };
  /** Per-attempt timeout of webhook deliveries; Pipedrive wants a 2xx within 10 s [P4]. */
  webhookTimeoutMs?: number;
}

/** What a client needs; a type alias so it fits `SandboxHandle['credentials']`. */
export type PipedriveCredentials = {
  apiToken: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  tokenUrl: string;
  webhookUser: string;
  webhookPassword: string;
};

export interface PipedriveSandbox extends SandboxHandle {
  name: 'pipedrive';
  credentials: PipedriveCredentials;
  admin: PipedriveAdmin;
  /** The app's callback URL (its Marketplace registration) and the install page's decisions. */
  consent: ConsentControls;
}

/** Pipedrive retries a failed delivery after 3, 30 and 150 s [P4]. */
export const PIPEDRIVE_WEBHOOK_RETRY_DELAYS_MS = [3_000, 30_000, 150_000];

export async function startPipedriveSandbox(options: PipedriveSandboxOptions = {}): Promise<PipedriveSandbox> {
  const now = options.now ?? Date.now;
  const apiToken = options.apiToken ?? randomBytes(20).toString('hex');
  const oauthApp = {
    clientId: options.oauth?.clientId ?? randomBytes(8).toString('hex'),
    clientSecret: options.oauth?.clientSecret ?? randomBytes(20).toString('hex'),
    refreshToken: options.oauth?.refreshToken ?? `${randomUUID()}:${randomBytes(16).toString('hex')}`,
    accessTokenLifetimeSeconds: options.oauth?.accessTokenLifetimeSeconds ?? 3600,
  };
  const webhookAuth = options.webhookAuth ?? { user: 'crm-sync', password: randomBytes(18).toString('base64url') };

  const counters = new SandboxCounters();
  const faults = new FaultInjector(options.faults);
  const dispatcher = new WebhookDispatcher({
    counters,
    chaos: options.webhooks?.chaos,
    retryDelaysMs: options.webhooks?.retryDelaysMs ?? PIPEDRIVE_WEBHOOK_RETRY_DELAYS_MS,
    timeoutMs: options.webhookTimeoutMs ?? 10_000,
  });
  const store = new RecordStore(new ModstampClock(now), now);
  let baseUrl = '';
  const auth = new AuthRegistry(apiToken, oauthApp, () => baseUrl, now);
  const limits = new PipedriveLimits(options.limits, now);
  const webhooks = new PipedriveWebhooks(dispatcher, 7_000_001, 1_000_001);
  store.onChange((change) => webhooks.record(change));
  const changelog = new Changelog();
  store.onChange((change) => changelog.record(change));
  const lost = new LostResponses();

  const tryAuthenticate = (request: FastifyRequest): Caller | undefined => {
    try {
      return auth.authenticate(request);
    } catch {
      return undefined;
    }
  };

  const app = createSandboxApp({
    now,
    faults,
    counters,
    webhooks: dispatcher,
    // The OAuth server's fault answers are undocumented; it answers as the API does (UNCONFIRMED).
    tokenRoutes: [TOKEN_ROUTE],
    renderFault(kind, request, reply): FastifyReply {
      reply.headers(limits.headers(tryAuthenticate(request)));
      if (kind === 'rate-limit') return reply.code(429).send(rateLimited('Request over limit'));
      return reply.code(500).send(serverError());
    },
  });

  app.setErrorHandler((error: FastifyError | PipedriveError, _request, reply) => {
    if (error instanceof PipedriveError) return reply.code(error.statusCode).send(error.body);
    if (error.statusCode !== undefined && error.statusCode < 500) return reply.code(error.statusCode).send(errorBody(`Validation failed: body: ${error.message}`, { code: 'ERR_SCHEMA_VALIDATION_FAILED' }));
    return reply.code(500).send(serverError());
  });

  // Auth, then the budgets: every vendor answer carries the rate-limit headers [P3].
  app.addHook('preHandler', async (request, reply) => {
    if (request.url.startsWith(ADMIN_PREFIX) || request.url.startsWith('/oauth/')) return;
    const caller = auth.authenticate(request);
    const decision = limits.take(caller, callKindOf(request.method, request.routeOptions.url));
    reply.headers(decision.headers);
    if (decision.refusal) {
      counters.rateLimited += 1;
      return reply.code(429).send(decision.refusal);
    }
  });

  // A lost response: the request was carried out, then the connection drops before the answer.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.url.startsWith(ADMIN_PREFIX) && reply.statusCode < 400 && lost.take(request)) request.raw.socket.destroy();
    return payload;
  });

  const consent = consentApp(() => oauthApp.clientId);
  registerAuthorizeRoute(app, consent.app, auth, consent.controls);
  registerOAuthRoutes(app, auth);
  const participants = new DealParticipants(store, now);
  registerEntityRoutes(app, store, counters, participants);
  registerParticipantRoutes(app, participants);
  registerChangelogRoutes(app, store, changelog);
  registerWebhookRoutes(app, webhooks);
  const admin = createAdmin({ participants, store, auth, limits, webhooks, dispatcher, lost, counters: () => counters.snapshot(), fake: new FakeData(options.dataSeed ?? 42) });
  registerAdminRoutes(app, admin);

  if (options.seed) {
    const { contacts, companies, deals, activities } = options.seed;
    admin.seed({ persons: contacts, organizations: companies, deals, activities });
  }

  const url = await listen(app, options.port ?? 0);
  baseUrl = url;
  if (options.webhooks?.url) {
    webhooks.subscribe({ subscription_url: options.webhooks.url, event_action: '*', event_object: '*', version: '2.0', http_auth_user: webhookAuth.user, http_auth_password: webhookAuth.password });
  }
  return {
    name: 'pipedrive',
    url,
    credentials: {
      apiToken,
      clientId: oauthApp.clientId,
      clientSecret: oauthApp.clientSecret,
      refreshToken: oauthApp.refreshToken,
      tokenUrl: `${url}/oauth/token`,
      webhookUser: webhookAuth.user,
      webhookPassword: webhookAuth.password,
    },
    counters,
    faults,
    webhooks: dispatcher,
    admin,
    consent: consent.controls,
    async stop() {
      await dispatcher.stop();
      await app.close();
    },
  };
}

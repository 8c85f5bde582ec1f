import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SandboxCounters } from '../core/counters';
import { FakeData } from '../core/fake-data';
import { FaultInjector } from '../core/faults';
import { ModstampClock } from '../core/modstamp-clock';
import { ADMIN_PREFIX, createSandboxApp, listen } from '../core/sandbox-app';
import type { CommonSandboxOptions, SandboxHandle } from '../core/sandbox-handle';
import { WebhookDispatcher } from '../core/webhook-dispatcher';
import { consentApp, type ConsentControls } from '../core/consent';
import { createAdmin, registerAdminRoutes, type HubSpotAdmin } from './admin';
import { AssociationStore, registerAssociationBatchRoutes, registerAssociationRoutes } from './associations';
import { AuthRegistry, registerAuthorizeRoute, registerOAuthRoutes, registerTokenMetadataRoute, TOKEN_ROUTES, unknownToken, type AppIdentity, type PrivateAppConfig, type PublicAppConfig } from './auth';
import { attachPortal, DEFAULT_PUBLIC_APP_SCOPES, developerAppInternals, lookUpTokenAcrossPortals, type HubSpotDeveloperApp } from './developer-app';
import { registerBatchRoutes } from './batch';
import { errorBody, HubSpotError } from './errors';
import { WebhooksJournal } from './journal';
import { JOURNAL_FILES_PREFIX, registerJournalRoutes } from './journal-routes';
import { HubSpotLimits, type HubSpotLimitOptions } from './limits';
import { registerObjectRoutes } from './objects';
import { registerOwnerRoutes } from './owners';
import { registerPropertyRoutes } from './properties';
import { setApp } from './request-context';
import { registerSearchRoutes } from './search';
import { RecordStore } from './store';
import { HubSpotWebhooks } from './webhooks';
import { APP_WEBHOOKS_PREFIX, AppWebhookRegistry, registerAppWebhookRoutes } from './app-webhooks';
import { WriteHooks } from './write-hooks';

export interface HubSpotSandboxOptions extends CommonSandboxOptions {
  portalId?: number;
  /** The private app whose static token the sandbox accepts. */
  privateApp?: Partial<PrivateAppConfig>;
  /**
   * The public (OAuth) app: client credentials, a starting refresh token, the access-token lifetime
   * and the scopes of installs made without the consent page. With `developerApp`, only
   * `refreshToken` and `accessTokenLifetimeSeconds` may be set here (they are per portal).
   */
  publicApp?: Partial<PublicAppConfig>;
  /**
   * The public app as installed in several portals (`createHubSpotDeveloperApp()`): sandboxes given
   * the same one share its id, client id and secret, developer API key, and its v3 webhook settings
   * and subscriptions [H84]; each answers token metadata for the others' tokens too [H105].
   */
  developerApp?: HubSpotDeveloperApp;
  /** `false` turns every limit off (benchmarks); otherwise per-limit settings over HubSpot's defaults. */
  limits?: HubSpotLimitOptions | false;
  /** Associations per input per page of a v4 batch read (HubSpot's size UNCONFIRMED; default 500). */
  associationsPageSize?: number;
  /** The developer account's API key (`hapikey`) for the public app's v3 webhooks API. Default random. */
  developerApiKey?: string;
  /** The webhooks journal (v4) [H94]: retention (3 days [H99]), events per file, publishing delay. */
  journal?: { retentionMs?: number; maxEventsPerEntry?: number; publishDelayMs?: number };
  webhookDelivery?: {
    /** Which app owns the webhook subscription (its appId and client secret are used). Default 'public'. */
    app?: 'private' | 'public';
    batchDelayMs?: number;
    maxEventsPerRequest?: number;
    timeoutMs?: number;
  };
}

/** What a client needs; a type alias so it fits `SandboxHandle['credentials']`. */
export type HubSpotCredentials = {
  portalId: string;
  accessToken: string;
  privateAppId: string;
  publicAppId: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  webhookClientSecret: string;
  /** The developer account's API key: configures the public app's webhooks (v3 API). */
  developerApiKey: string;
};

export interface HubSpotSandbox extends SandboxHandle {
  name: 'hubspot';
  portalId: number;
  credentials: HubSpotCredentials;
  admin: HubSpotAdmin;
  /** The public app's redirect URLs (its Auth settings) and the install page's decisions. */
  consent: ConsentControls;
  /** What the app's journal subscriptions recorded (in-process: tests look at its size). */
  journal: WebhooksJournal;
}

export async function startHubSpotSandbox(options: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
  const now = options.now ?? Date.now;
  const portalId = options.portalId ?? 62515;
  const privateApp: PrivateAppConfig = {
    token: options.privateApp?.token ?? `pat-na1-${randomUUID()}`,
    appId: options.privateApp?.appId ?? 1_000_001,
    clientSecret: options.privateApp?.clientSecret ?? randomUUID(),
  };
  const developerApp = options.developerApp;
  if (developerApp) {
    const clashing: string[] = (['appId', 'clientId', 'clientSecret', 'scopes'] as const).filter((key) => options.publicApp?.[key] !== undefined);
    if (options.developerApiKey !== undefined) clashing.push('developerApiKey');
    if (clashing.length > 0) throw new Error(`with developerApp, set ${clashing.join(', ')} on createHubSpotDeveloperApp()`);
  }
  const publicApp: PublicAppConfig = {
    appId: developerApp?.appId ?? options.publicApp?.appId ?? 2_000_002,
    clientId: developerApp?.clientId ?? options.publicApp?.clientId ?? randomUUID(),
    clientSecret: developerApp?.clientSecret ?? options.publicApp?.clientSecret ?? randomBytes(16).toString('hex'),
    refreshToken: options.publicApp?.refreshToken ?? `na1-${randomUUID()}`,
    accessTokenLifetimeSeconds: options.publicApp?.accessTokenLifetimeSeconds ?? 1800,
    scopes: [...(developerApp?.scopes ?? options.publicApp?.scopes ?? DEFAULT_PUBLIC_APP_SCOPES)],
  };
  const webhookApp = options.webhookDelivery?.app === 'private' ? privateApp : publicApp;

  const counters = new SandboxCounters();
  const faults = new FaultInjector(options.faults);
  const dispatcher = new WebhookDispatcher({
    counters,
    chaos: options.webhooks?.chaos,
    retryDelaysMs: options.webhooks?.retryDelaysMs,
    timeoutMs: options.webhookDelivery?.timeoutMs ?? 5000,
  });
  dispatcher.setTarget(options.webhooks?.url);
  const store = new RecordStore(new ModstampClock(now));
  const adminUserId = 7_000_001;
  const auth = new AuthRegistry(privateApp, publicApp, now, { portalId, userId: adminUserId, user: `admin@portal-${portalId}.example`, hubDomain: `portal-${portalId}.example` });
  // Claimed first, so a portal id already running with the app fails the start before anything is built.
  const detach = developerApp ? attachPortal(developerApp, portalId, (token) => auth.tokenMetadata(token)) : undefined;
  const limits = new HubSpotLimits(options.limits, portalId, now);
  const developerApiKey = developerApp?.developerApiKey ?? options.developerApiKey ?? randomUUID();
  // Only a public app's webhooks are configurable by API; a private app's only in its settings [H84].
  // They are app-level: portals sharing a developer app share one registry.
  const appWebhooks = developerApp ? developerAppInternals(developerApp).registry : new AppWebhookRegistry(publicApp.appId, publicApp.clientSecret, developerApiKey, now);
  const webhooks = new HubSpotWebhooks(dispatcher, {
    portalId,
    appId: webhookApp.appId,
    clientSecret: webhookApp.clientSecret,
    batchDelayMs: options.webhookDelivery?.batchDelayMs ?? 50,
    maxEventsPerRequest: options.webhookDelivery?.maxEventsPerRequest ?? 100,
  }, appWebhooks);
  const journal = new WebhooksJournal({
    portalId,
    now,
    retentionMs: options.journal?.retentionMs ?? 3 * 24 * 60 * 60_000,
    maxEventsPerEntry: options.journal?.maxEventsPerEntry ?? 100,
    publishDelayMs: options.journal?.publishDelayMs ?? 1000,
    muted: () => webhooks.muted,
  });
  const associations = new AssociationStore(now);
  store.onChange((change) => {
    // A deleted record loses its associations (vendor-facts H54).
    if (change.kind === 'deletion') associations.removeAllOf(change.record.type, change.record.id);
    webhooks.record(change);
    journal.recordChange(change);
  });
  associations.onChange((change) => {
    webhooks.recordAssociation(change);
    journal.recordAssociation(change);
  });
  const writeHooks = new WriteHooks();

  const tryAuthenticate = (request: FastifyRequest): AppIdentity | undefined => {
    try {
      return auth.authenticate(request.headers.authorization);
    } catch {
      return undefined;
    }
  };

  const app = createSandboxApp({
    now,
    faults,
    counters,
    webhooks: dispatcher,
    // The token endpoint answers faults as the API does: HubSpot's 429 and 500 bodies (UNCONFIRMED there).
    tokenRoutes: TOKEN_ROUTES,
    renderFault(kind, request, reply): FastifyReply {
      const caller = tryAuthenticate(request);
      reply.headers(limits.headers(caller));
      if (kind === 'rate-limit') return reply.code(429).send(limits.rateLimitBody('TEN_SECONDLY_ROLLING', caller));
      return reply.code(500).send(errorBody('internal error', 'INTERNAL_ERROR'));
    },
  });

  app.setErrorHandler((error: FastifyError | HubSpotError, _request, reply) => {
    if (error instanceof HubSpotError) return reply.code(error.statusCode).send(error.body);
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody(`Invalid input JSON: ${error.message}`, 'VALIDATION_ERROR'));
    }
    return reply.code(500).send(errorBody('internal error', 'INTERNAL_ERROR'));
  });

  // Auth, then budgets: every vendor answer carries the rate-limit headers.
  app.addHook('preHandler', async (request, reply) => {
    // The v3 webhooks API authenticates the developer account (hapikey), not a portal's token;
    // journal files are presigned URLs.
    if (request.url.startsWith(ADMIN_PREFIX) || request.url.startsWith('/oauth/') || request.url.startsWith(APP_WEBHOOKS_PREFIX) || request.url.startsWith(JOURNAL_FILES_PREFIX)) return;
    const caller = auth.authenticate(request.headers.authorization);
    setApp(request, caller);
    // The journal and its subscriptions are exempt from the daily and ten-secondly limits [H95].
    if (request.url.startsWith('/webhooks-journal/')) return;
    const decision = limits.take(caller, request.routeOptions.url?.endsWith('/search') === true);
    reply.headers(decision.headers);
    if (decision.refusal) {
      counters.rateLimited += 1;
      return reply.code(429).send(decision.refusal.body);
    }
    writeHooks.run(request);
  });

  const consent = consentApp(() => publicApp.clientId);
  registerAuthorizeRoute(app, consent.app, auth, consent.controls);
  registerOAuthRoutes(app, auth);
  registerTokenMetadataRoute(app, (token) => auth.tokenMetadata(token) ?? (developerApp ? lookUpTokenAcrossPortals(developerApp, token) : undefined) ?? unknownToken(token));
  registerObjectRoutes(app, store, counters);
  registerBatchRoutes(app, store, counters, portalId);
  registerPropertyRoutes(app, store);
  registerOwnerRoutes(app);
  registerSearchRoutes(app, store);
  registerAssociationRoutes(app, store, associations);
  registerAssociationBatchRoutes(app, store, associations, options.associationsPageSize);
  registerAppWebhookRoutes(app, appWebhooks);
  registerJournalRoutes(app, { journal, auth, portalId, now });
  const admin = createAdmin({ store, associations, writeHooks, auth, limits, counters, webhooks, dispatcher, fake: new FakeData(options.dataSeed ?? 42), userId: adminUserId });
  registerAdminRoutes(app, admin);

  if (options.seed) {
    const { contacts, companies, deals, activities } = options.seed;
    admin.seed({ contacts, companies, deals, tasks: activities });
  }

  let url: string;
  try {
    url = await listen(app, options.port ?? 0);
  } catch (error) {
    detach?.();
    throw error;
  }
  return {
    name: 'hubspot',
    url,
    portalId,
    credentials: {
      portalId: String(portalId),
      accessToken: privateApp.token,
      privateAppId: String(privateApp.appId),
      publicAppId: String(publicApp.appId),
      clientId: publicApp.clientId,
      clientSecret: publicApp.clientSecret,
      refreshToken: publicApp.refreshToken,
      webhookClientSecret: webhookApp.clientSecret,
      developerApiKey,
    },
    counters,
    faults,
    webhooks: dispatcher,
    admin,
    consent: consent.controls,
    journal,
    async stop() {
      webhooks.flush();
      await dispatcher.stop();
      webhooks.stop();
      detach?.();
      await app.close();
    },
  };
}

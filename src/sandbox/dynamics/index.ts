import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate as generateCertificate } from 'selfsigned';
import { SandboxCounters } from '../core/counters';
import { FaultInjector } from '../core/faults';
import { ModstampClock } from '../core/modstamp-clock';
import { createSandboxApp, listen } from '../core/sandbox-app';
import type { CommonSandboxOptions, SandboxHandle } from '../core/sandbox-handle';
import { WebhookDispatcher } from '../core/webhook-dispatcher';
import { createAdmin, registerAdminRoutes, type DynamicsAdmin } from './admin';
import { registerAdminConsentRoute, TokenAuthority, type TokenLifetime } from './auth';
import { consentApp, type ConsentControls } from '../core/consent';
import { DeltaTokens, DEFAULT_DELTA_RETENTION_MS } from './change-tracking';
import { activityTriggers } from './activities';
import { connectionTriggers, STAKEHOLDER_ROLE_ID } from './connections';
import { seedSystemUsers } from './users';
import { ENTITY_SETS, type EntitySetDefinition } from './entity-sets';
import { ServiceProtection, type ServiceProtectionOptions } from './limits';
import { SeedData, type DynamicsEntitySetName } from './seed';
import { API_ROOT, registerDataverseRoutes, renderFault, renderTokenFault, TOKEN_ROUTE } from './server';
import { DataverseStore, type StoreTriggers } from './store';
import { publishToSteps, publishWrite, type OrganizationInfo, type WebhookAuth } from './webhooks';
import { isRegistrationTable, registrationTriggers, seedRegistrationCatalog, stepDeliveries } from './plugin-registration';

export type { DynamicsAdmin } from './admin';
export { STAKEHOLDER_ROLE_ID } from './connections';
export type { TokenLifetime } from './auth';
export type { ServiceProtectionOptions } from './limits';
export type { DynamicsEntitySetName } from './seed';
export type { Row as DynamicsRow } from './store';
export type { OrganizationInfo, WebhookAuth } from './webhooks';

export interface DynamicsSandboxOptions extends CommonSandboxOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Seconds; default a seeded random 3,600-5,400 per token (Entra's 60-90 minutes [D4]). */
  tokenLifetimeSeconds?: TokenLifetime;
  /** Defaults: 6,000 requests, 1,200 s execution time, 52 concurrent, per user per 5 minutes. */
  serviceProtection?: ServiceProtectionOptions;
  /** Default: `WebhookKey` with a random key (see `credentials.webhookKey`). */
  webhookAuth?: WebhookAuth;
  organization?: Partial<OrganizationInfo>;
  /** systemuserid of the application user behind the client credentials. */
  applicationUserId?: string;
  /** systemuserid of the person whose UI edits the admin API simulates. */
  uiUserId?: string;
  deltaTokenRetentionMs?: number;
  /**
   * Serve HTTPS with a self-signed certificate generated at start (for 127.0.0.1 and localhost),
   * because MSAL refuses non-https authorities. Clients trust `handle.tls.ca`. Default false (HTTP).
   */
  tls?: boolean;
  /**
   * `pending`: the app is not yet consented in the tenant, so client credentials are refused
   * (AADSTS700016) until an administrator approves it at the admin consent endpoint. Default
   * `granted`.
   */
  adminConsent?: 'granted' | 'pending';
  /**
   * The organisation's auditing [D81]. On (the default here), every create, update and delete of
   * a synced table leaves an audit row with the changed columns' old and new values; off, none
   * (and the audit queries find nothing). Also switched with `admin.setAuditing`.
   */
  auditing?: boolean;
}

export interface DynamicsSandbox extends SandboxHandle {
  name: 'dynamics';
  admin: DynamicsAdmin;
  /** `<url>/api/data/v9.2`. */
  serviceRoot: string;
  tokenUrl: string;
  /** The application user stamps API writes (InitiatingUserId, _modifiedby_value); the UI user stamps admin edits. */
  users: { applicationUserId: string; uiUserId: string };
  organization: OrganizationInfo;
  /** Present with `tls: true`: the PEM certificate to trust (self-signed, so it is its own CA). */
  tls?: { ca: string };
  /** The app registration's redirect URIs and the admin consent page's decisions. */
  consent: ConsentControls;
}

/** Tables whose Create, Update and Delete take steps (an `sdkmessagefilter` each). */
const STEP_TABLES = ['contact', 'account', 'opportunity', 'task', 'phonecall', 'email', 'appointment', 'connection', 'activityparty'] as const;

const SEED_SETS: Record<string, DynamicsEntitySetName> = { contacts: 'contacts', companies: 'accounts', deals: 'opportunities', activities: 'tasks' };

export async function startDynamicsSandbox(options: DynamicsSandboxOptions = {}): Promise<DynamicsSandbox> {
  const now = options.now ?? Date.now;
  const counters = new SandboxCounters();
  const faults = new FaultInjector(options.faults);
  const webhooks = new WebhookDispatcher({
    counters,
    timeoutMs: 60_000,
    ...(options.webhooks?.retryDelaysMs ? { retryDelaysMs: options.webhooks.retryDelaysMs } : {}),
    ...(options.webhooks?.chaos ? { chaos: options.webhooks.chaos } : {}),
  });
  webhooks.setTarget(options.webhooks?.url);

  const organization: OrganizationInfo = {
    organizationId: options.organization?.organizationId ?? randomUUID(),
    organizationName: options.organization?.organizationName ?? 'crmsyncsandbox',
    host: options.organization?.host ?? 'crmsyncsandbox.crm.dynamics.com',
    businessUnitId: options.organization?.businessUnitId ?? randomUUID(),
  };
  const users = { applicationUserId: options.applicationUserId ?? randomUUID(), uiUserId: options.uiUserId ?? randomUUID() };
  let webhookAuth: WebhookAuth = options.webhookAuth ?? { type: 'WebhookKey', key: randomBytes(24).toString('base64url') };
  let muted = false;

  const store = new DataverseStore(new ModstampClock(now), (event) => {
    counters.countRecordWrites(event.definition.logicalName);
    if (muted) return;
    // Webhooks flow only through steps: those registered with the Web API, and the admin hook's.
    publishToSteps(webhooks, organization, stepDeliveries(store, event), event);
    if (!isRegistrationTable(event.definition)) publishWrite(webhooks, organization, () => webhookAuth, event);
  });
  store.auditing = options.auditing ?? true;
  store.triggers = combineTriggers(connectionTriggers(store), activityTriggers(store), registrationTriggers(store));
  // Dynamics 365 Sales ships a "Stakeholder" role for opportunity stakeholders [D35]; its id here is the sandbox's own.
  muted = true;
  store.create(ENTITY_SETS.connectionroles as EntitySetDefinition, { connectionroleid: STAKEHOLDER_ROLE_ID, name: 'Stakeholder', category: 1000 }, { userId: users.uiUserId });
  seedSystemUsers(store, users);
  seedRegistrationCatalog(store, STEP_TABLES, { userId: users.uiUserId });
  muted = false;
  const deltaTokens = new DeltaTokens(now, options.deltaTokenRetentionMs ?? DEFAULT_DELTA_RETENTION_MS);
  const protection = new ServiceProtection(options.serviceProtection ?? {}, now);
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? randomBytes(30).toString('base64url');

  const app = createSandboxApp({ now, faults, counters, webhooks, renderFault, tokenRoutes: [TOKEN_ROUTE], renderTokenFault });
  let baseUrl = '';
  const late: { authority?: TokenAuthority } = {};
  const authorityRef = (): TokenAuthority => {
    if (!late.authority) throw new Error('the token authority is created once the port is known');
    return late.authority;
  };
  const context = { store, deltaTokens, organizationId: organization.organizationId, businessUnitId: organization.businessUnitId, serviceRoot: '' };
  // Route registration must precede listen(); the authority and service root need the bound URL,
  // so the routes reach them through these late-bound references.
  registerDataverseRoutes(app, {
    get authority() {
      return authorityRef();
    },
    protection,
    context,
    baseUrl: () => baseUrl,
  });
  const seedData = new SeedData(options.dataSeed ?? 42);
  const admin = createAdmin({
    store,
    seedData,
    get authority() {
      return authorityRef();
    },
    deltaTokens,
    protection,
    counters,
    applicationUserId: users.applicationUserId,
    uiUserId: users.uiUserId,
    setWebhookAuth: (auth) => {
      webhookAuth = auth;
    },
    quietly: (work) => {
      muted = true;
      try {
        return work();
      } finally {
        muted = false;
      }
    },
  });
  registerAdminRoutes(app, admin);
  const consent = consentApp(() => clientId);
  registerAdminConsentRoute(app, consent.app, authorityRef, consent.controls);

  let tlsServer: HttpsServer | undefined;
  let tls: { ca: string } | undefined;
  if (options.tls) {
    const served = await listenTls(app, options.port ?? 0);
    tlsServer = served.server;
    tls = { ca: served.ca };
    baseUrl = served.url;
  } else {
    baseUrl = await listen(app, options.port ?? 0);
  }
  context.serviceRoot = `${baseUrl}${API_ROOT}`;
  late.authority = new TokenAuthority({
    tenantId,
    clientId,
    clientSecret,
    resource: baseUrl,
    applicationUserId: users.applicationUserId,
    lifetime: options.tokenLifetimeSeconds ?? [3600, 5400],
    seed: options.dataSeed ?? 42,
    now,
    consented: options.adminConsent !== 'pending',
  });
  for (const [kind, count] of Object.entries(options.seed ?? {})) {
    const set = SEED_SETS[kind];
    if (set && count) admin.seed(set, count);
  }

  const tokenUrl = `${baseUrl}/${tenantId}/oauth2/v2.0/token`;
  return {
    name: 'dynamics',
    url: baseUrl,
    serviceRoot: context.serviceRoot,
    tokenUrl,
    credentials: {
      tenantId,
      clientId,
      clientSecret,
      scope: `${baseUrl}/.default`,
      tokenUrl,
      authority: `${baseUrl}/${tenantId}`,
      serviceRoot: context.serviceRoot,
      webhookKey: webhookAuth.type === 'WebhookKey' ? webhookAuth.key : webhookAuth.value,
    },
    counters,
    faults,
    webhooks,
    admin,
    users,
    organization,
    consent: consent.controls,
    ...(tls ? { tls } : {}),
    stop: async () => {
      await webhooks.stop();
      if (tlsServer) {
        const server = tlsServer;
        // Held-open requests (injected timeouts) would keep close() waiting forever.
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await app.close();
    },
  };
}

function combineTriggers(...all: StoreTriggers[]): StoreTriggers {
  return {
    beforeCreate: (definition, values) => all.reduce((current, triggers) => triggers.beforeCreate?.(definition, current) ?? current, values),
    afterCreate: (definition, row, actor) => all.forEach((triggers) => triggers.afterCreate?.(definition, row, actor)),
    beforeDelete: (definition, row) => all.forEach((triggers) => triggers.beforeDelete?.(definition, row)),
    afterDelete: (definition, row, actor) => all.forEach((triggers) => triggers.afterDelete?.(definition, row, actor)),
  };
}

/**
 * The core app listens over HTTP only; in TLS mode an HTTPS server hands each request to the
 * same Fastify router, so routes, hooks, faults and counters behave exactly as over HTTP.
 */
async function listenTls(app: ReturnType<typeof createSandboxApp>, port: number): Promise<{ server: HttpsServer; url: string; ca: string }> {
  const host = '127.0.0.1';
  const pems = await generateCertificate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 7 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: host }, { type: 2, value: 'localhost' }] },
    ],
  });
  await app.ready();
  const server = createHttpsServer({ key: pems.private, cert: pems.cert }, (request, response) => app.routing(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `https://${host}:${address.port}`, ca: pems.cert };
}

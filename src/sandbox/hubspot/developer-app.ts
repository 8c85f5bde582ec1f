import { randomBytes, randomUUID } from 'node:crypto';
import { AppWebhookRegistry } from './app-webhooks';
import type { TokenMetadataAnswer } from './auth';

/**
 * One legacy public app of a developer account, installed in several portals: the app's identity
 * (id, client id and secret), its developer API key, and its v3 webhook settings and subscriptions,
 * which are app-level, shared by every portal that installed it [H84][H86]. Each portal still
 * issues its own tokens.
 */
export interface HubSpotDeveloperApp {
  readonly appId: number;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The developer account's key (`hapikey`) for `/webhooks/v3/{appId}/...`. */
  readonly developerApiKey: string;
  /** Scopes of installs made without the consent page (each sandbox's starting refresh token, admin codes). */
  readonly scopes: readonly string[];
  /** The portals whose sandboxes run with this app now, in start order. */
  portalIds(): number[];
  /** The app's one webhook target URL, once settings exist. */
  targetUrl(): string | undefined;
}

export interface HubSpotDeveloperAppOptions {
  appId?: number;
  clientId?: string;
  clientSecret?: string;
  developerApiKey?: string;
  scopes?: string[];
  /** The clock of the app's webhook settings and subscriptions (`createdAt`, `updatedAt`). */
  now?: () => number;
}

/** Scopes a sync app asks for: CRM objects read and write, owners, and `oauth` (every install has it). */
export const DEFAULT_PUBLIC_APP_SCOPES: readonly string[] = [
  'oauth',
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'crm.objects.deals.read',
  'crm.objects.deals.write',
  'crm.objects.owners.read',
];

/** What the sandboxes sharing an app need of it, kept off the public type. */
interface DeveloperAppInternals {
  registry: AppWebhookRegistry;
  /** Each attached portal's token metadata, as the one api.hubapi.com would look any of them up. */
  portals: Map<number, (token: string) => TokenMetadataAnswer | undefined>;
}

const internals = new WeakMap<HubSpotDeveloperApp, DeveloperAppInternals>();

export function createHubSpotDeveloperApp(options: HubSpotDeveloperAppOptions = {}): HubSpotDeveloperApp {
  const appId = options.appId ?? 2_000_002;
  const clientSecret = options.clientSecret ?? randomBytes(16).toString('hex');
  const developerApiKey = options.developerApiKey ?? randomUUID();
  const registry = new AppWebhookRegistry(appId, clientSecret, developerApiKey, options.now ?? Date.now);
  const portals = new Map<number, (token: string) => TokenMetadataAnswer | undefined>();
  const app: HubSpotDeveloperApp = {
    appId,
    clientId: options.clientId ?? randomUUID(),
    clientSecret,
    developerApiKey,
    scopes: [...(options.scopes ?? DEFAULT_PUBLIC_APP_SCOPES)],
    portalIds: () => [...portals.keys()],
    targetUrl: () => registry.targetUrl(),
  };
  internals.set(app, { registry, portals });
  return app;
}

/** The shared registry and portal table of an app made by `createHubSpotDeveloperApp`. */
export function developerAppInternals(app: HubSpotDeveloperApp): DeveloperAppInternals {
  const found = internals.get(app);
  if (!found) throw new Error('developerApp must come from createHubSpotDeveloperApp()');
  return found;
}

/** Joins a portal to the app; the returned function leaves it (the sandbox's stop). */
export function attachPortal(app: HubSpotDeveloperApp, portalId: number, metadata: (token: string) => TokenMetadataAnswer | undefined): () => void {
  const { portals } = developerAppInternals(app);
  // Two sandboxes claiming one portal would make hub_id and webhook portalId ambiguous.
  if (portals.has(portalId)) throw new Error(`portal ${portalId} already runs with developer app ${app.appId}`);
  portals.set(portalId, metadata);
  return () => void portals.delete(portalId);
}

/** Token metadata from whichever attached portal issued the token. */
export function lookUpTokenAcrossPortals(app: HubSpotDeveloperApp, token: string): TokenMetadataAnswer | undefined {
  for (const metadata of developerAppInternals(app).portals.values()) {
    const answer = metadata(token);
    if (answer) return answer;
  }
  return undefined;
}

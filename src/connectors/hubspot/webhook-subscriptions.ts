import { Client } from '@hubspot/api-client';
import type { SubscriptionCreateRequestEventTypeEnum, SubscriptionResponse } from '@hubspot/api-client/lib/codegen/webhooks';
import type { WebhookSubscribeRequest, WebhookSubscribeResult, WebhookSubscriber, WebhookSubscription } from '../webhook-subscriptions';
import { manualInstructions, sameEvent, wantedEvents } from './webhook-events';
import type { HubSpotTarget } from './activity-kinds';
import type { CompiledMapping } from '../../model/mapping';

/** A legacy public app whose webhooks crm-sync may configure: its id and the developer account's API key [H84][H86]. */
export interface HubSpotWebhookApp {
  appId: number;
  developerApiKey: string;
  /** The app's client secret, which signs every delivery; default the OAuth connection's. */
  clientSecret?: string | undefined;
}

export const HUBSPOT_APP_SUBSCRIPTION = 'hubspot-app-subscription';
/** The app's target URL setting, recorded so that the last connection of the app removes it. */
export const HUBSPOT_APP_TARGET = 'hubspot-app-target';

/** Concurrent deliveries HubSpot may make to the target; the sandbox and docs show 10 (the default is UNCONFIRMED). */
const MAX_CONCURRENT_REQUESTS = 10;

/** The shim's one route for every portal of an app: HubSpot keeps one target URL per app [H86]. */
export function hubspotAppCallbackPath(appId: number): string {
  return `/webhooks/hubspot/app/${appId}`;
}

/** The key a delivery to the app's route is dispatched by: each event names its app and portal [H22]. */
export function hubspotDispatchKey(appId: number, portalId: number): string {
  return `${appId}:${portalId}`;
}

/** The SDK rejects with an ApiException carrying the HTTP status as `code`. */
function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : undefined;
}

/** A subscription or setting already gone counts as removed. */
async function ignoringNotFound(call: Promise<unknown>): Promise<void> {
  await call.catch((error: unknown) => {
    if (statusOf(error) !== 404) throw error;
  });
}

/**
 * HubSpot webhook subscriptions. Without an app id and developer API key, or for a private app
 * (whose webhooks only its settings page edits [H84]), there is no API to call: `subscribe`
 * answers `manual` with what to set. With them, through the v3 webhooks API of @hubspot/api-client:
 * the app's one target URL is the shim's per-app route (`sharedCallbackPath`), which dispatches
 * each event by its portal; the portal is the connection's token's `hub_id` [H105]. Subscriptions
 * are the app's, one per event, reused when present and re-activated when paused. The lifecycle
 * hands `unsubscribe` only what no other connection of the app still holds, so the last one to go
 * removes the subscriptions and the target URL.
 */
export function createHubSpotSubscriber(options: {
  basePath: string;
  app: HubSpotWebhookApp | undefined;
  /** The connection's OAuth grant (client secret, access tokens); undefined for a private app. */
  oauth: { clientSecret: string; accessToken: () => Promise<string> } | undefined;
  mappingOf: (target: HubSpotTarget) => CompiledMapping;
}): WebhookSubscriber {
  const { app, oauth } = options;
  const apiApp = app && oauth ? app : undefined;
  // The SDK binds each discovery's decorators when first touched (api.ts): touch them at once.
  const client = apiApp ? new Client({ basePath: options.basePath, developerApiKey: apiApp.developerApiKey, numberOfApiCallRetries: 0 }) : undefined;
  const settingsApi = client?.webhooks.settingsApi;
  const subscriptionsApi = client?.webhooks.subscriptionsApi;
  const accessTokensApi = client?.oauth.accessTokensApi;

  return {
    sharedCallbackPath: apiApp ? hubspotAppCallbackPath(apiApp.appId) : undefined,

    async subscribe(request: WebhookSubscribeRequest): Promise<WebhookSubscribeResult> {
      const wanted = wantedEvents(request.objects, options.mappingOf);
      if (!app) return { kind: 'manual', instructions: manualInstructions(request.callbackUrl, wanted, 'no app id and developer API key are configured for this connection') };
      if (!apiApp || !oauth || !settingsApi || !subscriptionsApi || !accessTokensApi) {
        return { kind: 'manual', instructions: manualInstructions(request.callbackUrl, wanted, "the connection uses a private app's token, and a private app's webhooks are edited in its settings only") };
      }

      // GET /oauth/v1/access-tokens/{token}: the portal this grant is for, and the app it installed [H105].
      const grant = await accessTokensApi.get(await oauth.accessToken());
      if (grant.appId !== apiApp.appId) {
        throw new Error(`portal ${grant.hubId} installed HubSpot app ${grant.appId} through this connection's OAuth grant, but crm-sync configures the webhooks of app ${apiApp.appId}: set CRM_SYNC_OAUTH_HUBSPOT_APP_ID (or the connection's webhookApp.appId) to ${grant.appId}`);
      }

      const current = await settingsApi.getAll(apiApp.appId).catch((error: unknown) => {
        if (statusOf(error) === 404) return undefined;
        throw error;
      });
      if (current && current.targetUrl !== request.callbackUrl && !isPerConnectionRoute(current.targetUrl, request.callbackUrl)) {
        return { kind: 'manual', instructions: manualInstructions(request.callbackUrl, wanted, `app ${apiApp.appId} already delivers to ${current.targetUrl}, which crm-sync leaves alone: HubSpot keeps one target URL per app`) };
      }
      // A target on one connection's route (set before the per-app route existed) is moved to the app's.
      if (current?.targetUrl !== request.callbackUrl) await settingsApi.configure(apiApp.appId, { targetUrl: request.callbackUrl, throttling: { maxConcurrentRequests: MAX_CONCURRENT_REQUESTS } });

      const existing = (await subscriptionsApi.getAll(apiApp.appId)).results;
      const subscriptions: WebhookSubscription[] = [{ kind: HUBSPOT_APP_TARGET, id: String(apiApp.appId), objectType: null, expiresAt: null }];
      for (const event of wanted) {
        let found: SubscriptionResponse | undefined = existing.find((subscription) => sameEvent(subscription, event));
        if (found && !found.active) found = await subscriptionsApi.update(Number(found.id), apiApp.appId, { active: true });
        found ??= await subscriptionsApi.create(apiApp.appId, {
          eventType: event.eventType as SubscriptionCreateRequestEventTypeEnum,
          ...(event.propertyName !== undefined ? { propertyName: event.propertyName } : {}),
          ...(event.objectTypeId !== undefined ? { objectTypeId: event.objectTypeId } : {}),
          active: true,
        });
        subscriptions.push({ kind: HUBSPOT_APP_SUBSCRIPTION, id: String(found.id), objectType: event.objectType, expiresAt: null });
      }
      return {
        kind: 'registered',
        subscriptions,
        dispatchKey: hubspotDispatchKey(apiApp.appId, grant.hubId),
        webhookCredentials: { secret: apiApp.clientSecret ?? oauth.clientSecret },
      };
    },

    async unsubscribe(subscriptions: readonly WebhookSubscription[]): Promise<void> {
      if (!apiApp || !settingsApi || !subscriptionsApi) return;
      // Subscriptions before the target: while any remains, deliveries still have somewhere to go.
      for (const subscription of subscriptions) {
        if (subscription.kind === HUBSPOT_APP_SUBSCRIPTION) await ignoringNotFound(subscriptionsApi.archive(Number(subscription.id), apiApp.appId));
      }
      if (subscriptions.some((subscription) => subscription.kind === HUBSPOT_APP_TARGET)) await ignoringNotFound(settingsApi.clear(apiApp.appId));
    },
  };
}

/** `<base>/webhooks/hubspot/<connection>`: the route a target URL had before the per-app route, on the same shim. */
function isPerConnectionRoute(targetUrl: string, appCallbackUrl: string): boolean {
  const prefix = appCallbackUrl.replace(/\/app\/\d+$/, '/');
  return targetUrl.startsWith(prefix) && !targetUrl.slice(prefix.length).includes('/') && targetUrl.length > prefix.length;
}

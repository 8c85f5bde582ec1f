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

/** Concurrent deliveries HubSpot may make to the target; the sandbox and docs show 10 (the default is UNCONFIRMED). */
const MAX_CONCURRENT_REQUESTS = 10;

/** The SDK rejects with an ApiException carrying the HTTP status as `code`. */
function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : undefined;
}

/**
 * HubSpot webhook subscriptions. Without an app id and developer API key there is no API to call:
 * `subscribe` answers `manual` with what to set. With them, through the v3 webhooks API of
 * @hubspot/api-client: the app's target URL (kept if it already is this URL; another URL is not
 * overwritten, as other connections of the same app receive through it) and one subscription per
 * event, reused when present, re-activated when paused. `unsubscribe` deletes nothing: the
 * subscriptions are the app's and serve every portal that installed it [H84].
 */
export function createHubSpotSubscriber(options: {
  basePath: string;
  app: HubSpotWebhookApp | undefined;
  clientSecret: string | undefined;
  mappingOf: (target: HubSpotTarget) => CompiledMapping;
}): WebhookSubscriber {
  const { app } = options;
  // The SDK binds each discovery's decorators when first touched (api.ts): touch them at once.
  const client = app ? new Client({ basePath: options.basePath, developerApiKey: app.developerApiKey, numberOfApiCallRetries: 0 }) : undefined;
  const settingsApi = client?.webhooks.settingsApi;
  const subscriptionsApi = client?.webhooks.subscriptionsApi;

  return {
    async subscribe(request: WebhookSubscribeRequest): Promise<WebhookSubscribeResult> {
      const wanted = wantedEvents(request.objects, options.mappingOf);
      if (!app || !settingsApi || !subscriptionsApi) return { kind: 'manual', instructions: manualInstructions(request.callbackUrl, wanted, 'no app id and developer API key are configured for this connection') };

      const current = await settingsApi.getAll(app.appId).catch((error: unknown) => {
        if (statusOf(error) === 404) return undefined;
        throw error;
      });
      if (current && current.targetUrl !== request.callbackUrl) {
        return { kind: 'manual', instructions: manualInstructions(request.callbackUrl, wanted, `app ${app.appId} already delivers to ${current.targetUrl}, which crm-sync leaves alone: HubSpot keeps one target URL per app`) };
      }
      if (!current) await settingsApi.configure(app.appId, { targetUrl: request.callbackUrl, throttling: { maxConcurrentRequests: MAX_CONCURRENT_REQUESTS } });

      const existing = (await subscriptionsApi.getAll(app.appId)).results;
      const subscriptions: WebhookSubscription[] = [];
      for (const event of wanted) {
        let found: SubscriptionResponse | undefined = existing.find((subscription) => sameEvent(subscription, event));
        if (found && !found.active) found = await subscriptionsApi.update(Number(found.id), app.appId, { active: true });
        found ??= await subscriptionsApi.create(app.appId, {
          eventType: event.eventType as SubscriptionCreateRequestEventTypeEnum,
          ...(event.propertyName !== undefined ? { propertyName: event.propertyName } : {}),
          ...(event.objectTypeId !== undefined ? { objectTypeId: event.objectTypeId } : {}),
          active: true,
        });
        subscriptions.push({ kind: HUBSPOT_APP_SUBSCRIPTION, id: String(found.id), objectType: event.objectType, expiresAt: null });
      }
      const secret = app.clientSecret ?? options.clientSecret;
      return { kind: 'registered', subscriptions, webhookCredentials: secret !== undefined ? { secret } : {} };
    },

    async unsubscribe(): Promise<void> {
      // Nothing to remove: the app's subscriptions serve every portal that installed it, and other
      // connections of this app; a disabled connection's deliveries stop at the shim instead.
    },
  };
}

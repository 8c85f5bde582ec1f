import type { ObjectType } from '../model/identifiers';

/**
 * The contract between the product's connection lifecycle (connect, renew, disable) and each
 * vendor's own webhook-subscription API. A connector that can subscribe for itself exposes a
 * `WebhookSubscriber` (`CrmConnector.webhookSubscriptions`); one whose vendor only takes
 * subscriptions at app level answers `manual` with the exact steps to print.
 */
export interface WebhookSubscriber {
  /**
   * Creates what the vendor needs so that changes to `objects` are pushed to `callbackUrl`.
   * Idempotent for one connection: subscriptions the vendor already holds for this callback are
   * reused, not doubled.
   */
  subscribe(request: WebhookSubscribeRequest): Promise<WebhookSubscribeResult>;
  /** Removes them. A subscription the vendor no longer has counts as removed. */
  unsubscribe(subscriptions: readonly WebhookSubscription[]): Promise<void>;
  /** Extends one that lapses (Zoho's channel_expiry); absent where subscriptions do not lapse. */
  renew?(subscription: WebhookSubscription, request: WebhookSubscribeRequest): Promise<WebhookSubscription>;
  /**
   * Where the vendor delivers when it keeps one target for many connections (HubSpot: one target
   * URL per app [H84]): the shim's path for all of them, e.g. `/webhooks/hubspot/app/<appId>`.
   * Absent: each connection has its own route, `/webhooks/<provider>/<connection>`. Subscriptions
   * under a shared path may be held by several connections; the lifecycle removes one at the
   * vendor only with the last connection holding it.
   */
  readonly sharedCallbackPath?: string | undefined;
}

export interface WebhookSubscribeRequest {
  /**
   * The shim's route for this connection: `<SHIM_PUBLIC_URL>/webhooks/<provider>/<connection>`, or
   * `<SHIM_PUBLIC_URL><sharedCallbackPath>` when the subscriber has one.
   */
  callbackUrl: string;
  objects: readonly ObjectType[];
  /**
   * Secret material crm-sync generated for the vendor to present on each delivery (Basic-auth
   * password, channel token, header value). Stored sealed with the connection's credentials under
   * `webhook`, never in the subscription record.
   */
  deliverySecret: string;
}

export type WebhookSubscribeResult =
  | {
      kind: 'registered';
      subscriptions: WebhookSubscription[];
      /** Fields to merge into the connection's sealed `credentials.webhook` (what the shim verifies). */
      webhookCredentials: Record<string, string>;
      /**
       * Under a shared callback path: the key the shim dispatches a delivery to this connection
       * by (HubSpot: `<appId>:<portalId>` from each event). Absent for a per-connection route.
       */
      dispatchKey?: string | undefined;
      /**
       * What was set up, for the consent page and the CLI, where "delivering to the callback URL"
       * would be wrong (Salesforce CDC: crm-sync reads the org's change events itself).
       */
      summary?: string | undefined;
    }
  /** The vendor subscribes at app level only: what an administrator must set, line by line. */
  | { kind: 'manual'; instructions: string[] };

/** One subscription as the vendor knows it; holds no secret. */
export interface WebhookSubscription {
  /** The vendor's name for the thing: `pipedrive-webhook`, `zoho-channel`, `dataverse-step`, ... */
  kind: string;
  /** The vendor's id for it. */
  id: string;
  objectType: ObjectType | null;
  /** When the vendor ends it unless renewed (ISO); null when it does not lapse. */
  expiresAt: string | null;
  /** Vendor ids this subscription depends on (a Dataverse step's service endpoint), removed with it. */
  relatedIds?: string[] | undefined;
}

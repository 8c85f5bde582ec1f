import { WebhookRegistration } from '../lifecycle/webhook-registration';
import type { ActivityDependencies } from '.';

/**
 * What the connection workflow's renewal timer calls (src/workflows/connection-sync/webhook-renewal.ts):
 * when the connection's subscriptions lapse, and renewing those about to. Only instants go into
 * history. A worker without `webhookSubscriptions` has none to renew.
 */
export function createWebhookRenewalActivities(dependencies: ActivityDependencies) {
  const subscriptions = dependencies.webhookSubscriptions;
  const registration = subscriptions && new WebhookRegistration({ connections: dependencies.connections, subscriptions, registry: dependencies.connectors, publicUrl: undefined });
  return {
    /** The earliest moment one of the connection's subscriptions lapses (ISO), or null. */
    async webhookExpiry({ connectionId }: { connectionId: string }): Promise<{ earliestExpiry: string | null }> {
      return { earliestExpiry: (await subscriptions?.earliestExpiry(connectionId)) ?? null };
    },
    /** Renews every subscription lapsing before `renewBefore`; idempotent (a retry renews again, later). */
    async renewWebhookSubscriptions({ connectionId, renewBefore }: { connectionId: string; renewBefore: string }): Promise<{ renewed: number; earliestExpiry: string | null }> {
      if (!registration) return { renewed: 0, earliestExpiry: null };
      return registration.renewLapsing(connectionId, new Date(renewBefore));
    },
  };
}

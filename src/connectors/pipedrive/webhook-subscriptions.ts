import type { ObjectType } from '../../model/identifiers';
import { ConnectorError } from '../errors';
import type { WebhookSubscribeRequest, WebhookSubscriber, WebhookSubscription } from '../webhook-subscriptions';
import type { PipedriveHttp } from './http';
import { PIPEDRIVE_OBJECTS } from './spec';

/** A webhook as `GET /v1/webhooks` lists it (the password is never echoed) [P4][P40]. */
interface PipedriveWebhook {
  id: number;
  subscription_url: string;
  event_action: string;
  event_object: string;
  version?: string;
  http_auth_user?: string | null;
}

const KIND = 'pipedrive-webhook';
/** The Basic-auth user crm-sync's webhooks present; the password is the connection's delivery secret. */
const AUTH_USER = 'crm-sync';

/** The `event_object` of each object type is its singular: person, organization, deal, activity [P40]. */
function eventObject(objectType: ObjectType): string {
  return PIPEDRIVE_OBJECTS[objectType].singular;
}

/**
 * Webhooks v2 through `POST/GET/DELETE /v1/webhooks` (the webhooks API has no v2 path) [P4][P40]:
 * one `*` action webhook per synced object to the shim's route, Basic auth with the generated
 * delivery secret (Pipedrive signs nothing; the shim checks these credentials). A webhook already
 * there for the same URL and object is kept, so subscribing twice does not double deliveries.
 */
export function pipedriveWebhookSubscriber(http: PipedriveHttp): WebhookSubscriber {
  const list = async (): Promise<PipedriveWebhook[]> => (await http.json<PipedriveWebhook[] | null>({ method: 'GET', path: '/v1/webhooks', kind: 'list' })).data ?? [];
  return {
    async subscribe(request: WebhookSubscribeRequest) {
      const existing = await list();
      const subscriptions: WebhookSubscription[] = [];
      for (const objectType of request.objects) {
        const object = eventObject(objectType);
        const held = existing.find((hook) => hook.subscription_url === request.callbackUrl && hook.event_object === object && hook.event_action === '*' && hook.http_auth_user === AUTH_USER);
        const id = held
          ? held.id
          : (
              await http.json<PipedriveWebhook>({
                method: 'POST',
                path: '/v1/webhooks',
                kind: 'update',
                body: { subscription_url: request.callbackUrl, event_action: '*', event_object: object, version: '2.0', http_auth_user: AUTH_USER, http_auth_password: request.deliverySecret },
              })
            ).data.id;
        subscriptions.push({ kind: KIND, id: String(id), objectType, expiresAt: null });
      }
      return { kind: 'registered', subscriptions, webhookCredentials: { user: AUTH_USER, password: request.deliverySecret } };
    },
    async unsubscribe(subscriptions) {
      for (const subscription of subscriptions) {
        if (subscription.kind !== KIND) continue;
        try {
          await http.send({ method: 'DELETE', path: `/v1/webhooks/${encodeURIComponent(subscription.id)}`, kind: 'delete' });
        } catch (error) {
          // Already gone (deleted in Pipedrive's UI, or by Pipedrive after three days of failures [P4]).
          if (!(error instanceof ConnectorError && error.status === 404)) throw error;
        }
      }
    },
  };
}

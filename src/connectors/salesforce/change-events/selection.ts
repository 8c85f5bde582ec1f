import type { ObjectType } from '../../../model/identifiers';
import { ConnectorError } from '../../errors';
import type { WebhookSubscribeRequest, WebhookSubscribeResult, WebhookSubscriber, WebhookSubscription } from '../../webhook-subscriptions';
import type { SalesforceSession } from '../session';

/** The standard channel: the Setup page "Change Data Capture" is its selection [S96]. */
const CHANNEL = 'ChangeEvents';
const MEMBERS = '/tooling/sobjects/PlatformEventChannelMember';
/** A member crm-sync selected (removed again on disable). */
export const CDC_MEMBER = 'salesforce-cdc-member';
/** A member the org already had (an admin's Setup selection, another integration): used, never removed. */
export const CDC_ORG_SELECTION = 'salesforce-cdc-selection';
/**
 * Members crm-sync creates carry this developer name prefix, so a later subscribe (or another
 * process) tells them from the org's own without any state of its own [S97].
 */
const OWN_PREFIX = `${CHANNEL}_CrmSync_`;

/** The sObjects whose change events carry each object type (change-events/notices.ts reads the same). */
const ENTITIES: Readonly<Record<ObjectType, readonly string[]>> = { contact: ['Contact'], company: ['Account'], deal: ['Opportunity'], activity: ['Task', 'Event'] };

interface ChannelMember {
  Id: string;
  DeveloperName: string;
  EventChannel: string;
  SelectedEntity: string;
}

/** Setup lines for a connection that hears Salesforce through Outbound Messages (docs/operations.md). */
export function outboundMessageInstructions(callbackUrl: string): string[] {
  return [
    `In Setup, create an Outbound Message per synced object (Contact, Account, Opportunity, Task) to ${callbackUrl}, fields Id and LastModifiedDate, "Send Session ID" off, sent by a record-triggered flow on create and update.`,
    "Store the org id (Setup > Company Information) in the connection's credentials as webhook.organizationId.",
    "Or choose Change Data Capture instead (settings sync.changeEvents 'cdc' with settings.pubSub): crm-sync then selects the objects itself.",
  ];
}

/**
 * Change Data Capture's selection as the connection's push channel [S96]-[S99]: the synced
 * objects' change events selected on the standard ChangeEvents channel through the Tooling API
 * (PlatformEventChannelMember), read over the Pub/Sub API with the connection's own session (no
 * delivery secret: `webhookCredentials` stay empty). An entity the org already selected is used as
 * it is and never removed: an org has one selection, which an admin or another integration may
 * rely on. What crm-sync selected itself it removes on disable, even if another subscriber has
 * come to rely on it since (docs/architecture.md, "Webhook subscriptions").
 */
export function changeDataCaptureSubscriber(session: SalesforceSession): WebhookSubscriber {
  const members = async (): Promise<ChannelMember[]> => {
    const soql = `SELECT Id, DeveloperName, EventChannel, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = '${CHANNEL}'`;
    const answer = await session.call((conn) => conn.request<{ records: ChannelMember[] }>({ method: 'GET', url: `/tooling/query?q=${encodeURIComponent(soql)}` }));
    return answer.records;
  };
  return {
    async subscribe(request: WebhookSubscribeRequest): Promise<WebhookSubscribeResult> {
      const selected = await members();
      const subscriptions: WebhookSubscription[] = [];
      for (const objectType of request.objects) {
        for (const entity of ENTITIES[objectType]) {
          const selectedEntity = `${entity}ChangeEvent`;
          const held = selected.find((member) => member.SelectedEntity === selectedEntity);
          if (held) {
            subscriptions.push({ kind: held.DeveloperName.startsWith(OWN_PREFIX) ? CDC_MEMBER : CDC_ORG_SELECTION, id: held.Id, objectType, expiresAt: null });
            continue;
          }
          const created = await session.call((conn) =>
            conn.request<{ id: string }>({ method: 'POST', url: MEMBERS, body: JSON.stringify({ FullName: `${OWN_PREFIX}${selectedEntity}`, Metadata: { eventChannel: CHANNEL, selectedEntity } }), headers: { 'content-type': 'application/json' } }),
          );
          subscriptions.push({ kind: CDC_MEMBER, id: created.id, objectType, expiresAt: null });
        }
      }
      const entities = [...new Set(request.objects.flatMap((objectType) => ENTITIES[objectType]))];
      const own = subscriptions.filter((subscription) => subscription.kind === CDC_MEMBER).length;
      const summary = `Change Data Capture selected for ${entities.join(', ')} (by crm-sync: ${own}; already selected in the org: ${subscriptions.length - own}); crm-sync reads their change events over the Pub/Sub API.`;
      return { kind: 'registered', subscriptions, webhookCredentials: {}, summary };
    },
    async unsubscribe(subscriptions) {
      for (const subscription of subscriptions) {
        if (subscription.kind !== CDC_MEMBER) continue;
        try {
          await session.call((conn) => conn.request({ method: 'DELETE', url: `${MEMBERS}/${encodeURIComponent(subscription.id)}` }));
        } catch (error) {
          // Deselected in Setup meanwhile: already what disabling wants.
          if (!(error instanceof ConnectorError && (error.status === 404 || error.errorClass === 'not-found'))) throw error;
        }
      }
    },
  };
}

/** Without CDC chosen, Salesforce pushes through Outbound Messages an admin sets up in Setup. */
export const outboundMessageSubscriber: WebhookSubscriber = {
  subscribe: (request) => Promise.resolve({ kind: 'manual', instructions: outboundMessageInstructions(request.callbackUrl) }),
  unsubscribe: () => Promise.resolve(),
};

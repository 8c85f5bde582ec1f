import type { ObjectType } from '../../model/identifiers';
import { ConnectorError } from '../errors';
import type { WebhookSubscribeRequest, WebhookSubscribeResult, WebhookSubscriber, WebhookSubscription } from '../webhook-subscriptions';
import { ACTIVITY_TABLES } from './activity-tables';
import type { DataverseHttp } from './http';
import type { DynamicsSpec } from './spec';

/**
 * Dataverse webhooks through the Web API, as the Plugin Registration Tool makes them [D74]-[D77]:
 * one service endpoint (contract Webhook, `WebhookKey` auth: the key travels as `?code=`, which
 * src/webhooks/verify-dynamics.ts checks) and one asynchronous PostOperation step per message
 * and table, with a pre-image on a connection's Delete (the shim reads the deal a removed
 * stakeholder belonged to from it [D56]).
 */

const MESSAGES = ['Create', 'Update', 'Delete'] as const;
type Message = (typeof MESSAGES)[number];

/** serviceendpoint `contract` Webhook and `authtype` WebhookKey [D74]. */
const CONTRACT_WEBHOOK = 8;
const AUTH_WEBHOOK_KEY = 4;
/** Step `mode` asynchronous, `stage` PostOperation [D76]. */
const MODE_ASYNCHRONOUS = 1;
const STAGE_POST_OPERATION = 40;
/** Image `imagetype` PreImage [D77]; the alias the shim's parser reads. */
const IMAGE_PRE = 0;
const PRE_IMAGE_ALIAS = 'PreImage';

export const DATAVERSE_STEP = 'dataverse-step';

/** The tables behind each object type: a deal's stakeholders are connection rows; an activity is any activity table. */
export function tablesFor(spec: DynamicsSpec, objectType: ObjectType): string[] {
  if (objectType === 'activity') return ACTIVITY_TABLES.map((table) => table.logicalName);
  if (objectType === 'deal') return [spec.objects.deal.logicalName, 'connection'];
  return [spec.objects[objectType].logicalName];
}

/** Tables whose Delete steps carry a pre-image, and the columns it holds. */
const PRE_IMAGES: Readonly<Record<string, string>> = { connection: 'record1id' };

interface Wanted {
  objectType: ObjectType;
  table: string;
  message: Message;
}

interface StepRow {
  sdkmessageprocessingstepid: string;
  _sdkmessagefilterid_value: string | null;
}

const odataString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** The id at the end of an `OData-EntityId` header: `.../serviceendpoints(<guid>)`. */
function createdId(headers: Record<string, string>): string {
  const id = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(headers['odata-entityid'] ?? '')?.[1];
  if (!id) throw new ConnectorError({ provider: 'dynamics', errorClass: 'transient', message: 'the Web API created a row but named no OData-EntityId' });
  return id.toLowerCase();
}

function isGone(error: unknown): boolean {
  return error instanceof ConnectorError && (error.status === 404 || error.errorClass === 'not-found');
}

export function createDataverseSubscriber(http: DataverseHttp, spec: DynamicsSpec): WebhookSubscriber {
  const list = async <T>(query: string): Promise<T[]> => {
    const rows: T[] = [];
    let url: string | undefined = query;
    while (url) {
      const page: { value: T[]; '@odata.nextLink'?: string } = await http.json({ method: 'GET', url });
      rows.push(...page.value);
      url = page['@odata.nextLink'];
    }
    return rows;
  };
  const create = async (set: string, body: Record<string, unknown>): Promise<string> => createdId((await http.send({ method: 'POST', url: set, body: JSON.stringify(body) })).headers);
  const remove = async (set: string, id: string): Promise<void> => {
    try {
      await http.send({ method: 'DELETE', url: `${set}(${id})` });
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  };

  /** The endpoint for this URL, reused (its key set to the current secret) or created. */
  const endpointFor = async (request: WebhookSubscribeRequest): Promise<string> => {
    const existing = await list<{ serviceendpointid: string }>(`serviceendpoints?$select=serviceendpointid&$filter=${encodeURIComponent(`contract eq ${CONTRACT_WEBHOOK} and url eq ${odataString(request.callbackUrl)}`)}`);
    const auth = { authtype: AUTH_WEBHOOK_KEY, authvalue: request.deliverySecret };
    const found = existing[0]?.serviceendpointid;
    if (found) {
      await http.send({ method: 'PATCH', url: `serviceendpoints(${found})`, headers: { 'if-match': '*' }, body: JSON.stringify(auth) });
      return found;
    }
    return create('serviceendpoints', { name: `crm-sync ${request.callbackUrl}`.slice(0, 256), description: 'Registered by crm-sync; removed when the connection is disabled.', contract: CONTRACT_WEBHOOK, url: request.callbackUrl, ...auth });
  };

  /** Message ids by name, and filter ids by `<message id>/<table>`. */
  const catalog = async (tables: readonly string[]): Promise<{ messages: Map<string, string>; filters: Map<string, string> }> => {
    const messageRows = await list<{ sdkmessageid: string; name: string }>(`sdkmessages?$select=sdkmessageid,name&$filter=${encodeURIComponent(MESSAGES.map((name) => `name eq '${name}'`).join(' or '))}`);
    const messages = new Map(messageRows.map((row) => [row.name, row.sdkmessageid]));
    const tableFilter = tables.map((table) => `primaryobjecttypecode eq ${odataString(table)}`).join(' or ');
    const messageFilter = [...messages.values()].map((id) => `_sdkmessageid_value eq ${id}`).join(' or ');
    const filterRows = await list<{ sdkmessagefilterid: string; primaryobjecttypecode: string; _sdkmessageid_value: string }>(
      `sdkmessagefilters?$select=sdkmessagefilterid,primaryobjecttypecode,_sdkmessageid_value&$filter=${encodeURIComponent(`(${tableFilter}) and (${messageFilter})`)}`,
    );
    const filters = new Map(filterRows.map((row) => [`${row._sdkmessageid_value}/${row.primaryobjecttypecode}`, row.sdkmessagefilterid]));
    return { messages, filters };
  };

  const ensurePreImage = async (stepId: string, attributes: string): Promise<void> => {
    const images = await list<{ sdkmessageprocessingstepimageid: string }>(`sdkmessageprocessingstepimages?$select=sdkmessageprocessingstepimageid&$filter=${encodeURIComponent(`_sdkmessageprocessingstepid_value eq ${stepId} and entityalias eq '${PRE_IMAGE_ALIAS}'`)}`);
    if (images.length > 0) return;
    await create('sdkmessageprocessingstepimages', {
      name: PRE_IMAGE_ALIAS,
      entityalias: PRE_IMAGE_ALIAS,
      imagetype: IMAGE_PRE,
      messagepropertyname: 'Target',
      attributes,
      'sdkmessageprocessingstepid@odata.bind': `/sdkmessageprocessingsteps(${stepId})`,
    });
  };

  return {
    async subscribe(request: WebhookSubscribeRequest): Promise<WebhookSubscribeResult> {
      const wanted: Wanted[] = request.objects.flatMap((objectType) => tablesFor(spec, objectType).flatMap((table) => MESSAGES.map((message) => ({ objectType, table, message }))));
      const { messages, filters } = await catalog([...new Set(wanted.map((entry) => entry.table))]);
      const endpointId = await endpointFor(request);
      const existing = await list<StepRow>(`sdkmessageprocessingsteps?$select=sdkmessageprocessingstepid,_sdkmessagefilterid_value&$filter=${encodeURIComponent(`_eventhandler_value eq ${endpointId}`)}`);
      const byFilter = new Map(existing.map((step) => [step._sdkmessagefilterid_value, step.sdkmessageprocessingstepid]));
      const subscriptions: WebhookSubscription[] = [];
      for (const entry of wanted) {
        const messageId = messages.get(entry.message);
        const filterId = messageId ? filters.get(`${messageId}/${entry.table}`) : undefined;
        if (!messageId || !filterId) {
          throw new ConnectorError({ provider: 'dynamics', errorClass: 'validation', message: `this environment has no ${entry.message} message for table ${entry.table}: no step can be registered` });
        }
        let stepId = byFilter.get(filterId);
        if (!stepId) {
          stepId = await create('sdkmessageprocessingsteps', {
            name: `crm-sync: ${entry.message} of ${entry.table}`,
            description: request.callbackUrl.slice(0, 256),
            mode: MODE_ASYNCHRONOUS,
            stage: STAGE_POST_OPERATION,
            rank: 1,
            supporteddeployment: 0,
            // The system job of each delivery is removed once it succeeds, as the tool's default for webhooks.
            asyncautodelete: true,
            'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
            'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filterId})`,
            'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
          });
          byFilter.set(filterId, stepId);
        }
        const image = PRE_IMAGES[entry.table];
        if (entry.message === 'Delete' && image) await ensurePreImage(stepId, image);
        subscriptions.push({ kind: DATAVERSE_STEP, id: stepId, objectType: entry.objectType, expiresAt: null, relatedIds: [endpointId] });
      }
      return { kind: 'registered', subscriptions, webhookCredentials: { key: request.deliverySecret } };
    },

    async unsubscribe(subscriptions: readonly WebhookSubscription[]): Promise<void> {
      const endpoints = new Set<string>();
      for (const subscription of subscriptions) {
        if (subscription.kind !== DATAVERSE_STEP) continue;
        await remove('sdkmessageprocessingsteps', subscription.id);
        for (const id of subscription.relatedIds ?? []) endpoints.add(id);
      }
      for (const endpointId of endpoints) {
        // Every step on this endpoint posts to this connection's URL: a step added since (by hand or
        // by an older subscribe) would keep the endpoint alive, so it goes too.
        const remaining = await list<StepRow>(`sdkmessageprocessingsteps?$select=sdkmessageprocessingstepid,_sdkmessagefilterid_value&$filter=${encodeURIComponent(`_eventhandler_value eq ${endpointId}`)}`);
        for (const step of remaining) await remove('sdkmessageprocessingsteps', step.sdkmessageprocessingstepid);
        await remove('serviceendpoints', endpointId);
      }
    },
  };
}

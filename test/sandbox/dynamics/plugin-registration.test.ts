import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../../connectors/webhook-receiver';
import { json, startClient, type Client, type Json } from './support';

/**
 * Webhook registration through the Web API [D74]-[D77]: the tables the Plugin Registration Tool
 * writes, their checks, and deliveries made only through registered steps.
 */
describe('Dynamics sandbox: webhook registration tables', () => {
  let client: Client | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await client?.sandbox.stop();
    await receiver?.close();
  });

  const created = (response: Response): string => /\(([0-9a-f-]{36})\)$/.exec(response.headers.get('odata-entityid') ?? '')?.[1] ?? '';
  async function post(api: Client, set: string, body: Json): Promise<Response> {
    return api.api(set, { method: 'POST', body: JSON.stringify(body) });
  }
  async function catalog(api: Client, message: string, table: string): Promise<{ messageId: string; filterId: string }> {
    const messages = (await json(await api.api(`sdkmessages?$select=sdkmessageid,name&$filter=name eq '${message}'`))).value as Json[];
    const messageId = String(messages[0]?.sdkmessageid);
    const filters = (await json(await api.api(`sdkmessagefilters?$select=sdkmessagefilterid&$filter=${encodeURIComponent(`primaryobjecttypecode eq '${table}' and _sdkmessageid_value eq ${messageId}`)}`))).value as Json[];
    expect(filters).toHaveLength(1);
    return { messageId, filterId: String(filters[0]?.sdkmessagefilterid) };
  }
  const step = (messageId: string, filterId: string, endpointId: string, extra: Json = {}): Json => ({
    name: 'step',
    mode: 1,
    stage: 40,
    'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
    'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filterId})`,
    'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
    ...extra,
  });

  it('refuses registrations the platform refuses and an endpoint that steps still use; a deleted step takes its images along', async () => {
    client = await startClient();
    const badAuth = await post(client, 'serviceendpoints', { name: 'x', contract: 8, url: 'https://example.test/hook', authtype: 2, authvalue: 'k' });
    expect(badAuth.status).toBe(400);
    expect(((await json(badAuth)).error as Json).code).toBe('0x80040203');
    expect((await post(client, 'serviceendpoints', { name: 'x', contract: 8, authtype: 4, authvalue: 'k' })).status).toBe(400);
    expect((await post(client, 'serviceendpoints', { name: 'x', contract: 8, url: 'https://example.test/hook', authtype: 5, authvalue: 'not settings' })).status).toBe(400);
    const endpoint = await post(client, 'serviceendpoints', { name: 'x', contract: 8, url: 'https://example.test/hook', authtype: 4, authvalue: 'k' });
    expect(endpoint.status).toBe(204);
    const endpointId = created(endpoint);
    expect((await json(await client.api(`serviceendpoints?$select=url,authtype&$filter=contract eq 8`))).value).toEqual([expect.objectContaining({ serviceendpointid: endpointId, url: 'https://example.test/hook', authtype: 4 })]);
    // The secret is written, never read back.
    expect(await json(await client.api(`serviceendpoints(${endpointId})`))).toMatchObject({ authvalue: null, isauthvalueset: true, connectionmode: 1, messageformat: 2 });

    const create = await catalog(client, 'Create', 'contact');
    const remove = await catalog(client, 'Delete', 'contact');
    expect((await post(client, 'sdkmessageprocessingsteps', step(create.messageId, create.filterId, endpointId, { stage: 20 }))).status).toBe(400);
    expect((await post(client, 'sdkmessageprocessingsteps', step(create.messageId, remove.filterId, endpointId))).status).toBe(400);
    const deleteStep = created(await post(client, 'sdkmessageprocessingsteps', step(remove.messageId, remove.filterId, endpointId)));
    const image = { name: 'PreImage', entityalias: 'PreImage', messagepropertyname: 'Target', 'sdkmessageprocessingstepid@odata.bind': `/sdkmessageprocessingsteps(${deleteStep})` };
    expect((await post(client, 'sdkmessageprocessingstepimages', { ...image, imagetype: 1 })).status).toBe(400);
    expect((await post(client, 'sdkmessageprocessingstepimages', { ...image, imagetype: 0 })).status).toBe(204);

    const blocked = await client.api(`serviceendpoints(${endpointId})`, { method: 'DELETE' });
    expect(blocked.status).toBe(400);
    expect(((await json(blocked)).error as Json).code).toBe('0x8004f01f');
    expect((await client.api(`sdkmessageprocessingsteps(${deleteStep})`, { method: 'DELETE' })).status).toBe(204);
    expect((await json(await client.api('sdkmessageprocessingstepimages'))).value).toEqual([]);
    expect((await client.api(`serviceendpoints(${endpointId})`, { method: 'DELETE' })).status).toBe(204);
    expect((await client.api(`serviceendpoints(${endpointId})`, { method: 'DELETE' })).status).toBe(404);
  });

  it('delivers through a registered HttpHeader endpoint, honouring an Update step filtering attributes and the image columns', async () => {
    receiver = await startWebhookReceiver();
    client = await startClient();
    const authvalue = '<settings><setting name="x-crm-sync-key" value="s3cret" /></settings>';
    const endpointId = created(await post(client, 'serviceendpoints', { name: 'h', contract: 8, url: `${receiver.url}/hook`, authtype: 5, authvalue }));
    const update = await catalog(client, 'Update', 'contact');
    const remove = await catalog(client, 'Delete', 'contact');
    created(await post(client, 'sdkmessageprocessingsteps', step(update.messageId, update.filterId, endpointId, { filteringattributes: 'lastname' })));
    const deleteStep = created(await post(client, 'sdkmessageprocessingsteps', step(remove.messageId, remove.filterId, endpointId)));
    await post(client, 'sdkmessageprocessingstepimages', { name: 'Before', entityalias: 'Before', imagetype: 0, messagepropertyname: 'Target', attributes: 'lastname', 'sdkmessageprocessingstepid@odata.bind': `/sdkmessageprocessingsteps(${deleteStep})` });

    const contact = String(client.sandbox.admin.uiCreate('contacts', { firstname: 'Ada', lastname: 'Lovelace' }).contactid);
    client.sandbox.admin.uiUpdate('contacts', contact, { firstname: 'Augusta' });
    client.sandbox.admin.uiUpdate('contacts', contact, { lastname: 'King' });
    client.sandbox.admin.uiDelete('contacts', contact);
    await client.sandbox.webhooks.idle();

    const bodies = receiver.deliveries.map((delivery) => JSON.parse(delivery.rawBody.toString('utf8')) as Json);
    // No Create step; the firstname update is filtered out.
    expect(bodies.map((body) => body.MessageName)).toEqual(['Update', 'Delete']);
    for (const delivery of receiver.deliveries) expect(delivery.headers['x-crm-sync-key']).toBe('s3cret');
    expect(bodies[1]?.OwningExtension).toMatchObject({ Id: deleteStep, LogicalName: 'sdkmessageprocessingstep' });
    const images = bodies[1]?.PreEntityImages as { key: string; value: { Attributes: { key: string }[] } }[];
    expect(images.map((image) => image.key)).toEqual(['Before']);
    expect(images[0]?.value.Attributes.map((attribute) => attribute.key).sort()).toEqual(['contactid', 'lastname']);
  });
});

import { Client } from '@hubspot/api-client';
import { SubscriptionCreateRequestEventTypeEnum } from '@hubspot/api-client/lib/codegen/webhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';

/**
 * @hubspot/api-client's webhooks discovery (v3 settings and subscriptions, developer API key as
 * `hapikey`) as referee of the sandbox's app-level webhook API [H84]-[H88]: every call below is the
 * client's own, its models deserialising the sandbox's answers.
 */
describe('referee: @hubspot/api-client webhooks API against the HubSpot sandbox', () => {
  let hubspot: HubSpotSandbox | undefined;
  afterEach(async () => hubspot?.stop());

  async function start(developerApiKey?: string): Promise<{ client: Client; appId: number }> {
    hubspot = await startHubSpotSandbox({ limits: false });
    return {
      client: new Client({ basePath: hubspot.url, developerApiKey: developerApiKey ?? hubspot.credentials.developerApiKey, numberOfApiCallRetries: 0 }),
      appId: Number(hubspot.credentials.publicAppId),
    };
  }
  const status = async (call: Promise<unknown>): Promise<number | undefined> => call.then(() => undefined, (error: { code?: number }) => error.code);

  it('configures, reads and clears the target URL settings', async () => {
    const { client, appId } = await start();
    const settings = client.webhooks.settingsApi;
    expect(await status(settings.getAll(appId))).toBe(404);
    const configured = await settings.configure(appId, { targetUrl: 'https://hooks.example/hubspot', throttling: { maxConcurrentRequests: 10 } });
    expect(configured).toMatchObject({ targetUrl: 'https://hooks.example/hubspot', throttling: { maxConcurrentRequests: 10 } });
    expect(configured.createdAt).toBeInstanceOf(Date);
    expect(await settings.getAll(appId)).toMatchObject({ targetUrl: 'https://hooks.example/hubspot' });
    expect(await status(settings.configure(appId, { targetUrl: 'http://hooks.example/plain', throttling: { maxConcurrentRequests: 10 } }))).toBe(400);
    await settings.clear(appId);
    expect(await status(settings.getAll(appId))).toBe(404);
  });

  it('creates, lists, reads, pauses, batch-updates and archives subscriptions; refuses malformed ones', async () => {
    const { client, appId } = await start();
    const subscriptions = client.webhooks.subscriptionsApi;
    const email = await subscriptions.create(appId, { eventType: SubscriptionCreateRequestEventTypeEnum.ContactPropertyChange, propertyName: 'email', active: true });
    expect(email).toMatchObject({ eventType: 'contact.propertyChange', propertyName: 'email', active: true });
    expect(typeof email.id).toBe('string');
    const tasks = await subscriptions.create(appId, { eventType: SubscriptionCreateRequestEventTypeEnum.ObjectCreation, objectTypeId: '0-27' });
    expect(tasks).toMatchObject({ eventType: 'object.creation', objectTypeId: '0-27', active: true });
    expect((await subscriptions.getAll(appId)).results.map((subscription) => subscription.id)).toEqual([email.id, tasks.id]);
    expect(await subscriptions.getById(Number(email.id), appId)).toMatchObject({ id: email.id, propertyName: 'email' });
    expect(await subscriptions.update(Number(email.id), appId, { active: false })).toMatchObject({ active: false });
    const batch = await subscriptions.updateBatch(appId, { inputs: [{ id: Number(email.id), active: true }] });
    expect(batch).toMatchObject({ status: 'COMPLETE', results: [expect.objectContaining({ id: email.id, active: true })] });
    await subscriptions.archive(Number(tasks.id), appId);
    expect(await status(subscriptions.getById(Number(tasks.id), appId))).toBe(404);

    expect(await status(subscriptions.create(appId, { eventType: SubscriptionCreateRequestEventTypeEnum.ContactPropertyChange }))).toBe(400);
    expect(await status(subscriptions.create(appId, { eventType: SubscriptionCreateRequestEventTypeEnum.ObjectCreation }))).toBe(400);
    expect(await status(subscriptions.getAll(appId + 1))).toBe(404);
  });

  it('takes the developer API key only: a wrong key is 401', async () => {
    const { client, appId } = await start('wrong-key');
    expect(await status(client.webhooks.subscriptionsApi.getAll(appId))).toBe(401);
  });
});

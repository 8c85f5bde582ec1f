import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookSubscriber, WebhookSubscription } from '../../../src/connectors/webhook-subscriptions';
import { STAKEHOLDER_ROLE_ID } from '../../../src/sandbox/dynamics/index';
import { parseDynamics } from '../../../src/webhooks/parse-dynamics';
import { verifyDynamics } from '../../../src/webhooks/verify-dynamics';
import { DEFAULT_TOLERANCE_MS } from '../../../src/webhooks/verify';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../webhook-receiver';
import { startHarness, type Harness } from './support';

/**
 * The Dynamics connector registers its own webhook through the Web API (service endpoint, steps,
 * a stakeholder Delete pre-image); the sandbox then posts changes only through those steps, and
 * what it posts passes the shim's own verifier and parser.
 */
describe('Dynamics webhook subscriptions', () => {
  let harness: Harness;
  let receiver: WebhookReceiver;
  let subscriber: WebhookSubscriber;
  let callbackUrl: string;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    callbackUrl = `${receiver.url}/webhooks/dynamics/acme/dyn-main`;
    // No admin webhook target: deliveries can only come from registered steps.
    harness = await startHarness();
    subscriber = harness.connector.webhookSubscriptions as WebhookSubscriber;
  });
  afterAll(async () => {
    await harness?.stop();
    await receiver?.close();
  });
  afterEach(async () => {
    for (const endpoint of registrations().endpoints) {
      for (const step of harness.sandbox.admin.listRecords('sdkmessageprocessingsteps').filter((row) => row._eventhandler_value === endpoint.serviceendpointid)) {
        harness.sandbox.admin.uiDelete('sdkmessageprocessingsteps', String(step.sdkmessageprocessingstepid));
      }
      harness.sandbox.admin.uiDelete('serviceendpoints', String(endpoint.serviceendpointid));
    }
    await harness.sandbox.webhooks.idle();
    receiver.deliveries.length = 0;
  });

  const registrations = () => ({
    endpoints: harness.sandbox.admin.listRecords('serviceendpoints'),
    steps: harness.sandbox.admin.listRecords('sdkmessageprocessingsteps'),
    images: harness.sandbox.admin.listRecords('sdkmessageprocessingstepimages'),
  });
  const filterOf = (step: Record<string, unknown>) => harness.sandbox.admin.getRecord('sdkmessagefilters', String(step._sdkmessagefilterid_value));
  const messageOf = (step: Record<string, unknown>) => String(harness.sandbox.admin.getRecord('sdkmessages', String(step._sdkmessageid_value))?.name);
  const stepKeys = () => registrations().steps.map((step) => `${messageOf(step)} ${String(filterOf(step)?.primaryobjecttypecode)}`).sort();
  const verified = (delivery: ReceivedDelivery, secrets: Record<string, string>) =>
    verifyDynamics({ rawBody: delivery.rawBody, headers: delivery.headers, method: delivery.method, uri: delivery.uri, secrets, now: Date.now(), toleranceMs: DEFAULT_TOLERANCE_MS });
  const context = (delivery: ReceivedDelivery) => JSON.parse(delivery.rawBody.toString('utf8')) as Record<string, unknown>;
  const parsed = (delivery: ReceivedDelivery) => parseDynamics(JSON.parse(delivery.rawBody.toString('utf8')), { headers: delivery.headers });

  it('registers one webhook endpoint and an async PostOperation step per message and table, and a change reaches the URL verified and parsed', async () => {
    const result = await subscriber.subscribe({ callbackUrl, objects: ['contact', 'company', 'deal', 'activity'], deliverySecret: 'first-secret' });
    expect(result.kind).toBe('registered');
    if (result.kind !== 'registered') return;
    expect(result.webhookCredentials).toEqual({ key: 'first-secret' });

    const { endpoints, steps, images } = registrations();
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]).toMatchObject({ contract: 8, authtype: 4, url: callbackUrl, isauthvalueset: true });
    const tables = ['account', 'appointment', 'connection', 'contact', 'email', 'opportunity', 'phonecall', 'task'];
    expect(stepKeys()).toEqual(['Create', 'Delete', 'Update'].flatMap((message) => tables.map((table) => `${message} ${table}`)).sort());
    for (const step of steps) expect(step).toMatchObject({ mode: 1, stage: 40, _eventhandler_value: endpoints[0]?.serviceendpointid });
    // The shim reads a removed stakeholder's deal from the Delete pre-image; nothing else needs one.
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ entityalias: 'PreImage', imagetype: 0, messagepropertyname: 'Target', attributes: 'record1id' });
    const imageStep = steps.find((step) => step.sdkmessageprocessingstepid === images[0]?._sdkmessageprocessingstepid_value) as Record<string, unknown>;
    expect(`${messageOf(imageStep)} ${String(filterOf(imageStep)?.primaryobjecttypecode)}`).toBe('Delete connection');
    expect(result.subscriptions.map((subscription) => subscription.id).sort()).toEqual(steps.map((step) => String(step.sdkmessageprocessingstepid)).sort());
    expect(new Set(result.subscriptions.flatMap((subscription) => subscription.relatedIds ?? []))).toEqual(new Set([endpoints[0]?.serviceendpointid]));

    const contact = String(harness.sandbox.admin.uiCreate('contacts', { lastname: 'Hooked' }).contactid);
    const deal = String(harness.sandbox.admin.uiCreate('opportunities', { name: 'Hooked deal' }).opportunityid);
    const link = String(
      harness.sandbox.admin.uiCreate('connections', { 'record1id_opportunity@odata.bind': `/opportunities(${deal})`, 'record2id_contact@odata.bind': `/contacts(${contact})`, 'record2roleid@odata.bind': `/connectionroles(${STAKEHOLDER_ROLE_ID})` }).connectionid,
    );
    harness.sandbox.admin.uiDelete('connections', link);
    await harness.sandbox.webhooks.idle();

    expect(receiver.deliveries.length).toBeGreaterThan(0);
    for (const delivery of receiver.deliveries) {
      expect(delivery.path).toBe(new URL(callbackUrl).pathname);
      expect(() => verified(delivery, result.webhookCredentials)).not.toThrow();
    }
    expect(() => verified(receiver.deliveries[0] as ReceivedDelivery, { key: 'another-secret' })).toThrow();
    const events = receiver.deliveries.flatMap((delivery) => {
      const outcome = parsed(delivery);
      return 'events' in outcome ? outcome.events : [];
    });
    expect(events).toContainEqual(expect.objectContaining({ objectType: 'contact', externalId: contact }));
    // Create and Delete of the stakeholder both name the deal (the Delete through the registered pre-image).
    const dealNotices = receiver.deliveries.filter((delivery) => context(delivery).PrimaryEntityName === 'connection').flatMap((delivery) => {
      const outcome = parsed(delivery);
      return 'events' in outcome ? outcome.events.filter((event) => event.externalId === deal).map(() => String(context(delivery).MessageName)) : [];
    });
    expect(dealNotices.sort()).toEqual(['Create', 'Delete']);
  });

  it('posts only what was subscribed: a table without a step sends nothing', async () => {
    await subscriber.subscribe({ callbackUrl, objects: ['contact'], deliverySecret: 's' });
    expect(stepKeys()).toEqual(['Create contact', 'Delete contact', 'Update contact']);
    harness.sandbox.admin.uiCreate('accounts', { name: 'Not subscribed' });
    const contact = String(harness.sandbox.admin.uiCreate('contacts', { lastname: 'Subscribed' }).contactid);
    await harness.sandbox.webhooks.idle();
    expect(receiver.deliveries.map((delivery) => delivery.headers['x-ms-dynamics-entity-name'])).toEqual(['contact']);
    expect(context(receiver.deliveries[0] as ReceivedDelivery).PrimaryEntityId).toBe(contact);
  });

  it('subscribing twice reuses the endpoint and steps (one delivery per change) and takes the new secret', async () => {
    const first = await subscriber.subscribe({ callbackUrl, objects: ['contact', 'deal'], deliverySecret: 'old' });
    const before = registrations();
    const second = await subscriber.subscribe({ callbackUrl, objects: ['contact', 'deal'], deliverySecret: 'rotated' });
    const after = registrations();
    expect(after.endpoints.map((row) => row.serviceendpointid)).toEqual(before.endpoints.map((row) => row.serviceendpointid));
    expect(after.steps.map((row) => row.sdkmessageprocessingstepid).sort()).toEqual(before.steps.map((row) => row.sdkmessageprocessingstepid).sort());
    expect(after.images).toHaveLength(before.images.length);
    if (first.kind !== 'registered' || second.kind !== 'registered') throw new Error('expected registrations');
    expect(second.subscriptions.map((subscription) => subscription.id).sort()).toEqual(first.subscriptions.map((subscription) => subscription.id).sort());

    harness.sandbox.admin.uiCreate('contacts', { lastname: 'Once' });
    await harness.sandbox.webhooks.idle();
    expect(receiver.deliveries).toHaveLength(1);
    expect(() => verified(receiver.deliveries[0] as ReceivedDelivery, second.webhookCredentials)).not.toThrow();
    expect(() => verified(receiver.deliveries[0] as ReceivedDelivery, { key: 'old' })).toThrow();
  });

  it('unsubscribe leaves no endpoint, step or image behind, and nothing is posted after', async () => {
    const result = await subscriber.subscribe({ callbackUrl, objects: ['contact', 'deal'], deliverySecret: 's' });
    if (result.kind !== 'registered') throw new Error('expected a registration');
    await subscriber.unsubscribe(result.subscriptions);
    expect(registrations()).toEqual({ endpoints: [], steps: [], images: [] });
    harness.sandbox.admin.uiCreate('contacts', { lastname: 'Unheard' });
    await harness.sandbox.webhooks.idle();
    expect(receiver.deliveries).toHaveLength(0);
    // Already gone counts as removed.
    await expect(subscriber.unsubscribe(result.subscriptions)).resolves.toBeUndefined();
  });

  it('a step or the whole webhook deleted out of band: unsubscribe still succeeds, subscribe puts back what is missing', async () => {
    const result = await subscriber.subscribe({ callbackUrl, objects: ['contact'], deliverySecret: 's' });
    if (result.kind !== 'registered') throw new Error('expected a registration');
    const [gone, ...kept] = result.subscriptions as [WebhookSubscription, ...WebhookSubscription[]];
    harness.sandbox.admin.uiDelete('sdkmessageprocessingsteps', gone.id);
    const again = await subscriber.subscribe({ callbackUrl, objects: ['contact'], deliverySecret: 's' });
    if (again.kind !== 'registered') throw new Error('expected a registration');
    expect(stepKeys()).toEqual(['Create contact', 'Delete contact', 'Update contact']);
    expect(again.subscriptions.map((subscription) => subscription.id)).toEqual(expect.arrayContaining(kept.map((subscription) => subscription.id)));

    // An administrator removes everything in the Plugin Registration Tool.
    for (const step of registrations().steps) harness.sandbox.admin.uiDelete('sdkmessageprocessingsteps', String(step.sdkmessageprocessingstepid));
    for (const endpoint of registrations().endpoints) harness.sandbox.admin.uiDelete('serviceendpoints', String(endpoint.serviceendpointid));
    await expect(subscriber.unsubscribe(again.subscriptions)).resolves.toBeUndefined();
    expect(registrations()).toEqual({ endpoints: [], steps: [], images: [] });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEventRead } from '../../../src/connectors/connector';
import type { SalesforceConnector } from '../../../src/connectors/salesforce/index';
import type { WebhookSubscribeRequest, WebhookSubscription } from '../../../src/connectors/webhook-subscriptions';
import { startHarness, stopAll, type Harness } from './sandbox-connector';

/**
 * Change Data Capture as the connection's push channel: subscribing selects the synced objects'
 * change events on the org's ChangeEvents channel (Tooling API, over HTTP), and only what is
 * selected publishes on the Pub/Sub stream.
 */
describe('Salesforce connector: Change Data Capture selection as webhook subscriptions', () => {
  let h: Harness;
  let connector: SalesforceConnector;
  const request: WebhookSubscribeRequest = { callbackUrl: 'https://shim.example/webhooks/salesforce/c-1', objects: ['contact', 'activity'], deliverySecret: 'unused-by-cdc' };
  const selected = () => h.sandbox.admin.changeDataCaptureMembers().map((member) => member.SelectedEntity).sort();
  const events = (read: ChangeEventRead) => {
    if (read.kind !== 'events') throw new Error(`expected events, got ${read.kind}: ${read.message}`);
    return read;
  };

  beforeAll(async () => {
    // A new org: nothing selected for Change Data Capture.
    h = await startHarness({ changeDataCapture: { selected: [] } });
    connector = await h.connect({ pubSub: { endpoint: h.sandbox.credentials.pubSubEndpoint, tls: false }, changeDataCapture: true });
  });
  afterAll(stopAll);

  it('selects exactly the synced objects, twice without doubling; only selected objects publish; unsubscribe leaves nothing', async () => {
    const first = await connector.webhookSubscriptions!.subscribe(request);
    expect(first.kind).toBe('registered');
    if (first.kind !== 'registered') return;
    expect(first.webhookCredentials).toEqual({});
    expect(selected()).toEqual(['ContactChangeEvent', 'EventChangeEvent', 'TaskChangeEvent']);
    expect(first.subscriptions.map(({ kind, objectType }) => [kind, objectType])).toEqual([
      ['salesforce-cdc-member', 'contact'],
      ['salesforce-cdc-member', 'activity'],
      ['salesforce-cdc-member', 'activity'],
    ]);

    const second = await connector.webhookSubscriptions!.subscribe(request);
    expect(selected()).toHaveLength(3);
    expect(second.kind === 'registered' && second.subscriptions).toEqual(first.subscriptions);

    // Account is not selected: its change publishes nothing; the contact's does.
    const start = events(await connector.changeEvents!.read({ from: 'LATEST', maxEvents: 10, waitMs: 500, objects: ['contact', 'company'] }));
    h.sandbox.admin.createAsUser('Account', { Name: 'Unselected Inc' });
    const contact = h.sandbox.admin.createAsUser('Contact', { LastName: 'Selected' });
    const read = events(await connector.changeEvents!.read({ from: { replayId: start.replayId! }, maxEvents: 10, waitMs: 10_000, objects: ['contact', 'company'] }));
    expect(read.received).toBe(1);
    expect(read.notices.map(({ objectType, externalId }) => ({ objectType, externalId }))).toEqual([{ objectType: 'contact', externalId: contact.Id }]);

    await connector.webhookSubscriptions!.unsubscribe(first.subscriptions);
    expect(selected()).toEqual([]);
    // Already gone counts as removed.
    await connector.webhookSubscriptions!.unsubscribe(first.subscriptions);
    // Nothing selected: a contact change publishes nothing either.
    const after = events(await connector.changeEvents!.read({ from: { replayId: read.replayId! }, maxEvents: 10, waitMs: 500, objects: ['contact'] }));
    h.sandbox.admin.createAsUser('Contact', { LastName: 'Deselected' });
    const none = events(await connector.changeEvents!.read({ from: { replayId: after.replayId! }, maxEvents: 10, waitMs: 1_000, objects: ['contact'] }));
    expect(none.received).toBe(0);
  });

  it("uses an entity the org already selected and never removes it: one org, one selection", async () => {
    const response = await fetch(`${h.sandbox.url}/services/data/v62.0/tooling/sobjects/PlatformEventChannelMember`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.sandbox.credentials.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ FullName: 'ChangeEvents_ContactChangeEvent', Metadata: { eventChannel: 'ChangeEvents', selectedEntity: 'ContactChangeEvent' } }),
    });
    expect(response.status).toBe(201);
    const adminsMember = ((await response.json()) as { id: string }).id;
    const result = await connector.webhookSubscriptions!.subscribe({ ...request, objects: ['contact', 'company'] });
    const subscriptions: WebhookSubscription[] = result.kind === 'registered' ? result.subscriptions : [];
    expect(subscriptions.map(({ kind, id, objectType }) => [kind, objectType, kind === 'salesforce-cdc-selection' ? id : '']).sort()).toEqual([
      ['salesforce-cdc-member', 'company', ''],
      ['salesforce-cdc-selection', 'contact', adminsMember],
    ]);
    await connector.webhookSubscriptions!.unsubscribe(subscriptions);
    expect(h.sandbox.admin.changeDataCaptureMembers().map((member) => [member.Id, member.SelectedEntity])).toEqual([[adminsMember, 'ContactChangeEvent']]);
  });

  it('without CDC chosen answers the Outbound Message set-up to do in Setup', async () => {
    const manual = await h.connect({});
    const result = await manual.webhookSubscriptions!.subscribe(request);
    expect(result.kind).toBe('manual');
    expect(result.kind === 'manual' && result.instructions.join('\n')).toContain(`Outbound Message per synced object (Contact, Account, Opportunity, Task) to ${request.callbackUrl}`);
    expect(h.sandbox.admin.changeDataCaptureMembers().map((member) => member.SelectedEntity)).toEqual(['ContactChangeEvent']);
  });
});

import { Signature } from '@hubspot/api-client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../src/sandbox/hubspot';
import { buildShimApp } from '../../src/webhooks/app';
import { hubspotSignatureV3, verifyHubSpot } from '../../src/webhooks/verify-hubspot';
import { startWebhookFixture, type WebhookFixture } from './support';

/** HubSpot signature v3, our implementation against the official SDK's and the sandbox's. */
describe('HubSpot signature v3', () => {
  it('matches the official SDK: Signature.getSignature equals ours and Signature.isValid accepts ours', () => {
    const clientSecret = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
    const url = 'https://hooks.example.com/webhooks/hubspot/acme-hs?x=1';
    const requestBody = JSON.stringify([{ eventId: 1, subscriptionType: 'contact.propertyChange', objectId: 123, propertyValue: 'é ü 中' }]);
    const timestamp = Date.now();
    const ours = hubspotSignatureV3(clientSecret, 'POST', url, Buffer.from(requestBody), String(timestamp)).toString('base64');
    expect(ours).toBe(Signature.getSignature('POST', 'v3', { clientSecret, requestBody, signature: '', url, timestamp }));
    expect(Signature.isValid({ signatureVersion: 'v3', method: 'POST', clientSecret, requestBody, url, timestamp, signature: ours })).toBe(true);

    const delivery = { rawBody: Buffer.from(requestBody), method: 'POST', uri: url, secrets: { secret: clientSecret }, now: Date.now(), toleranceMs: 300_000 };
    const headers = { 'x-hubspot-signature-v3': ours, 'x-hubspot-request-timestamp': String(timestamp) };
    expect(() => verifyHubSpot({ ...delivery, headers })).not.toThrow();
    expect(() => verifyHubSpot({ ...delivery, headers, secrets: { secret: 'other' } })).toThrow(/does not match/);
    expect(() => verifyHubSpot({ ...delivery, headers, uri: `${url}&y=2` })).toThrow(/does not match/);
  });

  describe('deliveries to the shim', () => {
    let f: WebhookFixture;
    let app: FastifyInstance;
    let url: string;
    let sandbox: HubSpotSandbox;
    let hookUrl: string;

    beforeAll(async () => {
      f = await startWebhookFixture();
      app = buildShimApp({ readiness: {}, webhooks: { connections: f.connections, signal: { client: f.client, taskQueue: f.taskQueue } } });
      url = await app.listen({ host: '127.0.0.1', port: 0 });
      hookUrl = `${url}/webhooks/hubspot/${f.ids.hubspot}`;
      // The sandbox's webhook app signs with the client secret stored in the connection's credentials.
      sandbox = await startHubSpotSandbox({ limits: false, publicApp: { clientSecret: f.secrets.hubspot }, webhooks: { url: hookUrl, retryDelaysMs: [] } });
    });
    afterAll(async () => {
      await sandbox?.stop();
      await app?.close();
      await f?.stop();
    });

    const sdkSigned = (body: string, timestamp: number, uri = hookUrl): Record<string, string> => ({
      'content-type': 'application/json',
      'x-hubspot-signature-v3': Signature.getSignature('POST', 'v3', { clientSecret: f.secrets.hubspot, requestBody: body, signature: '', url: uri, timestamp }),
      'x-hubspot-request-timestamp': String(timestamp),
    });
    const post = async (body: string, headers: Record<string, string>) => {
      const response = await fetch(hookUrl, { method: 'POST', headers, body });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };

    it('accepts what the HubSpot sandbox signs (a user creating a contact)', async () => {
      const created = sandbox.admin.createAsUser('contacts', { firstname: 'Grace', lastname: 'Hopper', email: 'grace@navy.example' });
      await sandbox.admin.flushWebhooks();
      await sandbox.webhooks.idle();
      const counters = sandbox.counters.snapshot().webhooks;
      expect(counters).toMatchObject({ delivered: 1, failedAttempts: 0 });
      const [notices] = await f.signals(f.ids.hubspot);
      // creation + one propertyChange per property set, all about the one contact.
      expect(notices!.events.length).toBeGreaterThanOrEqual(2);
      expect(new Set(notices!.events.map((event) => `${event.objectType}:${event.externalId}`))).toEqual(new Set([`contact:${created.id}`]));
      expect(notices!.events.every((event) => typeof event.eventId === 'string' && event.deleted === undefined)).toBe(true);
    });

    it('accepts an SDK-signed delivery; refuses one changed byte and a 6-minute-old timestamp', async () => {
      const body = JSON.stringify([
        { eventId: 9001, subscriptionId: 1, portalId: 1, appId: 2, occurredAt: 1717000000000, subscriptionType: 'contact.deletion', attemptNumber: 0, objectId: 4242, changeSource: 'CRM_UI', sourceId: 'userId:1', changeFlag: 'DELETED' },
        { eventId: 9002, subscriptionId: 2, portalId: 1, appId: 2, occurredAt: 1717000000001, subscriptionType: 'object.propertyChange', objectTypeId: '0-27', attemptNumber: 0, objectId: 77, changeSource: 'CRM_UI', sourceId: 'userId:1', propertyName: 'hs_task_subject', propertyValue: 'Call' },
      ]);
      const before = (await f.signals(f.ids.hubspot)).length;

      const tampered = body.replace('4242', '4243');
      const refusedByte = await post(tampered, sdkSigned(body, Date.now()));
      expect(refusedByte).toMatchObject({ status: 401, json: { code: 'signature_invalid' } });

      const sixMinutesAgo = Date.now() - 6 * 60_000;
      expect(() => Signature.isValid({ signatureVersion: 'v3', clientSecret: f.secrets.hubspot, requestBody: body, url: hookUrl, timestamp: sixMinutesAgo, signature: sdkSigned(body, sixMinutesAgo)['x-hubspot-signature-v3']! })).toThrow(/Timestamp is invalid/);
      const refusedStale = await post(body, sdkSigned(body, sixMinutesAgo));
      expect(refusedStale).toMatchObject({ status: 401, json: { code: 'signature_expired' } });
      expect(await f.signals(f.ids.hubspot)).toHaveLength(before);

      const accepted = await post(body, sdkSigned(body, Date.now()));
      expect(accepted).toEqual({ status: 202, json: { accepted: 2 } });
      const all = await f.signals(f.ids.hubspot);
      expect(all).toHaveLength(before + 1);
      expect(all.at(-1)).toEqual({
        events: [
          { objectType: 'contact', externalId: '4242', eventId: '9001', modifiedAt: '2024-05-29T16:26:40.000Z', deleted: true },
          { objectType: 'activity', externalId: '77', eventId: '9002', modifiedAt: '2024-05-29T16:26:40.001Z' },
        ],
      });
    });

    it('422 for HubSpot event types the sync does not handle, 401 for a missing signature', async () => {
      const before = (await f.signals(f.ids.hubspot)).length;
      const body = JSON.stringify([{ eventId: 9100, subscriptionType: 'contact.merge', objectId: 1, occurredAt: 1 }, { eventId: 9101, subscriptionType: 'object.creation', objectTypeId: '2-999', objectId: 2, occurredAt: 1 }]);
      expect(await post(body, sdkSigned(body, Date.now()))).toMatchObject({ status: 422, json: { code: 'unsupported_event' } });
      expect(await post(body, { 'content-type': 'application/json' })).toMatchObject({ status: 401, json: { code: 'signature_missing' } });
      expect(await f.signals(f.ids.hubspot)).toHaveLength(before);
    });
  });
});

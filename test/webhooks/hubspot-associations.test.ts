import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotConnector } from '../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotWebhookEvent } from '../../src/sandbox/hubspot';
import { buildShimApp } from '../../src/webhooks/app';
import { parseHubSpot } from '../../src/webhooks/parse-hubspot';
import { startWebhookFixture, type WebhookFixture } from './support';

const base = { subscriptionId: 1, portalId: 1, appId: 2, occurredAt: 1717000000000, attemptNumber: 0, changeSource: 'CRM_UI', sourceId: 'userId:1' };
const parse = (events: unknown[]) => parseHubSpot(events, { headers: {} });

describe('HubSpot associationChange webhooks', () => {
  it('notices the record holding the slot: the deal for deal-contact and deal-company, the contact for contact-company, the task for task links; nothing for pairs no slot holds', () => {
    const parsed = parse([
      { ...base, eventId: 1, subscriptionType: 'deal.associationChange', associationType: 'DEAL_TO_CONTACT', fromObjectId: 10, toObjectId: 20, associationRemoved: false, isPrimaryAssociation: false },
      { ...base, eventId: 2, subscriptionType: 'contact.associationChange', associationType: 'CONTACT_TO_DEAL', fromObjectId: 20, toObjectId: 10, associationRemoved: false, isPrimaryAssociation: false },
      { ...base, eventId: 3, subscriptionType: 'company.associationChange', associationType: 'COMPANY_TO_CONTACT', fromObjectId: 30, toObjectId: 21, associationRemoved: true, isPrimaryAssociation: true },
      { ...base, eventId: 4, subscriptionType: 'deal.associationChange', associationType: 'DEAL_TO_COMPANY', fromObjectId: 11, toObjectId: 31, associationRemoved: false, isPrimaryAssociation: true },
      { ...base, eventId: 5, subscriptionType: 'object.associationChange', fromObjectTypeId: '0-27', toObjectTypeId: '0-1', associationType: 'TASK_TO_CONTACT', fromObjectId: 40, toObjectId: 22, associationRemoved: false, isPrimaryAssociation: false },
      { ...base, eventId: 6, subscriptionType: 'contact.associationChange', associationType: 'CONTACT_TO_TICKET', fromObjectId: 23, toObjectId: 50, associationRemoved: false, isPrimaryAssociation: false },
      { ...base, eventId: 7, subscriptionType: 'company.associationChange', associationType: 'COMPANY_TO_COMPANY', fromObjectId: 32, toObjectId: 33, associationRemoved: false, isPrimaryAssociation: false },
    ]);
    // No modifiedAt: an association change leaves the record's modstamp where it was.
    expect(parsed).toEqual({
      events: [
        { objectType: 'deal', externalId: '10', eventId: '1' },
        { objectType: 'deal', externalId: '10', eventId: '2' },
        { objectType: 'contact', externalId: '21', eventId: '3' },
        { objectType: 'deal', externalId: '11', eventId: '4' },
        { objectType: 'activity', externalId: '40', eventId: '5' },
      ],
      unsupported: [],
    });
    expect(() => parse([{ ...base, eventId: 8, subscriptionType: 'deal.associationChange', associationType: 'DEAL_TO_CONTACT', toObjectId: 20 }])).toThrow(/fromObjectId/);
  });

  describe('from the sandbox, signed, through the shim', () => {
    let f: WebhookFixture;
    let app: FastifyInstance;
    let sandbox: HubSpotSandbox;

    beforeAll(async () => {
      f = await startWebhookFixture();
      app = buildShimApp({ readiness: {}, webhooks: { connections: f.connections, signal: { client: f.client, taskQueue: f.taskQueue } } });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      sandbox = await startHubSpotSandbox({ limits: false, publicApp: { clientSecret: f.secrets.hubspot }, webhooks: { url: `${url}/webhooks/hubspot/${f.ids.hubspot}`, retryDelaysMs: [] } });
    });
    afterAll(async () => {
      await sandbox?.stop();
      await app?.close();
      await f?.stop();
    });

    it('a person linking and unlinking a contact on a deal: both sides signed and accepted, each a notice for the deal', async () => {
      const ids = sandbox.admin.seed({ contacts: 1, deals: 1 });
      const [contact, deal] = [ids.contacts[0] as string, ids.deals[0] as string];
      const before = (await f.signalled(f.ids.hubspot)) ? (await f.signals(f.ids.hubspot)).length : 0;
      sandbox.admin.associateAsUser('deals', deal, 'contacts', contact);
      sandbox.admin.dissociateAsUser('deals', deal, 'contacts', contact);
      await sandbox.admin.flushWebhooks();
      await sandbox.webhooks.idle();
      expect(sandbox.counters.snapshot().webhooks).toMatchObject({ failedAttempts: 0 });
      const notices = (await f.signals(f.ids.hubspot)).slice(before).flatMap((signal) => signal.events);
      expect(notices).toHaveLength(4);
      expect(notices.every((notice) => notice.objectType === 'deal' && notice.externalId === deal && notice.modifiedAt === undefined)).toBe(true);
    });
  });

  describe('the sandbox fires them like HubSpot', () => {
    let sandbox: HubSpotSandbox;
    const deliveries: HubSpotWebhookEvent[][] = [];
    let server: http.Server;

    beforeAll(async () => {
      server = http.createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          deliveries.push(JSON.parse(body) as HubSpotWebhookEvent[]);
          response.end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      sandbox = await startHubSpotSandbox({ limits: false, webhooks: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` } });
    });
    afterAll(async () => {
      await sandbox?.stop();
      server.close();
    });

    it('API writes (our app: INTEGRATION + its id) and a person (CRM_UI) both fire contact/company events with the pair, the primary flag and the removal flag; no modstamp moves', async () => {
      const ids = sandbox.admin.seed({ contacts: 1, companies: 2 });
      const [contact, acme, beta] = [ids.contacts[0] as string, ids.companies[0] as string, ids.companies[1] as string];
      const connector = await createHubSpotConnector({ connectionId: `hs-wh-${randomUUID()}`, basePath: sandbox.url, auth: { kind: 'private-app', accessToken: sandbox.credentials.accessToken } });
      const syncId = randomUUID();
      await connector.upsertRecords('contact', [{ syncId, externalId: contact, fields: {}, references: { company: acme } }]);
      await sandbox.admin.flushWebhooks();
      deliveries.length = 0;
      await connector.upsertRecords('contact', [{ syncId, externalId: contact, fields: {}, references: { company: beta } }]);
      // The upsert wrote the sync id (a property): the stamp is taken after it.
      const stamp = sandbox.admin.getRecord('contacts', contact)?.properties.lastmodifieddate;
      sandbox.admin.associateAsUser('contacts', contact, 'companies', acme);
      await sandbox.admin.flushWebhooks();
      const events = deliveries.flat().filter((event) => event.subscriptionType.endsWith('.associationChange'));
      const byApp = { changeSource: 'INTEGRATION', sourceId: sandbox.credentials.privateAppId };
      expect(events).toEqual([
        expect.objectContaining({ subscriptionType: 'contact.associationChange', associationType: 'CONTACT_TO_COMPANY', fromObjectId: Number(contact), toObjectId: Number(acme), associationRemoved: true, isPrimaryAssociation: true, ...byApp }),
        expect.objectContaining({ subscriptionType: 'company.associationChange', associationType: 'COMPANY_TO_CONTACT', fromObjectId: Number(acme), toObjectId: Number(contact), associationRemoved: true, ...byApp }),
        expect.objectContaining({ subscriptionType: 'contact.associationChange', fromObjectId: Number(contact), toObjectId: Number(beta), associationRemoved: false, isPrimaryAssociation: true, ...byApp }),
        expect.objectContaining({ subscriptionType: 'company.associationChange', fromObjectId: Number(beta), toObjectId: Number(contact), associationRemoved: false, ...byApp }),
        expect.objectContaining({ subscriptionType: 'contact.associationChange', fromObjectId: Number(contact), toObjectId: Number(acme), associationRemoved: false, isPrimaryAssociation: false, changeSource: 'CRM_UI' }),
        expect.objectContaining({ subscriptionType: 'company.associationChange', fromObjectId: Number(acme), toObjectId: Number(contact), changeSource: 'CRM_UI' }),
      ]);
      expect(events.every((event) => event.objectId === undefined)).toBe(true);
      // Association changes leave the record's last-modified stamp alone (vendor-facts H53).
      expect(sandbox.admin.getRecord('contacts', contact)?.properties.lastmodifieddate).toBe(stamp);
      // Archiving the contact drops its associations.
      sandbox.admin.archive('contacts', contact);
      expect(sandbox.admin.listAssociations('companies', beta, 'contacts')).toEqual([]);
    });
  });

  it('spells calls, emails and meetings as the connector does (calls:N), tasks as plain numbers, on object events and association events', () => {
    const parsed = parse([
      { ...base, eventId: 11, subscriptionType: 'object.propertyChange', objectTypeId: '0-48', objectId: 70, propertyName: 'hs_call_title', propertyValue: 'x' },
      { ...base, eventId: 12, subscriptionType: 'object.deletion', objectTypeId: '0-47', objectId: 71, changeFlag: 'DELETED' },
      { ...base, eventId: 13, subscriptionType: 'object.creation', objectTypeId: '0-27', objectId: 72, changeFlag: 'NEW' },
      { ...base, eventId: 14, subscriptionType: 'object.associationChange', fromObjectTypeId: '0-49', toObjectTypeId: '0-1', associationType: 'EMAIL_TO_CONTACT', fromObjectId: 73, toObjectId: 22, associationRemoved: false, isPrimaryAssociation: false },
      { ...base, eventId: 15, subscriptionType: 'contact.associationChange', associationType: 'CONTACT_TO_MEETING', fromObjectId: 22, toObjectId: 74, associationRemoved: true, isPrimaryAssociation: false },
    ]);
    expect(parsed.events.map((event) => [event.objectType, event.externalId, event.deleted ?? false])).toEqual([
      ['activity', 'calls:70', false],
      ['activity', 'meetings:71', true],
      ['activity', '72', false],
      ['activity', 'emails:73', false],
      ['activity', 'meetings:74', false],
    ]);
  });
});

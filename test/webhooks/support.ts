import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, inject } from 'vitest';
import { ConnectionsRepository } from '../../src/store/connections-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import type { ChangeNotices } from '../../src/workflows/messages';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/** A tenant with one connection per provider (webhook secrets sealed in their credentials) and a Temporal client. No worker. */
export interface WebhookFixture {
  db: TestDatabase;
  connections: ConnectionsRepository;
  client: Client;
  taskQueue: string;
  tenantId: string;
  ids: { salesforce: string; hubspot: string; dynamics: string };
  /** Salesforce: the org id its Outbound Messages must carry; the others: webhook secrets. */
  secrets: { salesforce: string; hubspot: string; dynamics: string };
  workflowId(connectionId: string): string;
  /** True when a workflow with that id exists (was started by a signal). */
  signalled(connectionId: string): Promise<boolean>;
  /** The change notices every signal to the connection's workflow carried, in order. */
  signals(connectionId: string): Promise<ChangeNotices[]>;
  stop(): Promise<void>;
}

export async function startWebhookFixture(): Promise<WebhookFixture> {
  const db = await createTestDatabase();
  const connections = new ConnectionsRepository(db.pool, new CredentialCipher(new Map([['test', randomBytes(32)]]), 'test'));
  const tenantId = `t-${randomBytes(4).toString('hex')}`;
  await connections.addTenant(tenantId, 'Webhook tenant');
  const ids = { salesforce: `${tenantId}-sf`, hubspot: `${tenantId}-hs`, dynamics: `${tenantId}-dyn` };
  const secrets = { salesforce: salesforceOrgId(), hubspot: randomUUID(), dynamics: randomBytes(24).toString('base64url') };
  await connections.addConnection({ id: ids.salesforce, tenantId, provider: 'salesforce', settings: {}, credentials: { webhook: { organizationId: secrets.salesforce } } });
  await connections.addConnection({ id: ids.hubspot, tenantId, provider: 'hubspot', settings: {}, credentials: { webhook: { secret: secrets.hubspot } } });
  await connections.addConnection({ id: ids.dynamics, tenantId, provider: 'dynamics', settings: {}, credentials: { webhook: { key: secrets.dynamics } } });
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection, namespace: inject('temporalNamespace') });
  const taskQueue = `webhooks-${randomUUID()}`;
  const workflowId = (connectionId: string): string => `sync:${tenantId}:${connectionId}`;
  return {
    db,
    connections,
    client,
    taskQueue,
    tenantId,
    ids,
    secrets,
    workflowId,
    async signalled(connectionId) {
      try {
        await client.workflow.getHandle(workflowId(connectionId)).describe();
        return true;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    },
    async signals(connectionId) {
      const history = await client.workflow.getHandle(workflowId(connectionId)).fetchHistory();
      return (history.events ?? []).flatMap((event) => {
        const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
        return payload ? [JSON.parse(Buffer.from(payload).toString('utf8')) as ChangeNotices] : [];
      });
    },
    async stop() {
      for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
        await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('test finished').catch(() => undefined);
      }
      await connection.close();
      await db.drop();
    },
  };
}

/** A random 18-character org id (key prefix 00D). */
export function salesforceOrgId(): string {
  return `00D5g${randomBytes(10).toString('hex').slice(0, 10).toUpperCase()}AAA`;
}

/** One Notification of an Outbound Message: its id, the sObject type and id, and fields sent. */
export interface NotificationSpec {
  id?: string;
  type?: string;
  recordId?: string;
  fields?: Record<string, string>;
}

const escapeXml = (value: string): string => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A SOAP Outbound Message as Salesforce posts it (the shape of the Outbound Messaging WSDL's
 * sample), written out by hand so the shim is checked against the document, not the sandbox's
 * builder.
 */
export function outboundMessage(organizationId: string, notifications: NotificationSpec[]): { body: string; headers: Record<string, string> } {
  const items = notifications
    .map((notification) => {
      const type = notification.type ?? 'Contact';
      const fields = Object.entries(notification.fields ?? {})
        .map(([name, value]) => `<sf:${name}>${escapeXml(value)}</sf:${name}>`)
        .join('');
      return (
        `<Notification><Id>${notification.id ?? `04l5g${randomBytes(5).toString('hex').toUpperCase()}AAA`}</Id>` +
        `<sObject xsi:type="sf:${type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>${notification.recordId ?? '0035g0000000004AAA'}</sf:Id>${fields}</sObject></Notification>`
      );
    })
    .join('\n    ');
  const body = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${organizationId}</OrganizationId>
   <ActionId>04k5g000000CaRkAAK</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/${organizationId.slice(0, 15)}</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/62.0/${organizationId.slice(0, 15)}</PartnerUrl>
    ${items}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`;
  return { body, headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' } };
}

/** The shim's SOAP acknowledgement, read with a regular expression on purpose: the test must not share the shim's parser. */
export function isAck(text: string): boolean {
  return /<notificationsResponse xmlns="http:\/\/soap\.sforce\.com\/2005\/09\/outbound"><Ack>true<\/Ack><\/notificationsResponse>/.test(text);
}

/** Salesforce, HubSpot and Dynamics sandboxes delivering their webhooks (Salesforce: Outbound Messages) to the real shim, with the worker syncing contacts. */
export interface WebhookDrivenSync {
  h: SyncHarness;
  sf: NonNullable<SyncHarness['salesforce']>;
  hs: NonNullable<SyncHarness['hubspot']>;
  dyn: NonNullable<SyncHarness['dynamics']>;
}

/**
 * Starts a WebhookDrivenSync before the enclosing describe's tests and stops it after them; its
 * fields are set once beforeAll has run. Workflows poll only hourly, so every change in a test
 * travels by webhook.
 */
export function useWebhookDrivenSync(): WebhookDrivenSync {
  const sync: Partial<WebhookDrivenSync> = {};
  beforeAll(async () => {
    const h = await startSyncHarness({ crms: ['salesforce', 'hubspot', 'dynamics'], shim: true, sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    Object.assign(sync, { h, sf: h.salesforce!, hs: h.hubspot!, dyn: h.dynamics! });
  });
  afterAll(async () => {
    await sync.h?.stop();
  });
  return sync as WebhookDrivenSync;
}

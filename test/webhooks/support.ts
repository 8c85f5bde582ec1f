import { createHmac, randomBytes, randomUUID } from 'node:crypto';
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
  const secrets = { salesforce: randomBytes(16).toString('hex'), hubspot: randomUUID(), dynamics: randomBytes(24).toString('base64url') };
  await connections.addConnection({ id: ids.salesforce, tenantId, provider: 'salesforce', settings: {}, credentials: { webhook: { secret: secrets.salesforce } } });
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

/** A Salesforce callout body and its headers, signed with `secret` (or as told). */
export function salesforceDelivery(secret: string, events: unknown[], options: { sentAt?: number; body?: string } = {}): { body: string; headers: Record<string, string> } {
  const sentAt = options.sentAt ?? Date.now();
  const body = options.body ?? JSON.stringify({ organizationId: '00D5g0000000001AAA', deliveryAttempt: 0, sentAt, events });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-sfdc-signature': createHmac('sha256', secret).update(body).digest('base64'),
      'x-sfdc-timestamp': String(sentAt),
    },
  };
}

export function salesforceEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: randomUUID(),
    entityName: 'Contact',
    recordIds: ['0035g0000000004AAA'],
    changeType: 'UPDATE',
    changedFields: ['Email', 'LastModifiedDate', 'LastModifiedById'],
    changeOrigin: '',
    commitTimestamp: 1717000000000,
    commitUser: '0055g0000000001AAA',
    commitNumber: 1,
    transactionKey: randomUUID(),
    sequenceNumber: 1,
    fields: { Email: 'secret-value@example.com' },
    ...overrides,
  };
}

/** Salesforce, HubSpot and Dynamics sandboxes delivering signed webhooks to the real shim, with the worker syncing contacts. */
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

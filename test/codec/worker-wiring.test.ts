import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { buildWorkflowBundle } from '../../src/build-workflow-bundle';
import { codecDataConverter, loadPayloadCodec } from '../../src/codec/data-converter';
import { isEncrypted } from '../../src/codec/encryption-codec';
import { historyBytes } from '../../src/codec/history';
import { loadConfig, type Config } from '../../src/config';
import { createWorker } from '../../src/worker';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * The product's own wiring (src/worker.ts `createWorker`, configured from the environment as
 * `npm run worker` is): a client built with the same configuration sends an encrypted input, the
 * worker opens it and runs the workflow, and the history holds only the sealed bytes.
 */
describe('the worker built from configuration shares the payload codec with clients', () => {
  let config: Config;
  let db: TestDatabase;
  let worker: Worker;
  let running: Promise<void>;
  let connection: Connection;

  beforeAll(async () => {
    config = loadConfig({
      CRM_SYNC_ENCRYPTION_KEYS: `old:${randomBytes(32).toString('base64')},new:${randomBytes(32).toString('base64')}`,
      CRM_SYNC_ACTIVE_KEY_ID: 'new',
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      TEMPORAL_TASK_QUEUE: `codec-${randomUUID()}`,
    });
    config.WORKFLOW_BUNDLE_PATH = await buildWorkflowBundle(path.join(os.tmpdir(), `crm-sync-test-bundle-${randomUUID()}.js`));
    db = await createTestDatabase();
    worker = await createWorker({ config, address: inject('temporalAddress'), pool: db.pool, supervisorSchedule: false });
    running = worker.run();
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    if (config?.WORKFLOW_BUNDLE_PATH) await rm(config.WORKFLOW_BUNDLE_PATH, { force: true });
    await db?.drop();
  });

  it('runs a workflow from an encrypted input (a bad backfill input is refused by name), with only sealed bytes in history', async () => {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: codecDataConverter(await loadPayloadCodec(config)) });
    const marker = `tenant-${randomBytes(6).toString('hex')}`;
    const workflowId = `codec-wiring-${randomUUID()}`;
    const handle = await client.workflow.start('backfill', {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [{ tenantId: marker, connectionId: 'c1', objectType: 'lead', since: 'yesterday' }],
    });
    // Only a worker that decoded the input can judge it: one without the codec fails its workflow
    // task instead, and the workflow never closes.
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(ApplicationFailure);
    expect((failure as WorkflowFailedError).cause?.message).toMatch(/^invalid backfill input: objectType: /);

    const history = await handle.fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    expect(input).toHaveLength(1);
    expect(isEncrypted(input[0]!)).toBe(true);
    expect(Buffer.from(input[0]!.metadata!['encryption-key-id']!).toString()).toBe('new');
    expect(historyBytes(history).includes(marker)).toBe(false);
  });
});

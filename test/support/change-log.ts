import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { expect } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { cliEnvironment, runCli } from '../cli/support';
import type { SyncHarness } from './sync-harness';

/** What the change-log e2e tests (Salesforce CDC, HubSpot's journal) share: recorded histories and the status row. */
const PRODUCT_HISTORIES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product');

/**
 * With RECORD_HISTORIES=1, writes a change-log connection's histories for product-replay.test.ts:
 * its first run (`<name>-first-run.json`) and the run that met a position the log refused
 * (`<name>-fallback.json`, found by the `replay-invalid` answer among its activity results).
 */
export async function recordChangeLogHistories(h: SyncHarness, connectionId: string, firstRunId: string | undefined, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const workflowId = h.syncWorkflowId(connectionId);
  const first = await h.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
  await writeFile(path.join(PRODUCT_HISTORIES, `${name}-first-run.json`), historyToJSON(await decodeHistoryPayloads(first, h.payloadCodec)));
  for await (const run of h.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const history = await decodeHistoryPayloads(await h.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(), h.payloadCodec);
    const results = (history.events ?? []).flatMap((event) => event.activityTaskCompletedEventAttributes?.result?.payloads ?? []);
    if (results.some((payload) => Buffer.from(payload.data ?? []).toString().includes('replay-invalid'))) {
      await writeFile(path.join(PRODUCT_HISTORIES, `${name}-fallback.json`), historyToJSON(history));
    }
  }
}

/** The operator's view: `crm-sync sync status` has a `change log` row matching `line` (the fallback and why). */
export async function expectChangeLogRow(h: SyncHarness, connectionId: string, key: Buffer, line: RegExp): Promise<void> {
  const cli = await runCli(['sync', 'status', connectionId], cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` }));
  expect(cli.code).toBe(0);
  expect(cli.stdout).toMatch(line);
}

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { decodeHistoryPayloads } from '../../src/codec/history';
import type { SyncHarness } from './sync-harness';

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

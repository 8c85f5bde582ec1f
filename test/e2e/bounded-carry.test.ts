import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import type { CarriedState, HeldDeletionsSummary } from '../../src/workflows/connection-sync-state';
import { heldDeletionsQuery } from '../../src/workflows/messages';
import { cliEnvironment, runCli } from '../cli/support';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #17, acceptance 3's spirit for held deletions and the poll schedule: continue-as-new
 * carries a bounded input whatever the backlog. A mass delete held by the guard keeps a few ids in
 * the workflow (the window, lowered to 5 here, 100 in production) and the rest in PostgreSQL;
 * approving it applies every one. A run continued as new polls an interval after the last poll,
 * not at once.
 */

const { EventType } = proto.temporal.api.enums.v1;
const within = { timeout: 180_000, interval: 500 };
const key = randomBytes(32);
const historiesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product');

/** Every run of a workflow, oldest first, with its decoded input and its activities. */
async function runsOf(h: SyncHarness, workflowId: string) {
  const runs = [];
  for await (const execution of h.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(execution);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  return Promise.all(
    runs.map(async ({ runId }) => {
      const history = await h.client.workflow.getHandle(workflowId, runId).fetchHistory();
      const started = history.events?.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
      const [payload] = started?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const [decoded] = await h.payloadCodec.decode([payload!]);
      const input = JSON.parse(Buffer.from(decoded!.data!).toString()) as { carried?: CarriedState };
      const activities = (history.events ?? []).flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      return { runId, history, size: payload?.data?.length ?? 0, carried: input.carried, activities };
    }),
  );
}

describe('held deletions beyond the window', { timeout: 400_000 }, () => {
  const RECORDS = 2000;
  const WINDOW = 5;
  let h: SyncHarness;
  let sfIds: string[];

  beforeAll(async () => {
    const sync = { objects: ['contact' as const], debounceMs: 50, pollIntervalMs: 2000, deletePolicies: { contact: 'propagate' as const }, massDeleteGuard: { maxShare: 0.2, minDeletions: 5, windowMs: 3_600_000 } };
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], encryptionKey: { id: 'k1', key }, sync });
    sfIds = Array.from({ length: RECORDS }, (_, i) => String(h.salesforce!.sandbox.admin.createAsUser('Contact', { LastName: `Mass ${i}`, Email: `mass${i}@held.example` }).Id));
    await h.notify(h.salesforce!.id, { events: [] }, { continueAsNewAfterEvents: 100, heldWindow: WINDOW });
    await h.notify(h.hubspot!.id);
    for (const deadline = Date.now() + within.timeout; h.hubspot!.sandbox.admin.listRecords('contacts', { archived: false }).length < RECORDS; ) {
      if (Date.now() > deadline) throw new Error(`set-up: ${RECORDS} contacts did not reach HubSpot`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });
  afterAll(async () => h?.stop());

  it('keeps a few ids in the workflow and the rest in PostgreSQL, carries a small input, and applies them all once approved', async () => {
    const sf = h.salesforce!.id;
    const workflowId = h.syncWorkflowId(sf);
    const handle = h.client.workflow.getHandle(workflowId);
    for (const id of sfIds) h.salesforce!.sandbox.admin.deleteRecord('Contact', id);
    // The hold counts an id as soon as it is planned; the ids beyond the window reach PostgreSQL at the end of that pass.
    await expect
      .poll(async () => {
        const [hold] = await handle.query(heldDeletionsQuery);
        return hold && { count: hold.count, inStore: hold.inStore };
      }, within)
      .toEqual({ count: RECORDS, inStore: RECORDS - WINDOW });
    const [held] = await handle.query(heldDeletionsQuery);
    expect(held).toMatchObject({ objectType: 'contact', count: RECORDS, inStore: RECORDS - WINDOW });
    const storedIds = async () => (await h.db.pool.query<{ external_id: string }>('SELECT external_id FROM held_deletions WHERE connection_id = $1', [sf])).rows.map((row) => row.external_id);
    expect(new Set([...(await storedIds()), ...held!.sample])).toEqual(new Set(sfIds));

    // The run continues as new (every 100 events) while the hold waits: each hand-over carries the window, not the hold.
    const heldIn = (await handle.describe()).runId;
    await expect.poll(async () => (await handle.describe()).runId, within).not.toBe(heldIn);
    const env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` });
    const listed = JSON.parse((await runCli(['deletions', 'list', sf, '--json'], env)).stdout) as HeldDeletionsSummary[];
    expect(listed).toEqual([held]);
    const runs = await runsOf(h, workflowId);
    const carriedHolds = runs.filter((run) => (run.carried?.heldDeletions.length ?? 0) > 0);
    expect(carriedHolds.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(run.size).toBeLessThan(256 * 1024);
      for (const hold of run.carried?.heldDeletions ?? []) expect(hold.externalIds.length).toBeLessThanOrEqual(WINDOW);
    }
    expect(h.hubspot!.sandbox.admin.listRecords('contacts', { archived: false })).toHaveLength(RECORDS);

    // Approved: every one of them is deleted in HubSpot, and the store forgets the hold.
    const approved = await runCli(['deletions', 'approve', sf, held!.id], env);
    expect(approved).toMatchObject({ code: 0, stdout: `${RECORDS} deletions approved (${held!.id})\n` });
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts', { archived: false }).length, within).toBe(0);
    await expect.poll(async () => (await h.syncStatus(sf)).stats.deletesApplied, within).toBe(RECORDS);
    await expect.poll(storedIds, within).toEqual([]);
    expect(await handle.query(heldDeletionsQuery)).toEqual([]);
    if (process.env.RECORD_HISTORIES === '1') {
      // The run that read held ids back from PostgreSQL to apply the approved hold (it wrote some there too).
      const applied = (await runsOf(h, workflowId)).find((run) => run.activities.includes('heldDeletionsPage'));
      if (applied) await writeFile(path.join(historiesDir, 'connection-sync-held-applied.json'), historyToJSON(await decodeHistoryPayloads(applied.history, h.payloadCodec)));
    }
  });
});

describe('the poll interval across continue-as-new', { timeout: 300_000 }, () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], encryptionKey: { id: 'k1', key }, sync: { objects: ['contact'], debounceMs: 50, pollIntervalMs: 3_600_000 } });
  });
  afterAll(async () => h?.stop());

  it('a run continued as new polls an interval after the last poll, not at once', async () => {
    const sf = h.salesforce!;
    const ids = Array.from({ length: 3 }, (_, i) => String(sf.sandbox.admin.createAsUser('Contact', { LastName: `Steady ${i}`, Email: `steady${i}@interval.example` }).Id));
    await h.notify(sf.id, { events: [] }, { continueAsNewAfterEvents: 60 });
    await expect.poll(async () => (await h.syncStatus(sf.id)).lastPolledAt, within).not.toBeNull();
    const polledAt = (await h.syncStatus(sf.id)).lastPolledAt;
    const workflowId = h.syncWorkflowId(sf.id);
    const firstRun = (await h.client.workflow.getHandle(workflowId).describe()).runId;
    // Notices (edits) grow the history until the run continues as new; the hourly poll is not due.
    for (let round = 0; (await h.client.workflow.getHandle(workflowId).describe()).runId === firstRun; round += 1) {
      if (round > 50) throw new Error('the run did not continue as new');
      await h.notify(sf.id, { events: ids.map((externalId) => ({ objectType: 'contact' as const, externalId, eventId: `edit-${round}-${externalId}` })) });
      await expect.poll(async () => (await h.syncStatus(sf.id)).pending, within).toBe(0);
    }
    await expect.poll(async () => (await h.syncStatus(sf.id)).pending, within).toBe(0);
    expect((await h.syncStatus(sf.id)).lastPolledAt).toBe(polledAt);
    const runs = await runsOf(h, workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0]!.activities).toContain('pollChanges');
    expect(runs[1]!.carried?.lastPolledAt).toBe(polledAt);
    for (const run of runs.slice(1)) expect(run.activities).not.toContain('pollChanges');
    if (process.env.RECORD_HISTORIES === '1') {
      // The run that polled, carried lastPolledAt (and a bounded input) across continue-as-new.
      await writeFile(path.join(historiesDir, 'connection-sync-carry-last-polled.json'), historyToJSON(await decodeHistoryPayloads(runs[0]!.history, h.payloadCodec)));
    }
  });
});

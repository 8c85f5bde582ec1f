import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import proto from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFixtureActivities } from './fixtures/activities';
import { approvalWorkflow, approveSignal, progressQuery } from './fixtures/approval.workflow';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureWorkflows = path.join(here, 'fixtures', 'approval.workflow.ts');
const nonDeterministicVariant = path.join(here, 'fixtures', 'approval-without-cooldown.workflow.ts');
const historiesDir = path.join(here, 'histories');

describe('workflow runtime on the real dev server', () => {
  const taskQueue = `runtime-${randomUUID()}`;
  const calls: number[] = [];
  let connection: Connection;
  let client: Client;
  let nativeConnection: NativeConnection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, namespace: inject('temporalNamespace') });
    nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  });

  afterAll(async () => {
    await nativeConnection?.close();
    await connection?.close();
  });

  it('waits on a signal and a timer, retries a failing activity, and reports through a query', async () => {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: inject('temporalNamespace'),
      taskQueue,
      workflowsPath: fixtureWorkflows,
      activities: createFixtureActivities(calls),
    });
    const workflowId = `approval-${randomUUID()}`;

    const { result, history } = await worker.runUntil(async () => {
      const handle = await client.workflow.start(approvalWorkflow, {
        taskQueue,
        workflowId,
        args: [{ cooldown: '1s', failuresBeforeSuccess: 2 }],
      });
      // The workflow is blocked on the signal: nothing has run yet.
      await expect.poll(() => handle.query(progressQuery)).toEqual({ stage: 'waiting-for-approval' });
      expect(calls).toEqual([]);

      await handle.signal(approveSignal, { approvedBy: 'ops@example.com' });
      const result = await handle.result();
      // Queries still answer after completion, from the replayed final state.
      expect(await handle.query(progressQuery)).toEqual(result);
      return { result, history: await handle.fetchHistory() };
    });

    expect(result).toEqual({ stage: 'done', approvedBy: 'ops@example.com', succeededOnAttempt: 3 });
    // The server really ran the activity three times: two retryable failures, then success.
    expect(calls).toEqual([1, 2, 3]);
    const eventTypes = (history.events ?? []).map((event) => event.eventType);
    expect(eventTypes).toContain(EventType.EVENT_TYPE_TIMER_FIRED);
    expect(eventTypes).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    const started = (history.events ?? []).find((event) => event.activityTaskStartedEventAttributes);
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(3);

    // Replaying the fresh history against the same code is clean.
    const replays = await collect(Worker.runReplayHistories({ workflowsPath: fixtureWorkflows }, [{ workflowId, history }]));
    expect(replays.map((replay) => replay.error)).toEqual([undefined]);

    if (process.env.RECORD_HISTORIES === '1') {
      await writeFile(path.join(historiesDir, 'approval-workflow.json'), historyToJSON(history));
    }
  });

  it('replays every recorded history cleanly (the guard against non-deterministic changes)', async () => {
    const histories = await loadRecordedHistories();
    expect(histories.length).toBeGreaterThan(0);
    const replays = await collect(Worker.runReplayHistories({ workflowsPath: fixtureWorkflows }, histories));
    expect(replays.map(({ workflowId, error }) => ({ workflowId, error: error?.message }))).toEqual(
      histories.map(({ workflowId }) => ({ workflowId, error: undefined })),
    );
  });

  it('fails the replay when the workflow changes non-deterministically', async () => {
    const histories = await loadRecordedHistories();
    expect(histories.length).toBeGreaterThan(0);
    const replays = await collect(Worker.runReplayHistories({ workflowsPath: nonDeterministicVariant }, histories));
    expect(replays).toHaveLength(histories.length);
    for (const replay of replays) {
      expect(replay.error?.name).toBe('DeterminismViolationError');
    }
  });
});

/** Histories as `temporal workflow show --output json` writes them; the file name is the workflow id. */
async function loadRecordedHistories(): Promise<{ workflowId: string; history: unknown }[]> {
  const files = (await readdir(historiesDir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      workflowId: path.basename(file, '.json'),
      history: JSON.parse(await readFile(path.join(historiesDir, file), 'utf8')) as unknown,
    })),
  );
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const { EventType } = proto.temporal.api.enums.v1;

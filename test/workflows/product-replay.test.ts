import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workerTracingOptions } from '../../src/observability/tracing';
import { WORKFLOWS_PATH } from '../../src/worker';

const historiesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'histories', 'product');

/**
 * Recorded histories of the product's own workflows (src/workflows/index.ts, the bundle the worker
 * runs) replayed against the current code: a non-deterministic change to a workflow fails here
 * instead of breaking executions already running in production. Record with
 * `RECORD_HISTORIES=1 npx vitest run test/e2e/backfill.test.ts test/e2e/sync-engine.test.ts test/e2e/deletions.test.ts test/e2e/store-outage.test.ts`
 * and the others histories/README.md names
 * (see histories/README.md).
 */
describe('recorded histories of the product workflows replay cleanly', () => {
  it('replays every history under histories/product against src/workflows', async () => {
    const files = (await readdir(historiesDir)).filter((file) => file.endsWith('.json')).sort();
    const histories = await Promise.all(
      files.map(async (file) => ({ workflowId: path.basename(file, '.json'), history: historyFromJSON(JSON.parse(await readFile(path.join(historiesDir, file), 'utf8')) as unknown) })),
    );
    // The backfill's are there, and cover a page retried after a worker crash, continue-as-new and completion.
    const types = (name: string) => (histories.find((h) => h.workflowId === name)?.history.events ?? []).map((event) => event.eventType);
    const { EventType } = await import('@temporalio/proto').then((proto) => proto.default.temporal.api.enums.v1);
    expect(types('backfill-first-run')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    expect(types('backfill-last-run')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    // The connection workflow's: change notices, a failed read that parked a record, debounce
    // timers, and the hand-over to a new run.
    expect(types('connection-sync-first-run')).toEqual(
      expect.arrayContaining([
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_TIMER_FIRED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
      ]),
    );
    // Deletions: a hold carried over continue-as-new, approved by an update, under the patch marker
    // that keeps runs started before deletions existed replayable (connection-sync-first-run).
    expect(types('connection-sync-deletions')).toEqual(
      expect.arrayContaining([EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, EventType.EVENT_TYPE_MARKER_RECORDED]),
    );
    // crm-sync's database failing for good: a run from before the `store-outage` patch failed on
    // it (and must replay as it ran); runs after it go on, having recorded the patch's marker.
    const patches = (name: string) =>
      (histories.find((h) => h.workflowId === name)?.history.events ?? []).flatMap((event) =>
        event.markerRecordedEventAttributes ? [(JSON.parse(Buffer.from(event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString()) as { id: string }).id] : [],
      );
    expect(types('connection-sync-store-outage-before-patch')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
    expect(patches('connection-sync-store-outage-before-patch')).not.toContain('store-outage');
    for (const name of ['connection-sync-store-outage-poll', 'connection-sync-store-outage-notice', 'connection-sync-store-outage-first-load']) {
      expect(types(name)).toContain(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
      expect(types(name)).not.toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
      expect(patches(name)).toContain('store-outage');
    }
    // Issue #17: a run that continued as new while waiting for re-authorisation (it carried
    // needsReauth), the run it handed over to, and a run that wrote parked records beyond its
    // window to PostgreSQL and read them back for a retry.
    expect(types('connection-sync-reauth-handover')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    expect(patches('connection-sync-reauth-handover')).toEqual(expect.arrayContaining(['parked-overflow', 'continue-as-new-while-paused', 'carry-needs-reauth']));
    expect(patches('connection-sync-reauth-resumed')).toContain('parked-overflow');
    const activityTypes = (name: string) => (histories.find((h) => h.workflowId === name)?.history.events ?? []).flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(activityTypes('connection-sync-parked-overflow')).toEqual(expect.arrayContaining(['flushParkedRecords', 'parkedRecordsPage']));
    // Salesforce CDC (issue #16): change-log reads under the `salesforce-cdc` patch, the replay id
    // carried across continue-as-new, and a run that met a replay id past retention and fell back.
    expect(patches('connection-sync-cdc-first-run')).toContain('salesforce-cdc');
    expect(activityTypes('connection-sync-cdc-first-run')).toContain('readChangeEvents');
    expect(types('connection-sync-cdc-first-run')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    const fallbackResults = (histories.find((h) => h.workflowId === 'connection-sync-cdc-fallback')?.history.events ?? []).flatMap((event) => event.activityTaskCompletedEventAttributes?.result?.payloads ?? []);
    expect(fallbackResults.some((payload) => Buffer.from(payload.data ?? []).toString().includes('"replay-invalid"'))).toBe(true);
    expect(patches('connection-sync-cdc-fallback')).toContain('salesforce-cdc');
    // CDC after a worker outage (issue #16): a read applied without the debounce timer, and the
    // poll that came due during the outage waiting for the change log to be read to its head.
    expect(patches('connection-sync-cdc-outage')).toEqual(expect.arrayContaining(['salesforce-cdc', 'change-log-read-settles-burst', 'poll-after-change-log-read']));
    // Issue #17: a poll stopped between pages for continue-as-new (its page cursor carried), and a
    // queue of notices handed over unapplied.
    expect(patches('connection-sync-poll-yield')).toContain('poll-yields-to-continue-as-new');
    expect(types('connection-sync-poll-yield')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    expect(patches('connection-sync-notices-yield')).toContain('notices-yield-to-continue-as-new');
    expect(types('connection-sync-notices-yield')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    const handedOver = (name: string) => {
      const data = (histories.find((h) => h.workflowId === name)?.history.events ?? []).find((event) => event.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]?.data;
      return (JSON.parse(Buffer.from(data ?? []).toString() || '{}') as { carried?: { pollResume?: Record<string, unknown>; pending?: unknown[] } }).carried;
    };
    expect(Object.keys(handedOver('connection-sync-poll-yield')?.pollResume ?? {})).toContain('contact');
    expect(handedOver('connection-sync-notices-yield')?.pending?.length ?? 0).toBeGreaterThan(0);
    // Issue #17, self-healing and bounded carry: a run that retried parked records on its own timer
    // (in state and from PostgreSQL), one that read held deletions back from PostgreSQL to apply an
    // approved hold, and one that carried lastPolledAt across continue-as-new.
    expect(patches('connection-sync-self-healing')).toContain('parked-self-healing');
    expect(types('connection-sync-self-healing')).toContain(EventType.EVENT_TYPE_TIMER_FIRED);
    expect(activityTypes('connection-sync-self-healing')).toEqual(expect.arrayContaining(['flushParkedRecords', 'parkedRecordsPage']));
    expect(patches('connection-sync-held-applied')).toContain('bounded-carry');
    expect(activityTypes('connection-sync-held-applied')).toEqual(expect.arrayContaining(['storeHeldDeletions', 'heldDeletionsPage', 'forgetHeldDeletions']));
    expect(patches('connection-sync-carry-last-polled')).toEqual(expect.arrayContaining(['carry-last-polled-at', 'bounded-carry']));
    expect(types('connection-sync-carry-last-polled')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    // HubSpot's webhooks journal (issue #16): read under the same patch, the journal offset carried
    // across continue-as-new, and a run that met an offset past retention and fell back to a poll.
    expect(patches('connection-sync-journal-first-run')).toContain('salesforce-cdc');
    expect(activityTypes('connection-sync-journal-first-run')).toContain('readChangeEvents');
    const journalHandover = (histories.find((h) => h.workflowId === 'connection-sync-journal-first-run')?.history.events ?? []).find((event) => event.workflowExecutionContinuedAsNewEventAttributes);
    const carried = Buffer.from(journalHandover?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]?.data ?? []).toString();
    expect(carried).toMatch(/"changeEvents":\{"replayId":"[^"]+"/);
    const journalResults = (histories.find((h) => h.workflowId === 'connection-sync-journal-fallback')?.history.events ?? []).flatMap((event) => event.activityTaskCompletedEventAttributes?.result?.payloads ?? []);
    expect(journalResults.some((payload) => /"replay-invalid".*journal offset/.test(Buffer.from(payload.data ?? []).toString()))).toBe(true);
    // The fallback published as the ChangeLogFallbackAt search attribute (`change-log-fallback-attribute`).
    expect(patches('connection-sync-journal-fallback')).toContain('change-log-fallback-attribute');
    const upserted = (histories.find((h) => h.workflowId === 'connection-sync-journal-fallback')?.history.events ?? []).flatMap((event) => Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}));
    expect(upserted).toContain('ChangeLogFallbackAt');
    // Issue #15: a Zoho notification channel renewed by the workflow's own timer (the
    // `webhook-renewal` patch) before it lapsed, and its expiry handed over to the next run.
    expect(patches('connection-sync-webhook-renewal')).toContain('webhook-renewal');
    expect(activityTypes('connection-sync-webhook-renewal')).toEqual(expect.arrayContaining(['webhookExpiry', 'renewWebhookSubscriptions']));
    expect(types('connection-sync-webhook-renewal')).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    // A backfill started after the targets were indexed first carries that patch's marker.
    expect(types('backfill-indexed-first-run')).toContain(EventType.EVENT_TYPE_MARKER_RECORDED);
    const retried = histories.flatMap(({ history }) => history.events ?? []).filter((event) => (event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried.length).toBeGreaterThan(0);

    // With the OpenTelemetry workflow interceptors every worker now runs (src/observability/tracing.ts),
    // traced or not: histories recorded without them must replay with them, and without them too.
    // Histories recorded with them, where an update landed while the loop waited on a timer, replay
    // only with them: the interceptor's update span completes the update after the timer's
    // cancellation, and a plain worker orders those two commands the other way. Every worker runs
    // the interceptors, so such a history is never replayed without them.
    const interceptedOnly = new Set(['connection-sync-held-applied']);
    for (const [tracing, replayed] of [
      [workerTracingOptions(undefined, false), histories],
      [{}, histories.filter(({ workflowId }) => !interceptedOnly.has(workflowId))],
    ] as const) {
      const replays: { workflowId: string; error: string | undefined }[] = [];
      for await (const replay of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH, ...tracing }, replayed)) {
        replays.push({ workflowId: replay.workflowId, error: replay.error?.message });
      }
      expect(replays).toEqual(replayed.map(({ workflowId }) => ({ workflowId, error: undefined })));
    }
  });
});

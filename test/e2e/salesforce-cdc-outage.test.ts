import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { temporal } from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/** Salesforce changes made while no worker runs: 500 by the issue (#16, acceptance 2); CDC_OUTAGE_CHANGES for fewer. */
const CHANGES = Number(process.env.CDC_OUTAGE_CHANGES ?? 500);
/** Short, so the worker is down for longer than it; the test waits for that on the server's clock, never for a number of seconds. */
const POLL_INTERVAL_MS = 3_000;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const eventMs = (event: HistoryEvent): number => Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);

/**
 * Salesforce heard through Change Data Capture, the worker stopped for longer than the poll
 * interval (on the Temporal server's clock, which is the workflow's) while Salesforce changes:
 * after the restart, every change comes from the replay id the workflow kept, each applied once;
 * the poll that was due meanwhile runs only after the change log has been read to its head, and
 * finds nothing left to write.
 */
describe('Salesforce CDC: the worker down for longer than the poll interval', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  const status = () => h.syncStatus(sf.id);
  const history = async (): Promise<HistoryEvent[]> => (await decodeHistoryPayloads(await h.client.workflow.getHandle(h.syncWorkflowId(sf.id)).fetchHistory(), h.payloadCodec)).events ?? [];

  beforeAll(async () => {
    const sync = { objects: ['contact' as const], pollIntervalMs: POLL_INTERVAL_MS, debounceMs: 100 };
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync });
    sf = h.salesforce!;
    hs = h.hubspot!;
    const { instanceUrl, pubSubEndpoint } = sf.sandbox.credentials;
    await h.connectionsRepository.updateSettings(sf.id, { instanceUrl, loginUrl: sf.sandbox.url, pubSub: { endpoint: pubSubEndpoint, tls: false }, sync: { ...sync, changeEvents: 'cdc' } });
    await h.notify(sf.id, { events: [] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it(`applies ${CHANGES} changes made meanwhile exactly once, from the replay id, before the poll that came due`, { timeout: 600_000 }, async () => {
    await expect.poll(async () => (await status()).changeEvents?.replayId ?? null, { timeout: 60_000, interval: 250 }).not.toBeNull();
    await expect.poll(async () => (await status()).lastPolledAt, { timeout: 60_000, interval: 250 }).not.toBeNull();
    const before = await status();
    const hubspotWrites = recordWrites(hs.sandbox, 'contacts');
    await h.killWorker();
    // A read the worker had under way may still hold its stream: the changes come after it ended.
    await expect.poll(() => sf.sandbox.admin.stats().pubSubSubscriptions, { timeout: 30_000, interval: 100 }).toBe(0);
    const stoppedHistory = await history();
    const lastPollDone = Math.max(...stoppedHistory.filter((event) => event.activityTaskCompletedEventAttributes).map((event) => {
      const scheduled = stoppedHistory.find((candidate) => String(candidate.eventId) === String(event.activityTaskCompletedEventAttributes?.scheduledEventId));
      return scheduled?.activityTaskScheduledEventAttributes?.activityType?.name === 'pollChanges' ? eventMs(event) : 0;
    }));
    expect(lastPollDone).toBeGreaterThan(0);

    for (let i = 0; i < CHANGES; i += 1) sf.sandbox.admin.createAsUser('Contact', { LastName: `Outage ${i}`, Email: `outage-${i}@cdc.example` });
    // Down until the poll is overdue on the server's clock (the machine's, which the server reads too).
    await expect.poll(() => Date.now() - lastPollDone, { timeout: 60_000, interval: 200 }).toBeGreaterThan(POLL_INTERVAL_MS + 1_000);
    const restartedAt = Date.now();
    await h.startWorker();

    const outage = () => hs.sandbox.admin.listRecords('contacts').filter((record) => String(record.properties.email).startsWith('outage-'));
    await expect.poll(() => outage().length, { timeout: 540_000, interval: 500 }).toBe(CHANGES);
    // The poll that came due runs once the log is read to its head; it must find nothing to write.
    await expect.poll(async () => Date.parse((await status()).lastPolledAt ?? '') > restartedAt, { timeout: 60_000, interval: 250 }).toBe(true);

    // Each change applied once: one write per record, each record once with its value.
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWrites).toBe(CHANGES);
    const byEmail = new Map(outage().map((record) => [String(record.properties.email), record.properties.lastname]));
    expect(byEmail.size).toBe(CHANGES);
    for (let i = 0; i < CHANGES; i += 1) expect(byEmail.get(`outage-${i}@cdc.example`)).toBe(`Outage ${i}`);
    const after = await status();
    expect(after.stats.synced - before.stats.synced).toBe(CHANGES);
    expect(after.changeEvents?.received ?? 0).toBeGreaterThanOrEqual((before.changeEvents?.received ?? 0) + CHANGES);
    expect(after.changeEvents?.lastFallback).toBeNull();
    expect(after.parked).toBe(0);

    // From the history, on the server's clock: the first workflow task after the restart came more
    // than a poll interval after the last poll, and every change was read from the log, from the
    // kept replay id, before the first poll after the restart was scheduled.
    const events = await history();
    const resumed = events.find((event) => event.workflowTaskStartedEventAttributes && eventMs(event) >= restartedAt);
    expect(resumed).toBeDefined();
    expect(eventMs(resumed!) - lastPollDone).toBeGreaterThan(POLL_INTERVAL_MS);
    const sinceRestart = events.slice(events.indexOf(resumed!));
    const firstPoll = sinceRestart.findIndex((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'pollChanges');
    expect(firstPoll).toBeGreaterThan(0);
    const readScheduled = new Set(events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'readChangeEvents').map((event) => String(event.eventId)));
    const receivedBeforePoll = sinceRestart.slice(0, firstPoll).reduce((sum, event) => {
      const completed = event.activityTaskCompletedEventAttributes;
      if (!completed || !readScheduled.has(String(completed.scheduledEventId))) return sum;
      const answer = JSON.parse(Buffer.from(completed.result?.payloads?.[0]?.data ?? []).toString()) as { received?: number };
      return sum + (answer.received ?? 0);
    }, 0);
    expect(receivedBeforePoll).toBeGreaterThanOrEqual(CHANGES);
    // The first read that came back after the restart started at the position kept before the stop.
    const firstRead = sinceRestart.find((event) => readScheduled.has(String(event.activityTaskCompletedEventAttributes?.scheduledEventId)));
    const firstReadRequest = events.find((event) => String(event.eventId) === String(firstRead?.activityTaskCompletedEventAttributes?.scheduledEventId))?.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
    expect(before.changeEvents?.replayId).toBeTruthy();
    expect(Buffer.from(firstReadRequest ?? []).toString()).toContain(`"replayId":"${before.changeEvents?.replayId}"`);

    if (process.env.RECORD_HISTORIES === '1') {
      const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product');
      await writeFile(path.join(dir, 'connection-sync-cdc-outage.json'), historyToJSON({ events }));
    }
  });
});

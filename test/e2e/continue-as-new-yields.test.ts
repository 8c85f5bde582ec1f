import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #17: a long poll and a long queue of notices each stop for continue-as-new instead of
 * growing one history past the server's limit (patches `poll-yields-to-continue-as-new` and
 * `notices-yield-to-continue-as-new`), and the next run goes on where the last one stopped, with
 * nothing lost and nothing written twice. Runs continue as new every 60 events here; HubSpot's
 * poll pages (200) make a two-page poll small.
 */
const { EventType } = proto.temporal.api.enums.v1;
/** More than one HubSpot poll page (200 records, hubspotSpec.paging.searchPage). */
const POLLED = 250;
/** Ten batches of ten. */
const NOTICED = 100;
const within = { timeout: 240_000, interval: 500 };

type History = proto.temporal.api.history.v1.IHistory;

describe('continue-as-new in the middle of a poll and of a queue of notices', { timeout: 600_000 }, () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  const runs = async (connectionId: string): Promise<{ runId: string; history: History }[]> => {
    const found: { runId: string; history: History }[] = [];
    for await (const execution of h.client.workflow.list({ query: `WorkflowId = "${h.syncWorkflowId(connectionId)}"` })) {
      found.push({ runId: execution.runId, history: await decodeHistoryPayloads(await h.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory(), h.payloadCodec) });
    }
    return found;
  };
  const patchesOf = (history: History): string[] =>
    (history.events ?? []).flatMap((event) => (event.markerRecordedEventAttributes ? [(JSON.parse(Buffer.from(event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data ?? []).toString()) as { id: string }).id] : []));
  /** What a run handed to the next (its continue-as-new input's `carried`), if it continued as new. */
  const carriedBy = (history: History): { pollResume?: Record<string, { cursor: string }>; pending?: unknown[] } | undefined => {
    const handedOver = history.events?.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    const data = handedOver?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]?.data;
    return data ? (JSON.parse(Buffer.from(data).toString()) as { carried?: ReturnType<typeof carriedBy> }).carried : undefined;
  };
  const record = async (name: string, history: History): Promise<void> => {
    if (process.env.RECORD_HISTORIES !== '1') return;
    await writeFile(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product', `${name}.json`), historyToJSON(history));
  };

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 50, batchSize: 10 } });
    sf = h.salesforce!;
    hs = h.hubspot!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it(`stops a poll of ${POLLED} changes between pages, and the next run reads on from that page`, async () => {
    hs.sandbox.admin.seed({ contacts: POLLED });
    const writes = recordWrites(sf.sandbox, 'Contact');
    // The run starts while no worker runs, and 40 signals wait in its history: its first pass, a
    // poll that looks back a day (two pages), is due to hand over after the first page (60 events),
    // and a new run, with no such backlog, polls on without handing over again.
    await h.killWorker();
    await h.notify(hs.id, { events: [] }, { continueAsNewAfterEvents: 60 });
    for (let i = 0; i < 40; i += 1) await h.notify(hs.id, { events: [] });
    await h.startWorker();
    await expect.poll(() => sf.sandbox.admin.listRecords('Contact').length, within).toBe(POLLED);
    await expect.poll(async () => (await h.syncStatus(hs.id)).lastPolledAt, within).not.toBeNull();
    expect(recordWrites(sf.sandbox, 'Contact') - writes).toBe(POLLED);
    expect(new Set(sf.sandbox.admin.listRecords('Contact').map((contact) => contact.Email)).size).toBe(POLLED);

    const all = await runs(hs.id);
    const yielded = all.find(({ history }) => carriedBy(history)?.pollResume?.contact?.cursor);
    expect(yielded, 'a run handed over in the middle of its poll').toBeDefined();
    expect(patchesOf(yielded!.history)).toContain('poll-yields-to-continue-as-new');
    // The run it handed over to asked for the page after, not the first page again.
    const cursor = carriedBy(yielded!.history)!.pollResume!.contact!.cursor;
    const resumedPoll = all.some(({ history }) =>
      (history.events ?? []).some((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'pollChanges' && Buffer.from(event.activityTaskScheduledEventAttributes.input?.payloads?.[0]?.data ?? []).toString().includes(cursor)),
    );
    expect(resumedPoll).toBe(true);
    await record('connection-sync-poll-yield', yielded!.history);
  });

  it(`stops applying a queue of ${NOTICED} notices for continue-as-new, and the next run applies the rest, each once`, async () => {
    // The contacts the poll above brought to Salesforce, edited there by a person.
    const contacts = sf.sandbox.admin.listRecords('Contact').slice(0, NOTICED);
    for (const contact of contacts) sf.sandbox.admin.editAsUser('Contact', String(contact.Id), { Title: `Noticed ${String(contact.Id)}` });
    const writes = recordWrites(hs.sandbox, 'contacts');
    // Ten batches of notices take the run past 60 events: it hands the rest of the queue over.
    await h.notify(sf.id, { events: contacts.map((contact) => ({ objectType: 'contact' as const, externalId: String(contact.Id), eventId: `yield-${String(contact.Id)}` })) }, { continueAsNewAfterEvents: 60 });
    const titled = () => hs.sandbox.admin.listRecords('contacts').filter((contact) => String(contact.properties.jobtitle ?? '').startsWith('Noticed ')).length;
    await expect.poll(titled, within).toBe(NOTICED);
    await expect.poll(async () => (await h.syncStatus(sf.id)).pending, within).toBe(0);
    expect(recordWrites(hs.sandbox, 'contacts') - writes).toBe(NOTICED);

    const yielded = (await runs(sf.id)).find(({ history }) => (carriedBy(history)?.pending?.length ?? 0) > 0);
    expect(yielded, 'a run handed over notices it had not applied yet').toBeDefined();
    expect(patchesOf(yielded!.history)).toContain('notices-yield-to-continue-as-new');
    await record('connection-sync-notices-yield', yielded!.history);
  });
});

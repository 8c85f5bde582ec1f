import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import type { ChangeRef } from '../../src/model/sync';
import { PENDING_CARRY_LIMIT } from '../../src/workflows/connection-sync/pending-carry';
import type { CarriedState, HeldDeletionsSummary } from '../../src/workflows/connection-sync-state';
import { heldDeletionsQuery } from '../../src/workflows/messages';
import { cliEnvironment, runCli } from '../cli/support';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #17, acceptance 3's spirit for held deletions and the poll schedule: continue-as-new
 * carries a bounded input whatever the backlog. A mass delete held by the guard keeps a few ids in
 * the workflow (the window, lowered to 5 here, 100 in production) and the rest in PostgreSQL;
 * approving it applies every one. A run continued as new polls an interval after the last poll,
 * not at once; unless change notices beyond PENDING_CARRY_LIMIT were left behind: then it polls at
 * once, and the poll brings what they named.
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

describe('change notices beyond the carry limit', { timeout: 600_000 }, () => {
  const EDITED = 300;
  const CREATED = 900;
  const LEFT_BEHIND = EDITED + CREATED - PENDING_CARRY_LIMIT;
  /** Above the first run's history once it has polled, below it once the notices are in. */
  const HAND_OVER_AT = 150;
  let h: SyncHarness;
  let editedIds: string[];

  beforeAll(async () => {
    // An hourly poll: within the test, only the poll the left-behind notices call for can run in a later run.
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], encryptionKey: { id: 'k1', key }, sync: { objects: ['contact'], debounceMs: 50, pollIntervalMs: 3_600_000 } });
    editedIds = Array.from({ length: EDITED }, (_, i) => String(h.salesforce!.sandbox.admin.createAsUser('Contact', { LastName: `Before ${i}`, Email: `edited${i}@cap.example` }).Id));
  });
  afterAll(async () => h?.stop());

  it('carries at most the limit, polls at once in the new run, and every changed record reaches HubSpot once', async () => {
    const sf = h.salesforce!;
    const workflowId = h.syncWorkflowId(sf.id);
    const handle = h.client.workflow.getHandle(workflowId);
    await h.notify(sf.id, { events: [] }, { continueAsNewAfterEvents: HAND_OVER_AT });
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts', { archived: false }).length, within).toBe(EDITED);
    await expect.poll(async () => (await h.syncStatus(sf.id)).lastPolledAt, within).not.toBeNull();
    const firstPolledAt = (await h.syncStatus(sf.id)).lastPolledAt;
    const firstRun = await handle.describe();
    // Otherwise the run would hand over before the notices arrive, and nothing would be left behind.
    expect(firstRun.historyLength).toBeLessThan(HAND_OVER_AT);

    // The worker is down while people change 1,200 records and their notices queue up in history.
    await h.killWorker();
    const notice = (view: Record<string, unknown>): ChangeRef => ({ objectType: 'contact', externalId: String(view.Id), eventId: `04l-${String(view.Id)}-${String(view.SystemModstamp)}`, modifiedAt: new Date(Date.parse(String(view.SystemModstamp))).toISOString() });
    const edited = editedIds.map((id, i) => notice(sf.sandbox.admin.editAsUser('Contact', id, { LastName: `After ${i}` })));
    const created = Array.from({ length: CREATED }, (_, i) => notice(sf.sandbox.admin.createAsUser('Contact', { LastName: `Created ${i}`, Email: `created${i}@cap.example` })));
    // Oldest first, so the last 100 of each kind are beyond the limit.
    const notices = [...created.slice(0, CREATED - LEFT_BEHIND / 2), ...edited.slice(0, EDITED - LEFT_BEHIND / 2), ...created.slice(CREATED - LEFT_BEHIND / 2), ...edited.slice(EDITED - LEFT_BEHIND / 2)];
    for (let at = 0; at < notices.length; at += 100) await h.notify(sf.id, { events: notices.slice(at, at + 100) });
    // Empty deliveries grow the history to the hand-over point: the restarted run meets every notice and continues as new.
    while ((await handle.describe()).historyLength < HAND_OVER_AT) await h.notify(sf.id, { events: [] });
    await h.startWorker();

    // Every changed record in HubSpot exactly once: the 1,200, each with its last values, and no copy.
    const hubspotContacts = () =>
      h.hubspot!.sandbox.admin
        .listRecords('contacts', { archived: false })
        .map((record) => `${String(record.properties.email)} ${String(record.properties.lastname)}`)
        .sort();
    const expected = [...editedIds.map((_, i) => `edited${i}@cap.example After ${i}`), ...Array.from({ length: CREATED }, (_, i) => `created${i}@cap.example Created ${i}`)].sort();
    await expect.poll(hubspotContacts, within).toEqual(expected);
    await expect.poll(async () => (await h.syncStatus(sf.id)).pending, within).toBe(0);
    expect(hubspotContacts()).toEqual(expected);

    const runs = await runsOf(h, workflowId);
    expect(runs[0]!.runId).toBe(firstRun.runId);
    // The run that met the notices applied none and polled only once, at its start; it handed over the oldest 1,000.
    expect(runs[0]!.activities.filter((name) => name === 'pollChanges')).toHaveLength(1);
    expect(runs[0]!.activities).not.toContain('readAndLinkRecords');
    const handedOver = runs[1]!;
    expect(handedOver.carried?.pending.map((ref) => ref.externalId)).toEqual(notices.slice(0, PENDING_CARRY_LIMIT).map((ref) => ref.externalId));
    expect(handedOver.carried).toMatchObject({ pollAtOnce: true, lastPolledAt: firstPolledAt });
    // It polled at once, an hour before its interval: that poll brought the 200 notices no run carried.
    expect(handedOver.activities).toContain('pollChanges');
    const leftBehind = new Set(notices.slice(PENDING_CARRY_LIMIT).map((ref) => ref.externalId));
    expect(leftBehind.size).toBe(LEFT_BEHIND);
    for (const run of runs) {
      expect(run.size).toBeLessThan(256 * 1024);
      expect(run.carried?.pending.length ?? 0).toBeLessThanOrEqual(PENDING_CARRY_LIMIT);
      expect(run.carried?.pending.filter((ref) => leftBehind.has(ref.externalId)) ?? []).toEqual([]);
    }
    const status = await h.syncStatus(sf.id);
    expect(status.lastPolledAt).not.toBe(firstPolledAt);
    expect(Date.parse(status.lastPolledAt!) - Date.parse(firstPolledAt!)).toBeLessThan(3_600_000);
    expect(status).toMatchObject({ pending: 0, parked: 0, pollError: null });
  });
});

/**
 * The carry limit leaves notices to a poll, but a poll cannot find every change: linking a HubSpot
 * contact to a company does not move either stamp (hubspot/BEHAVIOR.md, [H53]), and its
 * associationChange webhook is the only path. Fails today (it.fails): of the 100 links whose
 * notices were left behind, only the one a poll re-reads at its watermark's own stamp reaches
 * Salesforce (1,001 of 1,100). Once fixed, the last check becomes an expect.poll: it is read here
 * at a point where nothing is left to bring the rest, so the failure shows without a timeout.
 */
describe('association notices beyond the carry limit', { timeout: 600_000 }, () => {
  const CONTACTS = 1100;
  const HAND_OVER_AT = 150;
  let h: SyncHarness;

  beforeAll(async () => {
    // No look-back: the contacts stand for records made long before the link (a poll re-reads the
    // last 5 minutes before its watermark, so records made a moment ago would be read again anyway).
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      encryptionKey: { id: 'k1', key },
      connectorDefaults: { lookbackMs: 0 },
      sync: { objects: ['company', 'contact'], debounceMs: 50, pollIntervalMs: 3_600_000 },
    });
  });
  afterAll(async () => h?.stop());

  it.fails('links HubSpot contacts to their company in Salesforce though their notices were left behind', async () => {
    const hs = h.hubspot!;
    const company = hs.sandbox.admin.createAsUser('companies', { name: 'Cap Links', domain: 'cap-links.example' }).id;
    const contacts = Array.from({ length: CONTACTS }, (_, i) => hs.sandbox.admin.createAsUser('contacts', { firstname: `Linked ${i}`, lastname: 'Cap', email: `linked${i}@cap-links.example` }).id);
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(hs.id));
    await h.notify(hs.id, { events: [] }, { continueAsNewAfterEvents: HAND_OVER_AT });
    const sfContacts = () => h.salesforce!.sandbox.admin.listRecords('Contact');
    await expect.poll(() => sfContacts().length, within).toBe(CONTACTS);
    await expect.poll(async () => (await h.syncStatus(hs.id)).lastPolledAt, within).not.toBeNull();
    const firstPolledAt = (await h.syncStatus(hs.id)).lastPolledAt;
    const [account] = h.salesforce!.sandbox.admin.listRecords('Account');
    expect(sfContacts().filter((contact) => contact.AccountId)).toEqual([]);

    // Worker down: a person links every contact to the company; HubSpot's webhooks name each contact (no stamp moved).
    await h.killWorker();
    for (const contact of contacts) hs.sandbox.admin.associateAsUser('contacts', contact, 'companies', company, { primary: true });
    const notices: ChangeRef[] = contacts.map((externalId, i) => ({ objectType: 'contact', externalId, eventId: `association-${i}` }));
    for (let at = 0; at < notices.length; at += 100) await h.notify(hs.id, { events: notices.slice(at, at + 100) });
    while ((await handle.describe()).historyLength < HAND_OVER_AT) await h.notify(hs.id, { events: [] });
    await h.startWorker();

    // Settled: the 1,000 carried are linked, nothing pending, and the new run's poll got through.
    const linked = () => sfContacts().filter((contact) => contact.AccountId === account!.Id).length;
    await expect.poll(linked, within).toBeGreaterThanOrEqual(PENDING_CARRY_LIMIT);
    await expect.poll(async () => (await h.syncStatus(hs.id)).pending, within).toBe(0);
    await expect.poll(async () => (await h.syncStatus(hs.id)).lastPolledAt, within).not.toBe(firstPolledAt);
    const runs = await runsOf(h, h.syncWorkflowId(hs.id));
    expect(runs.find((run) => run.carried?.pollAtOnce)?.carried?.pending).toHaveLength(PENDING_CARRY_LIMIT);
    expect(linked()).toBe(CONTACTS);
  });
});

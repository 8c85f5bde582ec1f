import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backfillProgressQuery, backfillWorkflowId, startBackfill, type BackfillProgress } from '../../src/client/backfill';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { applyDependencies } from '../support/apply-dependencies';
import { PendingReferencesRepository } from '../../src/store/pending-references-repository';
import { RecordLinksRepository } from '../../src/store/record-links-repository';

const CONTACTS = 20_000;
const PAGE_SIZE = 2_000;
const PAGES_PER_RUN = 3;
const here = path.dirname(fileURLToPath(import.meta.url));
const recordedHistories = path.join(here, '..', 'workflows', 'histories', 'product');

/**
 * The backfill child workflow on the real dev server: a Salesforce sandbox's contacts bulk-loaded
 * into the HubSpot sandbox through the real connectors, with the worker killed twice mid-run.
 */
describe('backfill Salesforce -> HubSpot', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000 },
      providerConnectorOptions: { salesforce: { bulk: { exportPageSize: PAGE_SIZE, pollIntervalMs: 50 } } },
      // Pages take about a second here: send every checkpoint, so the test can crash the worker mid-page.
      workerOptions: { maxHeartbeatThrottleInterval: '100ms' },
    });
    sf = h.salesforce!;
    hs = h.hubspot!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('fails a bad input at once, non-retryably, naming the field (started with plain JSON from the temporal CLI)', async () => {
    const workflowId = `backfill-bad-input-${h.tenantId}`;
    await promisify(execFile)(inject('temporalCliPath'), [
      'workflow',
      'start',
      '--address',
      inject('temporalAddress'),
      '--namespace',
      inject('temporalNamespace'),
      '--task-queue',
      h.taskQueue,
      '--type',
      'backfill',
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify({ tenantId: h.tenantId, connectionId: sf.id, objectType: 'lead', since: 'yesterday' }),
    ]);
    const failure = await h.client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect((cause as ApplicationFailure).type).toBe('InvalidInput');
    expect(cause?.message).toMatch(/^invalid backfill input: objectType: .*; since: /);
    // Failed on its first workflow task: no activity ran.
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    expect((history.events ?? []).some((event) => event.activityTaskScheduledEventAttributes)).toBe(false);

    // Well-formed but wrong for this tenant: refused by the first activity, also without retries.
    const wrongTarget = await startBackfill(h.client, h.taskQueue, { tenantId: h.tenantId, connectionId: sf.id, objectType: 'company', targets: ['someone-elses-crm'] });
    const targetFailure = await wrongTarget.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(targetFailure).toBeInstanceOf(WorkflowFailedError);
    const activityCause = (targetFailure as WorkflowFailedError).cause?.cause;
    expect(activityCause).toBeInstanceOf(ApplicationFailure);
    expect((activityCause as ApplicationFailure | undefined)?.message).toBe(`targets: "someone-elses-crm" not another connection of tenant "${h.tenantId}"`);
    const attempts = (await wrongTarget.fetchHistory()).events?.flatMap((event) => event.activityTaskStartedEventAttributes?.attempt ?? []);
    expect(attempts).toEqual([1]);
  });

  it(`loads ${CONTACTS.toLocaleString('en')} contacts exactly once with the worker killed twice, keeping records out of history`, async () => {
    const started = Date.now();
    sf.sandbox.admin.seed({ contacts: CONTACTS });
    const sourceContacts = sf.sandbox.admin.listRecords('Contact');
    expect(sourceContacts).toHaveLength(CONTACTS);

    const input = { tenantId: h.tenantId, connectionId: sf.id, objectType: 'contact' as const, pagesPerRun: PAGES_PER_RUN, chunkSize: 250, heartbeatTimeout: '10s' };
    const handle = await startBackfill(h.client, h.taskQueue, input);
    expect(handle.workflowId).toBe(`backfill:${h.tenantId}:${sf.id}:contact`);
    expect(backfillWorkflowId(h.tenantId, sf.id, 'contact')).toBe(handle.workflowId);

    // The id is a lock: a second backfill of the same connection and object is refused while this one runs.
    await expect(startBackfill(h.client, h.taskQueue, input)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);

    // Progress samples taken throughout, checked for consistency at the end.
    const samples: BackfillProgress[] = [];
    const progress = async (): Promise<BackfillProgress> => {
      const sample = await handle.query(backfillProgressQuery);
      samples.push(sample);
      return sample;
    };
    // The checkpoint of the page in flight, as the server holds it (what a retried attempt resumes from).
    const serverCheckpoint = async (): Promise<{ cursor: string; offset: number } | undefined> => {
      const pending = (await handle.describe()).raw.pendingActivities?.find((activity) => activity.activityType?.name === 'backfillPage');
      const payload = pending?.heartbeatDetails?.payloads?.[0];
      // Heartbeat details are sealed by the payload codec in the server's copy.
      const [decoded] = payload ? await h.payloadCodec.decode([payload]) : [];
      return decoded ? h.client.options.loadedDataConverter.payloadConverter.fromPayload<{ cursor: string; offset: number }>(decoded) : undefined;
    };
    const kills: { atPagesDone: number; atOffset: number; downMs: number }[] = [];
    for (const killAfterPages of [2, 5]) {
      await expect.poll(async () => (await progress()).pagesDone, { timeout: 40_000, interval: 100 }).toBeGreaterThanOrEqual(killAfterPages);
      // Mid-page: wait until the server holds a checkpoint inside the page being written, then crash.
      await expect.poll(async () => (await serverCheckpoint())?.offset ?? 0, { timeout: 20_000, interval: 50 }).toBeGreaterThan(0);
      const atOffset = (await serverCheckpoint())?.offset ?? 0;
      const atPagesDone = (await progress()).pagesDone;
      const down = Date.now();
      await h.killWorker();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await h.startWorker();
      kills.push({ atPagesDone, atOffset, downMs: Date.now() - down });
    }

    const result = await handle.result();
    const elapsedMs = Date.now() - started;
    const final = await progress();
    console.log(`[backfill e2e] ${CONTACTS} contacts in ${elapsedMs} ms; kills ${JSON.stringify(kills)}; resumed mid-page ${result.resumedMidPage}; runs ${result.run}`);

    // Every Salesforce contact is in HubSpot exactly once, carrying its canonical sync id.
    const hubspotContacts = hs.sandbox.admin.listRecords('contacts');
    expect(hubspotContacts).toHaveLength(CONTACTS);
    const syncIds = new Set(hubspotContacts.map((record) => record.properties.crm_sync_id));
    expect(syncIds.size).toBe(CONTACTS);
    expect(new Set(hubspotContacts.map((record) => record.properties.email?.toLowerCase()))).toEqual(new Set(sourceContacts.map((record) => String(record.Email).toLowerCase())));

    // The same links and snapshots live sync keeps: both sides linked to one canonical id each.
    const links = await h.db.pool.query<{ connection_id: string; links: string; snapshots: string; canonical: string }>(
      `SELECT l.connection_id, count(*) AS links, count(s.canonical_id) AS snapshots, count(DISTINCT l.canonical_id) AS canonical
         FROM record_links l LEFT JOIN record_snapshots s USING (canonical_id, connection_id)
        GROUP BY l.connection_id ORDER BY l.connection_id`,
    );
    expect(links.rows.map((row) => ({ ...row, links: Number(row.links), snapshots: Number(row.snapshots), canonical: Number(row.canonical) }))).toEqual(
      [sf.id, hs.id].sort().map((connection_id) => ({ connection_id, links: CONTACTS, snapshots: CONTACTS, canonical: CONTACTS })),
    );
    const hubspotCanonical = await h.db.pool.query<{ canonical_id: string }>(`SELECT canonical_id FROM record_links WHERE connection_id = $1`, [hs.id]);
    expect(new Set(hubspotCanonical.rows.map((row) => row.canonical_id))).toEqual(syncIds);

    // Progress: final numbers add up, and every sample along the way was consistent.
    const pages = CONTACTS / PAGE_SIZE;
    expect(result).toEqual({
      tenantId: h.tenantId,
      connectionId: sf.id,
      objectType: 'contact',
      state: 'completed',
      targets: [hs.id],
      cursor: null,
      pagesDone: pages,
      recordsRead: CONTACTS,
      written: { [hs.id]: CONTACTS },
      failed: { [hs.id]: 0 },
      failures: [],
      resumedMidPage: expect.any(Number) as number,
      run: Math.ceil(pages / PAGES_PER_RUN),
    });
    expect(final).toEqual(result);
    expect(kills).toHaveLength(2);
    // Both crashes landed mid-page, and both retried attempts resumed from the server's checkpoint.
    expect(result.resumedMidPage).toBeGreaterThanOrEqual(2);
    for (const sample of samples) {
      expect(sample.recordsRead).toBe(Math.min(sample.pagesDone * PAGE_SIZE, CONTACTS));
      expect((sample.written[hs.id] ?? 0) + (sample.failed[hs.id] ?? 0)).toBe(sample.recordsRead);
    }
    for (let i = 1; i < samples.length; i += 1) {
      expect(samples[i]!.pagesDone).toBeGreaterThanOrEqual(samples[i - 1]!.pagesDone);
    }

    // Search attributes tell an operator where it stands.
    const described = await handle.describe();
    expect(described.searchAttributes).toMatchObject({
      TenantId: [h.tenantId],
      ConnectionId: [sf.id],
      CrmProvider: ['salesforce'],
      SyncState: ['completed'],
      ParkedCount: [0],
    });

    // History of every run holds cursors and counts only: no record's email or name, even decoded.
    const runs = await historiesOfEveryRun(h.client, handle.workflowId, handle.firstExecutionRunId);
    expect(runs).toHaveLength(Math.ceil(pages / PAGES_PER_RUN));
    const emails = new Set(sourceContacts.map((record) => String(record.Email).toLowerCase()));
    const names = new Set(sourceContacts.flatMap((record) => [String(record.FirstName), String(record.LastName)]).filter((name) => name.length >= 4));
    for (const { history } of runs) {
      // Decrypted with the payload codec too: even an operator who may decode sees no record.
      const text = decodedText(await decodeHistoryPayloads(history, h.payloadCodec));
      expect(text.includes('pagesDone')).toBe(true); // payloads really are decoded (only they hold that word)
      const words = new Set(text.toLowerCase().match(/[\p{L}0-9._%+'-]+(@[a-z0-9.-]+)?/gu) ?? []);
      expect([...words].filter((word) => emails.has(word))).toEqual([]);
      // Names that are also words of the history's own structure ("Name") prove nothing either way.
      const structure = new Set((JSON.stringify(history, (_key, value: unknown) => (typeof value === 'string' ? '' : value)).toLowerCase().match(/\p{L}+/gu) ?? []));
      expect([...names].filter((name) => words.has(name.toLowerCase()) && !structure.has(name.toLowerCase()))).toEqual([]);
      expect(text.length).toBeLessThan(100_000);
    }
    // The page activities' results are counts: nothing in them but numbers, ids and cursors.
    const pageResults = runs.flatMap(({ history }) => (history.events ?? []).flatMap((event) => event.activityTaskCompletedEventAttributes?.result?.payloads ?? []));
    expect(pageResults.length).toBeGreaterThanOrEqual(pages);

    if (process.env.RECORD_HISTORIES === '1') {
      await mkdir(recordedHistories, { recursive: true });
      // The first run (a page retried after the crash, continue-as-new) and the last (completion).
      // Decoded: the payload codec's key is this run's, and replay must not need it.
      // Named for the newest patch they carry (backfill-index-targets); older recordings stay, so
      // runs started before each patch keep replaying.
      await writeFile(path.join(recordedHistories, 'backfill-indexed-first-run.json'), historyToJSON(await decodeHistoryPayloads(runs[0]!.history, h.payloadCodec)));
      await writeFile(path.join(recordedHistories, 'backfill-indexed-last-run.json'), historyToJSON(await decodeHistoryPayloads(runs.at(-1)!.history, h.payloadCodec)));
    }
  }, 120_000);

  it('counts and lists (capped) records a target cannot take, finishes anyway, and a re-run after the fix loads them', async () => {
    const DEALS = 120;
    // Deal names longer than Salesforce's Opportunity.Name (120 characters): HubSpot holds them, Salesforce cannot.
    const ids = hs.sandbox.admin.seed({ deals: DEALS }).deals;
    for (const [index, id] of ids.entries()) hs.sandbox.admin.changeAsUser('deals', id, { dealname: `${'Long deal name '.repeat(9)}${index}` });
    const dealInput = { tenantId: h.tenantId, connectionId: hs.id, objectType: 'deal' as const, targets: [sf.id], pagesPerRun: 2 };

    const first = await (await startBackfill(h.client, h.taskQueue, dealInput)).result();
    expect(first).toMatchObject({ state: 'completed', recordsRead: DEALS, written: { [sf.id]: 0 }, failed: { [sf.id]: DEALS } });
    expect(first.failures).toHaveLength(100);
    expect(first.failures[0]).toEqual({
      sourceExternalId: expect.stringMatching(/^\d+$/) as string,
      targetConnectionId: sf.id,
      error: expect.objectContaining({ provider: 'salesforce', errorClass: 'validation', message: expect.stringMatching(/Name/) as string }) as unknown,
    });
    const described = await h.client.workflow.getHandle(backfillWorkflowId(h.tenantId, hs.id, 'deal')).describe();
    expect(described.searchAttributes).toMatchObject({ SyncState: ['completed'], ParkedCount: [DEALS] });
    expect(sf.sandbox.admin.listRecords('Opportunity')).toHaveLength(0);

    // The names shortened in HubSpot, the same backfill again: the closed id may be reused, and every deal lands.
    for (const [index, id] of ids.entries()) hs.sandbox.admin.changeAsUser('deals', id, { dealname: `Deal ${index}` });
    const second = await (await startBackfill(h.client, h.taskQueue, dealInput)).result();
    expect(second).toMatchObject({ state: 'completed', recordsRead: DEALS, written: { [sf.id]: DEALS }, failed: { [sf.id]: 0 }, failures: [] });
    expect(new Set(sf.sandbox.admin.listRecords('Opportunity').map((deal) => deal.Sync_Id__c)).size).toBe(DEALS);
  }, 60_000);

  it('lands deals met before their companies at once, their company links waiting, and writes each link when its company lands', async () => {
    const DEALS = 60;
    // Deals already there (loaded from HubSpot by the test before) have no company: they are read too, and wait for nothing.
    const before = sf.sandbox.admin.listRecords('Opportunity').length;
    const seeded = sf.sandbox.admin.seed({ companies: 3, deals: DEALS });
    const dealInput = { tenantId: h.tenantId, connectionId: sf.id, objectType: 'deal' as const, targets: [hs.id], pagesPerRun: 2 };
    const accountOf = new Map(sf.sandbox.admin.listRecords('Opportunity').map((deal) => [String(deal.Id), String(deal.AccountId)]));
    const dealIds = seeded.Opportunity ?? [];

    // Deals first: each lands in HubSpot without its company, which HubSpot has no copy of yet; the link waits.
    const first = await (await startBackfill(h.client, h.taskQueue, dealInput)).result();
    expect(first).toMatchObject({ state: 'completed', recordsRead: before + DEALS, written: { [hs.id]: before + DEALS }, failed: { [hs.id]: 0 }, failures: [] });
    const pending = new PendingReferencesRepository(h.db.pool);
    expect(await pending.list({ tenantId: h.tenantId, targetConnectionId: hs.id })).toHaveLength(DEALS);
    const links = new RecordLinksRepository(h.db.pool);
    const hubspotDealOf = async (opportunityId: string) => {
      const canonicalId = (await links.canonicalIdsOf(sf.id, 'deal', [opportunityId])).get(opportunityId);
      return (await links.externalIdsIn(hs.id, [canonicalId!])).get(canonicalId!);
    };
    const hubspot = await applyDependencies(h).connectors.forConnection(hs.id);
    const companyOfDeal = async (dealId: string) => (await hubspot.readRecords('deal', [dealId]))[0]?.references.company;
    expect(await companyOfDeal((await hubspotDealOf(dealIds[0]!))!)).toBeNull();

    // The companies land: every waiting deal is written again with its company, and nothing waits any more.
    const companies = await (await startBackfill(h.client, h.taskQueue, { ...dealInput, objectType: 'company' })).result();
    expect(companies).toMatchObject({ state: 'completed', recordsRead: 3, written: { [hs.id]: 3 }, failed: { [hs.id]: 0 } });
    expect(await pending.list({ tenantId: h.tenantId, targetConnectionId: hs.id })).toEqual([]);
    for (const opportunityId of dealIds) {
      const accountId = accountOf.get(opportunityId)!;
      const companyCanonical = (await links.canonicalIdsOf(sf.id, 'company', [accountId])).get(accountId)!;
      const hubspotCompany = (await links.externalIdsIn(hs.id, [companyCanonical])).get(companyCanonical);
      expect(await companyOfDeal((await hubspotDealOf(opportunityId))!)).toBe(hubspotCompany);
    }
  }, 60_000);
});

/** Each run's history, following continue-as-new from the first run. */
async function historiesOfEveryRun(client: SyncHarness['client'], workflowId: string, firstRunId: string | undefined): Promise<{ runId: string; history: temporal.api.history.v1.IHistory }[]> {
  const runs: { runId: string; history: temporal.api.history.v1.IHistory }[] = [];
  let runId = firstRunId;
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push({ runId, history });
    runId = (history.events ?? []).find((event) => event.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

/** The history as JSON with every payload's bytes decoded to text (they arrive base64-encoded or as bytes). */
function decodedText(history: temporal.api.history.v1.IHistory): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    return value;
  });
}

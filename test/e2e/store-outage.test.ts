import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { ActivityInterceptors } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import type { SyncSettings } from '../../src/model/sync-settings';
import { configChangedSignal, parkedRecordsQuery, retryParkedUpdate } from '../../src/workflows/messages';
import { startPrivatePostgres, type PrivatePostgres } from '../chaos/private-postgres';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * crm-sync's own PostgreSQL unreachable for longer than the store activities retry (storeCall:
 * about 100 s) must not end a connection workflow: a failed run is restarted empty
 * by the supervisor, and the parked records, pending notices and watermarks only its state held
 * are gone. A private PostgreSQL cluster is stopped and started again (the shared one is left
 * alone). The outage begins where a test says, as a given activity starts (the ones before it
 * succeeded), and while it lasts the test's worker makes every activity failure final at its first
 * attempt: the workflow gets what it gets once an outage has outlasted the retry policies, without
 * the test waiting them out.
 */

// A bound, not an expectation: a workflow task and an activity each, a few seconds on a quiet
// machine; 30 s ran out once with both cores saturated and two more suites running beside it.
const within = { timeout: 120_000, interval: 200 };
/** Each test waits on several such bounds in a row. */
const TEST_TIMEOUT_MS = 600_000;

class StoreOutage {
  down = false;
  private beginsAt: string | undefined;

  constructor(private readonly postgres: PrivatePostgres) {}

  /** The database goes down as the next activity of this type starts. */
  beginAt(activityType: string): void {
    this.beginsAt = activityType;
  }

  async begin(): Promise<void> {
    await this.postgres.down();
    this.down = true;
  }

  /** Activities failing while the server starts are retried as usual. */
  async end(): Promise<void> {
    if (!this.down) return;
    this.down = false;
    await this.postgres.up();
  }

  readonly interceptor = (ctx: ActivityContext): ActivityInterceptors => ({
    inbound: {
      execute: async (input, next) => {
        if (this.beginsAt === ctx.info.activityType) {
          this.beginsAt = undefined;
          await this.begin();
        }
        try {
          return await next(input);
        } catch (error) {
          throw this.down ? ApplicationFailure.fromError(error, { nonRetryable: true }) : error;
        }
      },
    },
  });
}

let postgres: PrivatePostgres;
let outage: StoreOutage;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  outage = new StoreOutage(postgres);
});
afterAll(async () => {
  await postgres?.stop();
});

async function harness(sync: Partial<SyncSettings>): Promise<SyncHarness> {
  return startSyncHarness({
    crms: ['salesforce', 'hubspot'],
    databaseUrl: postgres.url,
    sync: { objects: ['contact'], debounceMs: 50, deletePolicies: { contact: 'propagate' }, ...sync },
    workerOptions: { interceptors: { activity: [outage.interceptor] } },
  });
}

const hubspotEmails = (h: SyncHarness): string[] => h.hubspot!.sandbox.admin.listRecords('contacts', { archived: false }).map((record) => String(record.properties.email)).sort();

/** The status field the fixed workflow reports, else how the run ended (the defect: FAILED). */
async function reported(h: SyncHarness, field: 'pollError' | 'storeError'): Promise<string> {
  const handle = h.client.workflow.getHandle(h.syncWorkflowId(h.salesforce!.id));
  const { status } = await handle.describe();
  if (status.name !== 'RUNNING') return `workflow ${status.name}`;
  return (await h.syncStatus(h.salesforce!.id))[field] ?? 'nothing yet';
}

/** The activities of a run that failed for good (no attempt left). */
async function failedActivities(h: SyncHarness, runId: string): Promise<string[]> {
  const events = (await h.client.workflow.getHandle(h.syncWorkflowId(h.salesforce!.id), runId).fetchHistory()).events ?? [];
  const typeOf = new Map(events.map((event) => [Number(event.eventId), event.activityTaskScheduledEventAttributes?.activityType?.name]));
  return [...new Set(events.flatMap((event) => (event.activityTaskFailedEventAttributes ? [typeOf.get(Number(event.activityTaskFailedEventAttributes.scheduledEventId)) ?? '?'] : [])))].sort();
}

async function recordHistory(h: SyncHarness, runId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await h.client.workflow.getHandle(h.syncWorkflowId(h.salesforce!.id), runId).fetchHistory();
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product', `${name}.json`);
  await writeFile(file, historyToJSON(await decodeHistoryPayloads(history, h.payloadCodec)));
}

describe('the store fails as a polled deletion is planned, and on a config reload', () => {
  let h: SyncHarness;
  const sourceOverride = { objects: { contact: { fields: [{ canonical: 'custom.source', native: 'Lead_Source__c', type: 'picklist', values: { Web: 'web', 'Phone Inquiry': 'phone' } }] } } };
  const targetOverride = { objects: { contact: { fields: [{ canonical: 'custom.source', native: 'lead_source', type: 'picklist', values: { web: 'web' } }] } } };

  beforeAll(async () => {
    h = await harness({ pollIntervalMs: 2000 });
    // HubSpot cannot take a phone lead source: that record stays parked throughout.
    h.hubspot!.sandbox.admin.defineProperty('contacts', 'lead_source', 'string');
    const sf = await h.connectionsRepository.getConnection(h.salesforce!.id);
    await h.connectionsRepository.updateSettings(h.salesforce!.id, { ...sf!.settings, mappingOverride: sourceOverride });
    const hs = await h.connectionsRepository.getConnection(h.hubspot!.id);
    await h.connectionsRepository.updateSettings(h.hubspot!.id, { ...hs!.settings, mappingOverride: targetOverride });
  });
  afterAll(async () => {
    await outage.end();
    await h?.stop();
  });

  it('keeps running with its parked record and watermark, and applies the deletion once the store is back', async () => {
    const sf = h.salesforce!;
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(sf.id));
    const [gone, caller] = [
      sf.sandbox.admin.createAsUser('Contact', { LastName: 'Gone', Email: 'gone@poll.example', Lead_Source__c: 'Web' }),
      sf.sandbox.admin.createAsUser('Contact', { LastName: 'Caller', Email: 'caller@poll.example', Lead_Source__c: 'Phone Inquiry' }),
      sf.sandbox.admin.createAsUser('Contact', { LastName: 'Stays', Email: 'stays@poll.example', Lead_Source__c: 'Web' }),
    ];
    await h.notify(sf.id);
    await expect.poll(() => hubspotEmails(h), within).toEqual(['gone@poll.example', 'stays@poll.example']);
    await expect.poll(async () => (await h.syncStatus(sf.id)).parked, within).toBe(1);
    const { runId } = await handle.describe();
    const before = await h.syncStatus(sf.id);
    expect(before.watermarks.contact).toBeDefined();

    // The next poll finds the deletion in Salesforce's feed; the database goes away as it is planned.
    outage.beginAt('planDeletions');
    sf.sandbox.admin.deleteRecord('Contact', String(gone.Id));
    // Later polls fail as a whole while the store is down (their reads need it too).
    await expect.poll(() => reported(h, 'pollError'), within).toMatch(/^contact( deletions)?( not planned)?: /);
    // A config change is signalled while the store is down: the reload fails, the old config stays.
    await handle.signal(configChangedSignal);
    await expect.poll(() => reported(h, 'storeError'), within).toMatch(/^config not reloaded: /);
    const during = await h.syncStatus(sf.id);
    expect(during).toMatchObject({ state: 'degraded', parked: 1, watermarks: before.watermarks });
    expect(hubspotEmails(h)).toContain('gone@poll.example');

    await outage.end();
    // The poll reads the deletion again from the same watermark and plans it; the config is reloaded.
    await expect.poll(() => hubspotEmails(h), within).toEqual(['stays@poll.example']);
    await expect.poll(async () => ((s) => ({ pollError: s.pollError, storeError: s.storeError }))(await h.syncStatus(sf.id)), within).toEqual({ pollError: null, storeError: null });
    const after = await h.syncStatus(sf.id);
    expect(after).toMatchObject({ state: 'degraded', parked: 1, stats: { deletesApplied: 1 } });
    expect((await handle.query(parkedRecordsQuery))[0]).toMatchObject({ sourceExternalId: String(caller.Id), targetConnectionId: h.hubspot!.id, error: { errorClass: 'validation' } });
    expect(await handle.describe()).toMatchObject({ runId, status: { name: 'RUNNING' } });
    expect(await failedActivities(h, runId)).toEqual(expect.arrayContaining(['loadSyncConfig', 'planDeletions']));
    await recordHistory(h, runId, 'connection-sync-store-outage-poll');
  }, TEST_TIMEOUT_MS);
});

describe('the store fails as the deletion a webhook reported is planned', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await harness({ pollIntervalMs: 3_600_000 });
  });
  afterAll(async () => {
    await outage.end();
    await h?.stop();
  });

  it('keeps the confirmed deletion notice pending and plans it at a later pass', async () => {
    const sf = h.salesforce!;
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(sf.id));
    const ids = ['First', 'Second'].map((name) => String(sf.sandbox.admin.createAsUser('Contact', { LastName: name, Email: `${name.toLowerCase()}@notice.example` }).Id));
    await h.notify(sf.id, { events: ids.map((externalId, i) => ({ objectType: 'contact' as const, externalId, eventId: `create-${i}` })) });
    await expect.poll(() => hubspotEmails(h), within).toEqual(['first@notice.example', 'second@notice.example']);
    const { runId } = await handle.describe();

    // The read confirms the record is gone; the database goes away as its deletion is planned.
    outage.beginAt('planDeletions');
    sf.sandbox.admin.deleteRecord('Contact', ids[0]!);
    await h.notify(sf.id, { events: [{ objectType: 'contact', externalId: ids[0]!, deleted: true, eventId: 'delete-0' }] });
    await expect.poll(() => reported(h, 'storeError'), within).toMatch(/^deletions not planned: /);
    expect(await h.syncStatus(sf.id)).toMatchObject({ state: 'degraded', pending: 1, parked: 0 });
    expect(hubspotEmails(h)).toEqual(['first@notice.example', 'second@notice.example']);

    await outage.end();
    // The next pass (a poll in production; here the config signal) reads the notice again and plans it.
    await handle.signal(configChangedSignal);
    await expect.poll(() => hubspotEmails(h), within).toEqual(['second@notice.example']);
    await expect.poll(async () => (await h.syncStatus(sf.id)).storeError, within).toBeNull();
    expect(await h.syncStatus(sf.id)).toMatchObject({ state: 'running', pending: 0, parked: 0, stats: { deletesApplied: 1 } });
    expect(await handle.describe()).toMatchObject({ runId, status: { name: 'RUNNING' } });
    expect(await failedActivities(h, runId)).toEqual(['planDeletions']);
    await recordHistory(h, runId, 'connection-sync-store-outage-notice');
  }, TEST_TIMEOUT_MS);
});

describe('the store is down when a run continues as new', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await harness({ pollIntervalMs: 3_600_000 });
  });
  afterAll(async () => {
    await outage.end();
    await h?.stop();
  });

  it('the new run keeps the carried state and waits for its config instead of failing', async () => {
    const sf = h.salesforce!;
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(sf.id));
    sf.sandbox.admin.createAsUser('Contact', { LastName: 'Before', Email: 'before@can.example' });
    // The run's first poll syncs it (nothing else in flight when the store goes down).
    await h.notify(sf.id, { events: [] }, { continueAsNewAfterEvents: 80 });
    await expect.poll(() => hubspotEmails(h), within).toEqual(['before@can.example']);
    await expect.poll(async () => (await h.syncStatus(sf.id)).lastPolledAt, within).not.toBeNull();
    const { runId: firstRun } = await handle.describe();
    const before = await h.syncStatus(sf.id);

    // Changes noticed while the store is down cannot be read: each is parked, until history is
    // long enough for the run to continue as new, and the new run cannot load its config.
    await outage.begin();
    const noticed: string[] = [];
    for (let i = 0; i < 12 && (await handle.describe()).runId === firstRun; i += 1) {
      const id = String(sf.sandbox.admin.createAsUser('Contact', { LastName: `During ${i}`, Email: `during${i}@can.example` }).Id);
      noticed.push(id);
      await h.notify(sf.id, { events: [{ objectType: 'contact', externalId: id, eventId: `can-${i}` }] });
      await expect.poll(async () => (await handle.describe()).runId !== firstRun || (await h.syncStatus(sf.id)).parked >= noticed.length, within).toBe(true);
    }
    await expect.poll(async () => (await handle.describe()).runId, within).not.toBe(firstRun);
    await expect.poll(() => reported(h, 'storeError'), within).toMatch(/^config not loaded: /);
    const { runId: secondRun } = await handle.describe();
    const waiting = await h.syncStatus(sf.id);
    // A notice signalled as the first run handed over is carried as pending, not yet parked.
    expect(waiting).toMatchObject({ state: 'degraded', watermarks: before.watermarks });
    expect(waiting.parked).toBeGreaterThan(0);
    expect(waiting.parked + waiting.pending).toBe(noticed.length);
    expect(noticed).toEqual(expect.arrayContaining((await handle.query(parkedRecordsQuery)).map((record) => record.sourceExternalId)));

    await outage.end();
    // Told the config changed (else a minute later), the run loads it and goes on. It polls an
    // interval after the last poll, not at once (carry-last-polled-at): what the parked reads
    // missed comes back by the operator's retry (or by itself within the hour: self-healing).
    await handle.signal(configChangedSignal);
    await expect.poll(async () => (await h.syncStatus(sf.id)).storeError, within).toBeNull();
    await handle.executeUpdate(retryParkedUpdate, { args: [{}] });
    await expect.poll(() => hubspotEmails(h).length, within).toBe(1 + noticed.length);
    await expect.poll(async () => (await h.syncStatus(sf.id)).parked, within).toBe(0);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await failedActivities(h, secondRun)).toEqual(['loadSyncConfig']);
    await recordHistory(h, secondRun, 'connection-sync-store-outage-first-load');
  }, TEST_TIMEOUT_MS);
});

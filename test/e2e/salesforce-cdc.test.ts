import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributes } from '../../src/temporal/search-attributes';
import { expectChangeLogRow, recordChangeLogHistories } from '../support/change-log';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Salesforce heard through Change Data Capture only (issue #16): no webhook reaches the shim and
 * the poll comes once an hour, so every change below arrives through the Pub/Sub API, read from
 * the replay id the connection workflow keeps. HubSpot's side is driven by its change notices.
 */
describe('Salesforce Change Data Capture over the Pub/Sub API, end to end', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  /** The Salesforce org's clock, moved past the event retention by the last test. */
  let orgClockOffsetMs = 0;
  const status = (id: string) => h.syncStatus(id);
  /** The operator's filter: the workflow's ChangeLogFallbackAt search attribute is the fallback `sync status` shows. */
  const expectFallbackAttribute = async (): Promise<void> => {
    const fellBackAt = (await status(sf.id)).changeEvents?.lastFallback?.at;
    expect(fellBackAt).toBeDefined();
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(sf.id));
    await expect.poll(async () => (await handle.describe()).typedSearchAttributes.get(searchAttributes.ChangeLogFallbackAt)?.toISOString(), { timeout: 60_000, interval: 250 }).toBe(new Date(fellBackAt!).toISOString());
  };
  const hubspotContact = (email: string) => hs.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === email);
  let firstRunId: string | undefined;
  const key = randomBytes(32);

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      encryptionKey: { id: 'k1', key },
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 },
      salesforce: { now: () => Date.now() + orgClockOffsetMs, tokenLifetimeMs: 30 * 24 * 60 * 60_000 },
    });
    sf = h.salesforce!;
    hs = h.hubspot!;
    const { instanceUrl, pubSubEndpoint } = sf.sandbox.credentials;
    await h.connectionsRepository.updateSettings(sf.id, {
      instanceUrl,
      loginUrl: sf.sandbox.url,
      pubSub: { endpoint: pubSubEndpoint, tls: false },
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100, changeEvents: 'cdc' },
    });
    // A short first run: the replay id must survive continue-as-new.
    await h.notify(sf.id, { events: [] }, { continueAsNewAfterEvents: 120 });
    await h.notify(hs.id, { events: [] });
    firstRunId = (await h.client.workflow.getHandle(h.syncWorkflowId(sf.id)).describe()).runId;
  });

  it('starts from the newest change event, then polls once', async () => {
    // The position is taken before the first poll: a change between the two is in one or the other.
    for (const id of [sf.id, hs.id]) await expect.poll(async () => (await status(id)).watermarks.contact !== undefined, { timeout: 60_000, interval: 250 }).toBe(true);
    await expect.poll(async () => (await status(sf.id)).changeEvents?.replayId ?? null, { timeout: 60_000, interval: 250 }).not.toBeNull();
    expect((await status(sf.id)).changeEvents?.lastFallback).toBeNull();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('carries a Salesforce edit to HubSpot once, and the change event of our own write back writes nothing', async () => {
    const hubspotWrites = recordWrites(hs.sandbox, 'contacts');
    const created = sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@cdc.example' });
    await expect.poll(() => hubspotContact('ada@cdc.example')?.properties.lastname ?? null, { timeout: 60_000, interval: 250 }).toBe('Lovelace');
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWrites).toBe(1);

    // HubSpot -> Salesforce: the write lands in Salesforce, whose change event (our own API write) comes back through CDC.
    const salesforceWrites = recordWrites(sf.sandbox, 'Contact');
    const echoes = (await status(sf.id)).stats.echoes;
    const received = (await status(sf.id)).changeEvents?.received ?? 0;
    const hubspotId = hubspotContact('ada@cdc.example')!.id;
    hs.sandbox.admin.changeAsUser('contacts', hubspotId, { jobtitle: 'Analyst' });
    await h.notify(hs.id, { events: [{ objectType: 'contact', externalId: hubspotId, eventId: 'hs-cdc-1' }] });
    await expect.poll(() => sf.sandbox.admin.getRecord('Contact', String(created.Id))?.Title ?? null, { timeout: 60_000, interval: 250 }).toBe('Analyst');
    expect(recordWrites(sf.sandbox, 'Contact') - salesforceWrites).toBe(1);
    const hubspotAfter = recordWrites(hs.sandbox, 'contacts');
    await expect.poll(async () => (await status(sf.id)).stats.echoes, { timeout: 60_000, interval: 250 }).toBeGreaterThan(echoes);
    expect((await status(sf.id)).changeEvents?.received).toBeGreaterThan(received);
    expect(recordWrites(hs.sandbox, 'contacts')).toBe(hubspotAfter);
  });

  it('applies 500 Salesforce changes made while the worker was down, each once, from the replay id', async () => {
    const before = await status(sf.id);
    const hubspotWrites = recordWrites(hs.sandbox, 'contacts');
    await h.killWorker();
    for (let i = 0; i < 500; i += 1) sf.sandbox.admin.createAsUser('Contact', { LastName: `Offline ${i}`, Email: `offline-${i}@cdc.example` });
    await h.startWorker();
    await expect.poll(() => hs.sandbox.admin.listRecords('contacts').filter((record) => String(record.properties.email).startsWith('offline-')).length, { timeout: 240_000, interval: 500 }).toBe(500);
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWrites).toBe(500);
    // Read from the change log after the restart, from the replay id the workflow kept. (A run that
    // continued as new polls once as it starts: both paths name the same records, each applied once.)
    await expect.poll(async () => ((await status(sf.id)).changeEvents?.received ?? 0) - (before.changeEvents?.received ?? 0), { timeout: 120_000, interval: 500 }).toBeGreaterThanOrEqual(500);
    const after = await status(sf.id);
    expect(recordWrites(hs.sandbox, 'contacts') - hubspotWrites).toBe(500);
    expect(after.stats.synced - before.stats.synced).toBe(500);
    expect(after.parked).toBe(0);
  });

  it('falls back to a poll on GAP_OVERFLOW, and shows it', async () => {
    const [contact] = sf.sandbox.admin.listRecords('Contact').filter((record) => record.Email === 'ada@cdc.example');
    const before = await status(sf.id);
    sf.sandbox.admin.setChangeEventMode('overflow');
    sf.sandbox.admin.editAsUser('Contact', String(contact!.Id), { Title: 'Countess' });
    sf.sandbox.admin.setChangeEventMode('normal');
    await expect.poll(() => hubspotContact('ada@cdc.example')?.properties.jobtitle ?? null, { timeout: 60_000, interval: 250 }).toBe('Countess');
    await expect.poll(async () => (await status(sf.id)).changeEvents?.lastFallback?.reason ?? '', { timeout: 60_000, interval: 250 }).toMatch(/GAP_OVERFLOW/);
    await expect.poll(async () => (await status(sf.id)).lastPolledAt, { timeout: 60_000, interval: 250 }).not.toBe(before.lastPolledAt);
    await expectFallbackAttribute();
  });

  it('falls back to a poll from the watermark when the replay id is past the 72-hour retention, and shows it', async () => {
    const [contact] = sf.sandbox.admin.listRecords('Contact').filter((record) => record.Email === 'ada@cdc.example');
    await h.killWorker();
    // A read the worker had under way may still hold its stream; edits must come after it ended.
    await expect.poll(() => sf.sandbox.admin.stats().pubSubSubscriptions, { timeout: 30_000, interval: 100 }).toBe(0);
    sf.sandbox.admin.editAsUser('Contact', String(contact!.Id), { Department: 'Engines' });
    // Three days and a bit later the events the workflow has not read are gone from the bus.
    orgClockOffsetMs += 73 * 60 * 60_000;
    sf.sandbox.admin.editAsUser('Contact', String(contact!.Id), { Title: 'Mathematician' });
    await h.startWorker();
    await expect.poll(() => ({ ...hubspotContact('ada@cdc.example')?.properties }), { timeout: 60_000, interval: 250 }).toMatchObject({ jobtitle: 'Mathematician' });
    await expect.poll(async () => (await status(sf.id)).changeEvents?.lastFallback?.reason ?? '', { timeout: 60_000, interval: 250 }).toMatch(/replay/i);
    const after = await status(sf.id);
    expect(after.state).toBe('running');
    await expectFallbackAttribute();
    // The operator's view: `crm-sync sync status` names the fallback and why.
    await expectChangeLogRow(h, sf.id, key, /change log\s+\d+ events read, replay id \S+; last fell back to a poll at \S+: change log position refused: The Replay ID validation failed/);

    // The first run (continued as new every 120 events, its position carried) and the run that fell back.
    await recordChangeLogHistories(h, sf.id, firstRunId, 'connection-sync-cdc');
  });
});

describe('Salesforce CDC chosen without a Pub/Sub endpoint', () => {
  let h: SyncHarness;
  afterAll(async () => {
    await h?.stop();
  });

  it('says so in the status and pauses before reading again (no spinning), polling meanwhile', { timeout: 180_000 }, async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    const sf = h.salesforce!;
    await h.connectionsRepository.updateSettings(sf.id, { instanceUrl: sf.sandbox.credentials.instanceUrl, loginUrl: sf.sandbox.url, sync: { objects: ['contact'], pollIntervalMs: 3_600_000, changeEvents: 'cdc' } });
    await h.notify(sf.id, { events: [] });
    await expect.poll(async () => (await h.syncStatus(sf.id)).changeEvents?.lastError ?? '', { timeout: 60_000, interval: 250 }).toMatch(/no change event feed/);
    expect((await h.syncStatus(sf.id)).state).toBe('degraded');
    await expect.poll(async () => (await h.syncStatus(sf.id)).watermarks.contact !== undefined, { timeout: 60_000, interval: 250 }).toBe(true);
    // The failed read is followed by the pause's timer, not by another read at once; the poll ran meanwhile.
    const afterFailure = async (): Promise<string> => {
      const events = (await h.client.workflow.getHandle(h.syncWorkflowId(sf.id)).fetchHistory()).events ?? [];
      const failed = events.findIndex((event) => event.activityTaskFailedEventAttributes);
      const next = events.slice(failed + 1).find((event) => event.timerStartedEventAttributes || event.activityTaskScheduledEventAttributes?.activityType?.name === 'readChangeEvents');
      return failed < 0 ? 'no failure yet' : next?.timerStartedEventAttributes ? 'pause' : next ? 'read again at once' : 'nothing yet';
    };
    await expect.poll(afterFailure, { timeout: 60_000, interval: 250 }).toBe('pause');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictsRepository } from '../../src/store/conflicts-repository';
import { reauthorisedSignal, type ChangeNotices } from '../../src/workflows/messages';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

function driver(h: SyncHarness) {
  const notify = (connectionId: string, notices: ChangeNotices): Promise<void> => h.notify(connectionId, notices);
  const handle = (connectionId: string) => h.client.workflow.getHandle(h.syncWorkflowId(connectionId));
  const status = (connectionId: string) => h.syncStatus(connectionId);
  const canonicalIdOf = async (externalId: string): Promise<string> =>
    (await h.db.pool.query<{ canonical_id: string }>('SELECT canonical_id FROM record_links WHERE external_id = $1', [externalId])).rows[0]!.canonical_id;
  return { notify, handle, status, canonicalIdOf };
}

describe('per-field conflicts', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 50 } });
    const sf = await h.connectionsRepository.getConnection(h.salesforce!.id);
    await h.connectionsRepository.updateSettings(h.salesforce!.id, {
      ...sf!.settings,
      sync: {
        ...(sf!.settings.sync as object),
        conflictPolicies: { contact: { default: { kind: 'latest', priority: [h.hubspot!.id] }, fields: { title: { kind: 'owner', connectionId: h.salesforce!.id }, city: { kind: 'fill-empty' } } } },
      },
    });
  });
  afterAll(async () => h?.stop());

  it('decides each policy as specified on fields changed on both sides, and records every decision', async () => {
    const { notify, status, canonicalIdOf } = driver(h);
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    const contact = sf.sandbox.admin.createAsUser('Contact', { LastName: 'Shannon', Email: 'claude@bell.example', Phone: '100', Title: 'Engineer', MailingCity: 'Boston' });
    const contactId = String(contact.Id);
    await notify(sf.id, { events: [{ objectType: 'contact', externalId: contactId, eventId: 'c-1' }] });
    await expect.poll(() => hs.sandbox.admin.listRecords('contacts').length, { timeout: 30_000, interval: 200 }).toBe(1);
    const hubspotId = hs.sandbox.admin.listRecords('contacts')[0]!.id;

    // Both sides edit the same three fields; HubSpot's edit comes 20 ms later, inside Salesforce's
    // whole-second stamp: a tie by the clocks, which the priority gives to HubSpot.
    sf.sandbox.admin.editAsUser('Contact', contactId, { Phone: '200', Title: 'Director', MailingCity: 'Cambridge' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    hs.sandbox.admin.changeAsUser('contacts', hubspotId, { phone: '300', jobtitle: 'Professor', city: 'Princeton' });

    await notify(sf.id, { events: [{ objectType: 'contact', externalId: contactId, eventId: 'c-2' }] });
    await expect.poll(async () => (await status(sf.id)).stats.conflicts, { timeout: 30_000, interval: 200 }).toBe(3);
    expect(hs.sandbox.admin.getRecord('contacts', hubspotId)?.properties).toMatchObject({
      phone: '300', // latest: a tie, HubSpot has priority
      jobtitle: 'Director', // owner: Salesforce owns the title
      city: 'Princeton', // fill-empty: never overwrites a value
    });

    const decisions = await new ConflictsRepository(h.db.pool).listForRecord(h.tenantId, await canonicalIdOf(contactId));
    expect(decisions.map(({ field, policy, winnerConnectionId, decidedValue }) => ({ field, policy, winnerConnectionId, decidedValue })).sort((a, b) => a.field.localeCompare(b.field))).toEqual([
      { field: 'city', policy: 'fill-empty', winnerConnectionId: hs.id, decidedValue: 'Princeton' },
      { field: 'phone', policy: 'latest', winnerConnectionId: hs.id, decidedValue: '300' },
      { field: 'title', policy: 'owner', winnerConnectionId: sf.id, decidedValue: 'Director' },
    ]);
    for (const decision of decisions) {
      expect(decision.candidates.map((candidate) => candidate.connectionId).sort()).toEqual([sf.id, hs.id].sort());
    }
  });
});

describe('authentication failures', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 50 } });
  });
  afterAll(async () => h?.stop());

  it('refreshes an expired session mid-sync and carries on', async () => {
    const { notify } = driver(h);
    const sf = h.salesforce!;
    const first = sf.sandbox.admin.createAsUser('Contact', { LastName: 'Before', Email: 'before@expiry.example' });
    await notify(sf.id, { events: [{ objectType: 'contact', externalId: String(first.Id), eventId: 'a-1' }] });
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').length, { timeout: 30_000, interval: 200 }).toBe(1);
    const tokensBefore = sf.sandbox.admin.stats().tokenRequests;
    sf.sandbox.admin.expireTokens();
    const second = sf.sandbox.admin.createAsUser('Contact', { LastName: 'After', Email: 'after@expiry.example' });
    await notify(sf.id, { events: [{ objectType: 'contact', externalId: String(second.Id), eventId: 'a-2' }] });
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').length, { timeout: 30_000, interval: 200 }).toBe(2);
    expect(sf.sandbox.admin.stats().tokenRequests - tokensBefore).toBe(1);
  });

  it('waits in needs-reauth when the refresh is refused, then resumes on the signal with nothing lost', async () => {
    const { notify, status, handle } = driver(h);
    const sf = h.salesforce!;
    const good = await h.connectionsRepository.loadCredentials(sf.id);
    await h.connectionsRepository.replaceCredentials(sf.id, { ...good, refreshToken: 'revoked-by-an-admin' });
    sf.sandbox.admin.expireTokens();
    const stranded = sf.sandbox.admin.createAsUser('Contact', { LastName: 'Stranded', Email: 'stranded@reauth.example' });
    await notify(sf.id, { events: [{ objectType: 'contact', externalId: String(stranded.Id), eventId: 'a-3' }] });

    await expect.poll(async () => (await status(sf.id)).state, { timeout: 30_000, interval: 200 }).toBe('needs-reauth');
    await expect.poll(async () => (await handle(sf.id).describe()).typedSearchAttributes.getAll().find((pair) => pair.key.name === 'SyncState')?.value, { timeout: 10_000 }).toBe('needs-reauth');
    expect((await status(sf.id)).pending).toBe(1);
    expect(h.hubspot!.sandbox.admin.listRecords('contacts')).toHaveLength(2);

    // The operator re-authorises the connection.
    await h.connectionsRepository.replaceCredentials(sf.id, good);
    await handle(sf.id).signal(reauthorisedSignal);
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').map((r) => r.properties.email), { timeout: 30_000, interval: 200 }).toContain('stranded@reauth.example');
    expect((await status(sf.id)).state).toBe('running');
  });
});

describe('a 429 storm', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 50, batchSize: 2 },
      // HubSpot tells clients to wait one interval; a 1 s interval keeps the test short.
      hubspot: { limits: { tenSecondly: { max: 10_000, intervalMs: 1000 }, daily: false, search: false } },
    });
  });
  afterAll(async () => h?.stop());

  it('finishes with every record written and none lost', async () => {
    const { notify, status } = driver(h);
    const sf = h.salesforce!;
    await notify(sf.id, { events: [] }); // its first poll finds nothing; the records come as notices
    await expect.poll(async () => (await status(sf.id)).watermarks.contact !== undefined, { timeout: 15_000 }).toBe(true);
    const ids = Array.from({ length: 20 }, (_, i) => String(sf.sandbox.admin.createAsUser('Contact', { LastName: `Storm ${i}`, Email: `storm${i}@rain.example` }).Id));
    // 30% of HubSpot's answers are 429s: ten batch writes, each retried after HubSpot's interval.
    h.hubspot!.sandbox.faults.configure({ rateLimitRate: 0.3, seed: 11 });
    await notify(sf.id, { events: ids.map((externalId, i) => ({ objectType: 'contact', externalId, eventId: `s-${i}` })) });
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').length, { timeout: 60_000, interval: 250 }).toBe(20);
    // Done only when the workflow has the outcomes of every write (retries included).
    await expect.poll(async () => (await status(sf.id)).stats.synced, { timeout: 60_000, interval: 250 }).toBe(20);
    expect(h.hubspot!.sandbox.counters.snapshot().rateLimited).toBeGreaterThan(0);
    expect((await status(sf.id)).parked).toBe(0);
    // The refused writes were retried by Temporal (after the vendor's interval), not dropped.
    const history = await driver(h).handle(sf.id).fetchHistory();
    const retriedAttempts = (history.events ?? []).filter((event) => (event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retriedAttempts.length).toBeGreaterThan(0);
    const emails = h.hubspot!.sandbox.admin.listRecords('contacts').map((r) => r.properties.email);
    expect(new Set(emails).size).toBe(20);
  });
});

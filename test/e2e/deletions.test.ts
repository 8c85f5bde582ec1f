import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncSettings } from '../../src/model/sync-settings';
import type { HeldDeletionsSummary } from '../../src/workflows/connection-sync-state';
import { approveDeletionsUpdate, heldDeletionsQuery } from '../../src/workflows/messages';
import { cliEnvironment, oneLine, runCli } from '../cli/support';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Deletes on the real dev server against the Salesforce and HubSpot sandboxes: each policy, the
 * deletion feed and webhook paths, no echo back, and the mass-delete guard waiting for approval.
 */

const within = { timeout: 30_000, interval: 200 };

const key = randomBytes(32);

async function syncedPair(sync: Partial<SyncSettings>, contacts: number, continueAsNewAfterEvents?: number): Promise<{ h: SyncHarness; sfIds: string[] }> {
  const h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], encryptionKey: { id: 'k1', key }, sync: { objects: ['contact'], debounceMs: 50, ...sync } });
  const sfIds = Array.from({ length: contacts }, (_, i) => String(h.salesforce!.sandbox.admin.createAsUser('Contact', { LastName: `Del${i}`, Email: `del${i}@delete.example` }).Id));
  await h.notify(h.salesforce!.id, { events: sfIds.map((externalId) => ({ objectType: 'contact' as const, externalId })) }, { continueAsNewAfterEvents });
  await h.notify(h.hubspot!.id);
  // Set-up, outside any test, so no expect.poll: wait for the pair to be synced.
  for (const deadline = Date.now() + within.timeout; h.hubspot!.sandbox.admin.listRecords('contacts', { archived: false }).length < contacts; ) {
    if (Date.now() > deadline) throw new Error(`set-up: ${contacts} contacts did not reach HubSpot within ${within.timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, within.interval));
  }
  return { h, sfIds };
}

const liveHubSpot = (h: SyncHarness) => h.hubspot!.sandbox.admin.listRecords('contacts', { archived: false });
const hubspotIdOf = (h: SyncHarness, email: string) => liveHubSpot(h).find((record) => record.properties.email === email)?.id as string;

describe('propagate', () => {
  let h: SyncHarness;
  let sfIds: string[];
  beforeAll(async () => {
    ({ h, sfIds } = await syncedPair({ pollIntervalMs: 2000, deletePolicies: { contact: 'propagate' } }, 6));
  });
  afterAll(async () => h?.stop());

  it('a record deleted in Salesforce is deleted in HubSpot from the deletion feed, once, with no echo back', async () => {
    const sfWritesBefore = h.salesforce!.sandbox.counters.snapshot().recordWrites.Contact ?? 0;
    h.salesforce!.sandbox.admin.deleteRecord('Contact', sfIds[0] as string);
    await expect.poll(() => liveHubSpot(h).map((record) => record.properties.email).includes('del0@delete.example'), within).toBe(false);
    expect(liveHubSpot(h)).toHaveLength(5);
    await expect.poll(async () => (await h.syncStatus(h.salesforce!.id)).stats.deletesApplied, within).toBe(1);
    // HubSpot's own feed reports the archive we made; two of its polls later nothing came back.
    const hubspotPolls = async () => (await h.syncStatus(h.hubspot!.id)).lastPolledAt;
    const mark = await hubspotPolls();
    await expect.poll(hubspotPolls, within).not.toBe(mark);
    expect(h.salesforce!.sandbox.admin.listRecords('Contact')).toHaveLength(5);
    expect(h.salesforce!.sandbox.counters.snapshot().recordWrites.Contact ?? 0).toBe(sfWritesBefore + 1); // the user's delete only
    expect((await h.syncStatus(h.hubspot!.id)).stats.deletesApplied).toBe(0);
  });

  it('a deletion webhook from HubSpot deletes the Salesforce record, once the read confirms it is gone', async () => {
    const target = hubspotIdOf(h, 'del1@delete.example');
    const restored = hubspotIdOf(h, 'del2@delete.example');
    h.hubspot!.sandbox.admin.archive('contacts', target);
    // A stale deletion notice for a record that is still there must not delete anything.
    await h.notify(h.hubspot!.id, {
      events: [
        { objectType: 'contact', externalId: target, deleted: true, eventId: 'del-1' },
        { objectType: 'contact', externalId: restored, deleted: true, eventId: 'del-2' },
      ],
    });
    await expect.poll(() => h.salesforce!.sandbox.admin.listRecords('Contact').map((record) => record.Email).includes('del1@delete.example'), within).toBe(false);
    expect(h.salesforce!.sandbox.admin.listRecords('Contact').map((record) => record.Email)).toContain('del2@delete.example');
    expect(liveHubSpot(h).map((record) => record.properties.email)).toContain('del2@delete.example');
  });
});

describe('archive', () => {
  let h: SyncHarness;
  let sfIds: string[];
  beforeAll(async () => {
    ({ h, sfIds } = await syncedPair({ pollIntervalMs: 2000 }, 3)); // archive is the default policy
  });
  afterAll(async () => h?.stop());

  it('keeps the record in HubSpot, and an edit there no longer syncs (nothing re-created in Salesforce)', async () => {
    h.salesforce!.sandbox.admin.deleteRecord('Contact', sfIds[0] as string);
    await expect.poll(async () => (await h.syncStatus(h.salesforce!.id)).stats.deletesArchived, within).toBe(1);
    const kept = hubspotIdOf(h, 'del0@delete.example');
    expect(kept).toBeDefined();
    h.hubspot!.sandbox.admin.changeAsUser('contacts', kept, { jobtitle: 'Edited after the delete' });
    await h.notify(h.hubspot!.id, { events: [{ objectType: 'contact', externalId: kept, eventId: 'edit-archived' }] });
    await expect.poll(async () => (await h.syncStatus(h.hubspot!.id)).stats.refusedByPolicy, within).toBeGreaterThanOrEqual(1);
    expect(h.salesforce!.sandbox.admin.listRecords('Contact').map((record) => record.Email).sort()).toEqual(['del1@delete.example', 'del2@delete.example']);
  });
});

describe('mass-delete guard', () => {
  let h: SyncHarness;
  let sfIds: string[];
  beforeAll(async () => {
    const sync = { pollIntervalMs: 2000, deletePolicies: { contact: 'propagate' as const }, massDeleteGuard: { maxShare: 0.2, minDeletions: 5, windowMs: 3_600_000 } };
    ({ h, sfIds } = await syncedPair(sync, 20, 60));
  });
  afterAll(async () => h?.stop());

  it('holds a delete of half the records for approval, across continue-as-new, then applies it when approved', async () => {
    const handle = h.client.workflow.getHandle(h.syncWorkflowId(h.salesforce!.id));
    for (const id of sfIds.slice(0, 10)) h.salesforce!.sandbox.admin.deleteRecord('Contact', id);
    await expect.poll(async () => (await h.syncStatus(h.salesforce!.id)).state, within).toBe('awaiting-approval');
    const [held] = await handle.query(heldDeletionsQuery);
    expect(held).toMatchObject({ objectType: 'contact', count: 10 });
    expect(held?.reason).toMatch(/^10 of 20 synced records deleted/);
    expect(new Set(held?.sample)).toEqual(new Set(sfIds.slice(0, 10)));

    // Polls go on (the run continues as new every 60 events): the hold is carried, nothing deleted in HubSpot.
    const heldInRun = (await handle.describe()).runId;
    await expect.poll(async () => (await handle.describe()).runId, { timeout: 60_000, interval: 500 }).not.toBe(heldInRun);
    expect(await handle.query(heldDeletionsQuery)).toEqual([held]);
    expect((await h.syncStatus(h.salesforce!.id)).state).toBe('awaiting-approval');
    expect(liveHubSpot(h)).toHaveLength(20);

    const refused: unknown = await handle.executeUpdate(approveDeletionsUpdate, { args: [{ id: 'contact:999' }] }).catch((error: unknown) => error);
    expect((refused as { cause?: Error }).cause?.message).toMatch(/no held deletions "contact:999"; held now: contact:1/);
    expect(await handle.executeUpdate(approveDeletionsUpdate, { args: [{ id: held!.id }] })).toBe(10);
    await expect.poll(() => liveHubSpot(h).length, within).toBe(10);
    await expect.poll(async () => (await h.syncStatus(h.salesforce!.id)).state, within).toBe('running');
    expect((await h.syncStatus(h.salesforce!.id)).stats.deletesApplied).toBe(10);
    if (process.env.RECORD_HISTORIES === '1') {
      // The run that held, was handed the hold by continue-as-new and applied the approved deletions.
      const history = await handle.fetchHistory();
      const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product', 'connection-sync-deletions.json');
      await writeFile(file, historyToJSON(await decodeHistoryPayloads(history, h.payloadCodec)));
    }
  });

  it('an operator lists and rejects a hold with the CLI: nothing is deleted elsewhere', async () => {
    const env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` });
    const sf = h.salesforce!.id;
    for (const id of sfIds.slice(10, 16)) h.salesforce!.sandbox.admin.deleteRecord('Contact', id);
    await expect.poll(async () => (await h.syncStatus(sf)).state, within).toBe('awaiting-approval');
    const [listed, json, status, typo] = await Promise.all([
      runCli(['deletions', 'list', sf], env),
      runCli(['deletions', 'list', sf, '--json'], env),
      runCli(['sync', 'status', sf], env),
      runCli(['deletions', 'reject', sf, 'contact:999'], env),
    ]);
    const [held] = JSON.parse(json.stdout) as HeldDeletionsSummary[];
    expect(held).toMatchObject({ objectType: 'contact', count: 6 });
    expect(listed.stdout).toMatch(new RegExp(`^${held!.id}\\s+contact\\s+6\\s+\\S+\\s+6 of 10 synced records deleted`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^held deletions\\s+1\\s+\\(crm-sync deletions list ${sf}\\)$`, 'm'));
    expect([typo.code, oneLine(typo)]).toEqual([3, `crm-sync: no held deletions "contact:999" on ${sf}; held now: ${held!.id}`]);

    expect(await runCli(['deletions', 'reject', sf, held!.id], env)).toMatchObject({ code: 0, stdout: `6 deletions rejected (${held!.id})\n` });
    await expect.poll(async () => (await h.syncStatus(sf)).heldDeletions, within).toBe(0);
    expect(liveHubSpot(h)).toHaveLength(10);
    expect((await h.syncStatus(sf)).stats.deletesApplied).toBe(10);
  });
});

import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookChaos } from '../../src/sandbox/core/webhook-dispatcher';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { outboundMessage, salesforceOrgId } from '../webhooks/support';
import { chaosCount, chaosLarge, fieldChecksum, hubspotContactLine, salesforceContactLine } from './chaos-size';

/** Real changes per side and phase: creates on both sides, then updates of the records that came across. */
const REDUCED = 50;
const PER_SIDE = chaosCount('WEBHOOK_PER_SIDE', REDUCED, 1_000);
const large = chaosLarge(PER_SIDE, REDUCED);
/** At-least-once delivery at its worst: copies, overtaking and losses (recovered by polling). */
const CHAOS: WebhookChaos = { duplicateRate: 0.2, dropRate: 0.1, reorderJitterMs: 400 };
const within = { timeout: large ? 1_800_000 : 90_000, interval: 500 };

const settled = <T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> =>
  promise.then(
    (value) => ({ status: 'fulfilled', value }) as const,
    (reason: unknown) => ({ status: 'rejected', reason }) as const,
  );

const writes = (sandbox: { counters: { snapshot(): { recordWrites: Record<string, number> } } }, type: string): number => sandbox.counters.snapshot().recordWrites[type] ?? 0;

/**
 * Chaos 2 (issue #7): two-way live sync through the webhook shim while both sandboxes duplicate,
 * reorder and drop their deliveries, and forged deliveries (HubSpot's signed with the wrong secret, Salesforce's from another org) arrive
 * at the same time. Polling (2 s here) recovers what was dropped. Afterwards both CRMs hold the same
 * contacts, every forgery was refused with 401, and each CRM received exactly one sync write per
 * real change made in the other one: no echo, no ping-pong.
 */
describe('chaos: live sync under duplicated, reordered, dropped and forged webhooks', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      shim: true,
      sync: { objects: ['contact'], pollIntervalMs: 2_000, debounceMs: 100 },
      salesforce: { webhooks: { chaos: { ...CHAOS, seed: 3 }, retryDelaysMs: [500, 1000] } },
      hubspot: { webhooks: { chaos: { ...CHAOS, seed: 5 }, retryDelaysMs: [500, 1000] } },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /**
   * Deliveries with the right shape and headers, signed with a secret that is not the connection's,
   * one after another (each batch runs alongside the real deliveries). A connection the loaded
   * machine did not accept in time is tried again, as a sender would: only the shim's answer counts.
   */
  async function forge(count: number, ids: { salesforce: string[]; hubspot: string[] }): Promise<number[]> {
    const statuses: number[] = [];
    for (let n = 0; n < count; n += 1) {
      for (let attempt = 1; ; attempt += 1) {
        try {
          statuses.push(await forgeOne(n, ids));
          break;
        } catch (error) {
          if (attempt >= 3) throw error;
        }
      }
    }
    return statuses;
  }

  async function forgeOne(n: number, ids: { salesforce: string[]; hubspot: string[] }): Promise<number> {
    const wrongSecret = randomBytes(16).toString('hex');
    const timestamp = String(Date.now());
    if (n % 2 === 0) {
      // An Outbound Message from another org: the shape is right, the OrganizationId is not the connection's.
      const message = outboundMessage(salesforceOrgId(), [{ type: 'Contact', recordId: ids.salesforce[n % Math.max(1, ids.salesforce.length)] ?? '003000000000001AAA', fields: { FirstName: 'Forged' } }]);
      const response = await fetch(`${h.shimUrl}/webhooks/salesforce/${h.salesforce!.id}`, { method: 'POST', headers: message.headers, body: message.body });
      return response.status;
    }
    const url = `${h.shimUrl}/webhooks/hubspot/${h.hubspot!.id}`;
    const body = JSON.stringify([{ eventId: n, subscriptionId: 1, portalId: h.hubspot!.sandbox.portalId, appId: 1, occurredAt: Number(timestamp), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: Number(ids.hubspot[0] ?? 1), propertyName: 'firstname', propertyValue: 'Forged', changeSource: 'CRM_UI' }]);
    const signature = createHmac('sha256', wrongSecret).update(`POST${url}${body}${timestamp}`).digest('base64');
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp }, body });
    return response.status;
  }

  async function converged(expected: number): Promise<void> {
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    await expect.poll(() => [sf.sandbox.admin.listRecords('Contact').length, hs.sandbox.admin.listRecords('contacts').length], within).toEqual([expected, expected]);
    await expect
      .poll(() => fieldChecksum(hs.sandbox.admin.listRecords('contacts').map(hubspotContactLine)) === fieldChecksum(sf.sandbox.admin.listRecords('Contact').map(salesforceContactLine)), within)
      .toBe(true);
    // Quiet: nothing in flight, and a few poll intervals more bring no further write (no ping-pong).
    await Promise.all([sf.sandbox.webhooks.idle(), hs.sandbox.webhooks.idle()]);
    for (const id of [sf.id, hs.id]) await expect.poll(async () => (await h.syncStatus(id)).pending, within).toBe(0);
    const before = [writes(sf.sandbox, 'Contact'), writes(hs.sandbox, 'contacts')];
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect([writes(sf.sandbox, 'Contact'), writes(hs.sandbox, 'contacts')]).toEqual(before);
  }

  it(`converges ${(4 * PER_SIDE).toLocaleString('en')} real changes, refuses every forgery, and writes each change exactly once`, async () => {
    const started = Date.now();
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    await h.notify(sf.id);
    await h.notify(hs.id);

    // Phase 1: creates on both sides, interleaved, with forgeries arriving alongside.
    // Settled at once (a failed batch is reported at the end, not as an unhandled rejection).
    const forgedStatuses: Promise<PromiseSettledResult<number[]>>[] = [];
    const sfIds: string[] = [];
    const hsIds: string[] = [];
    for (let n = 0; n < PER_SIDE; n += 1) {
      sfIds.push(String(sf.sandbox.admin.createAsUser('Contact', { FirstName: `Sf${n}`, LastName: `Chaos${n}`, Email: `sf.chaos.${n}@example.com`, Title: 'Buyer' }).Id));
      hsIds.push(hs.sandbox.admin.createAsUser('contacts', { firstname: `Hs${n}`, lastname: `Chaos${n}`, email: `hs.chaos.${n}@example.com`, jobtitle: 'Seller' }).id);
      if (n % 10 === 0) forgedStatuses.push(settled(forge(4, { salesforce: sfIds, hubspot: hsIds })));
      if (n % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await converged(2 * PER_SIDE);
    const afterCreates = { salesforce: writes(sf.sandbox, 'Contact'), hubspot: writes(hs.sandbox, 'contacts') };
    // One sync write per create made in the other CRM. The Salesforce sandbox counts writes in its
    // store, its own users' included; HubSpot's counts writes through its API only.
    expect(afterCreates).toEqual({ salesforce: PER_SIDE + PER_SIDE, hubspot: PER_SIDE });

    // Phase 2: each side edits every record that came from the other side, once.
    const arrivedInSalesforce = sf.sandbox.admin.listRecords('Contact').filter((record) => String(record.Email).startsWith('hs.chaos.'));
    const arrivedInHubSpot = hs.sandbox.admin.listRecords('contacts').filter((record) => record.properties.email?.startsWith('sf.chaos.'));
    expect([arrivedInSalesforce.length, arrivedInHubSpot.length]).toEqual([PER_SIDE, PER_SIDE]);
    for (let n = 0; n < PER_SIDE; n += 1) {
      sf.sandbox.admin.editAsUser('Contact', String(arrivedInSalesforce[n]!.Id), { Title: `Edited in Salesforce ${n}` });
      hs.sandbox.admin.changeAsUser('contacts', arrivedInHubSpot[n]!.id, { jobtitle: `Edited in HubSpot ${n}` });
      if (n % 10 === 0) forgedStatuses.push(settled(forge(4, { salesforce: sfIds, hubspot: hsIds })));
      if (n % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await converged(2 * PER_SIDE);
    const afterEdits = { salesforce: writes(sf.sandbox, 'Contact'), hubspot: writes(hs.sandbox, 'contacts') };

    const batches = await Promise.all(forgedStatuses);
    expect(batches.filter((batch) => batch.status === 'rejected')).toEqual([]);
    const forged = batches.flatMap((batch) => (batch.status === 'fulfilled' ? batch.value : []));
    const deliveries = { salesforce: sf.sandbox.counters.snapshot().webhooks, hubspot: hs.sandbox.counters.snapshot().webhooks };
    console.log(`[chaos webhooks] ${4 * PER_SIDE} real changes converged in ${Date.now() - started} ms; ${forged.length} forged; deliveries ${JSON.stringify(deliveries)}`);

    // Every forgery refused, and the chaos really happened on both sides.
    expect(forged.length).toBeGreaterThan(0);
    expect(forged.every((status) => status === 401)).toBe(true);
    // (HubSpot batches events into fewer deliveries, so the chaos is counted over both sandboxes.)
    expect(deliveries.salesforce.dropped + deliveries.hubspot.dropped).toBeGreaterThan(0);
    expect(deliveries.salesforce.duplicated + deliveries.hubspot.duplicated).toBeGreaterThan(0);
    // Edits: again exactly one sync write per edit made in the other CRM (plus Salesforce's own users' edits).
    expect({ salesforce: afterEdits.salesforce - afterCreates.salesforce, hubspot: afterEdits.hubspot - afterCreates.hubspot }).toEqual({ salesforce: PER_SIDE + PER_SIDE, hubspot: PER_SIDE });
    // Both edits of a record survived: the Salesforce copy of a HubSpot contact carries HubSpot's title, and so on.
    const titles = new Set(sf.sandbox.admin.listRecords('Contact').map((record) => String(record.Title)));
    expect([...titles].filter((title) => title.startsWith('Edited in HubSpot')).length).toBe(PER_SIDE);
    expect([...titles].filter((title) => title.startsWith('Edited in Salesforce')).length).toBe(PER_SIDE);
  }, large ? 4 * 3_600_000 : 300_000);
});

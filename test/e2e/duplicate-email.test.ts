import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyToTargetResult, RecordOutcome } from '../../src/activities/apply-to-target';
import { parkedRecordsQuery } from '../../src/workflows/messages';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * HubSpot keeps one contact per email and refuses a second with 409 "Contact already exists.
 * Existing ID: N". A sync between Salesforce and HubSpot meets that in two ways: the same person
 * entered on both sides before the first sync, and a person created in HubSpot by someone else
 * while our create of them is on its way (after we looked for them there, before our create
 * lands). Either way HubSpot must end with one contact, linked to the Salesforce one, carrying the
 * values of both, and nothing parked. The second race is made deterministic by the sandbox: its
 * hook creates the contact in HubSpot just before it handles the write that creates it.
 */
describe('a contact whose email HubSpot already holds', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;

  const linkOf = async (connectionId: string, externalId: string): Promise<string | undefined> =>
    (await h.db.pool.query<{ canonical_id: string }>(`SELECT canonical_id FROM record_links WHERE connection_id = $1 AND object_type = 'contact' AND external_id = $2`, [connectionId, externalId]))
      .rows[0]?.canonical_id;
  const hubspotContactsWith = (email: string) => hs.sandbox.admin.listRecords('contacts').filter((record) => record.properties.email === email);
  const salesforceContactsWith = (email: string) => sf.sandbox.admin.listRecords('Contact').filter((record) => String(record.Email).toLowerCase() === email);
  const parked = async () => (await Promise.all([sf.id, hs.id].map((id) => h.client.workflow.getHandle(h.syncWorkflowId(id)).query(parkedRecordsQuery)))).flat();

  /**
   * Every apply outcome the Salesforce workflow received for one record, oldest first, from its
   * history (decoded with the worker's codec): a record parked and later rescued (by a retry, or
   * by the HubSpot direction linking the contact) ends the same, so only this shows it never failed.
   */
  async function applyOutcomesOf(salesforceId: string): Promise<RecordOutcome[]> {
    const history = await h.client.workflow.getHandle(h.syncWorkflowId(sf.id)).fetchHistory();
    const outcomes: RecordOutcome[] = [];
    for (const event of history.events ?? []) {
      const payloads = (event.activityTaskCompletedEventAttributes?.result?.payloads ?? []) as Payload[];
      for (const payload of await h.payloadCodec.decode(payloads)) {
        const result = defaultPayloadConverter.fromPayload<Partial<ApplyToTargetResult> | null>(payload);
        for (const outcome of result?.outcomes ?? []) if (outcome.sourceExternalId === salesforceId) outcomes.push(outcome);
      }
    }
    return outcomes;
  }

  /** Waits until the Salesforce contact and the one HubSpot contact with its email share a canonical record, and their values agree. */
  async function expectOneLinkedPair(email: string, salesforceId: string, merged: { salesforceTitle: string; hubspotPhone: string }): Promise<string> {
    await expect
      .poll(
        async () => {
          const [contact] = hubspotContactsWith(email);
          const salesforce = sf.sandbox.admin.getRecord('Contact', salesforceId);
          return {
            hubspotContacts: hubspotContactsWith(email).length,
            salesforceContacts: salesforceContactsWith(email).length,
            linked: contact !== undefined && (await linkOf(hs.id, contact.id)) !== undefined && (await linkOf(hs.id, contact.id)) === (await linkOf(sf.id, salesforceId)),
            salesforceTitle: salesforce?.Title,
            hubspotPhone: contact?.properties.phone,
          };
        },
        // A loaded 2-core machine: each direction polls every second, a round trip takes a few.
        { timeout: 45_000, interval: 250 },
      )
      .toEqual({ hubspotContacts: 1, salesforceContacts: 1, linked: true, ...merged });
    const [contact] = hubspotContactsWith(email);
    const canonicalId = await linkOf(sf.id, salesforceId);
    expect(contact?.properties.crm_sync_id).toBe(canonicalId);
    expect(await parked()).toEqual([]);
    return String(contact?.id);
  }

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      sync: { objects: ['contact'], pollIntervalMs: 1_000, debounceMs: 100 },
      // The sandboxes share this machine's clock: no skew for the lookback to cover.
      connectorDefaults: { lookbackMs: 2_000 },
    });
    sf = h.salesforce!;
    hs = h.hubspot!;
  }, 60_000);
  afterAll(async () => h?.stop());

  it('entered on both sides before the first sync: one HubSpot contact, linked, values of both', async () => {
    const salesforceId = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Both', Email: 'Ada.Both@Example.com', Phone: '+1 555 0101' }).Id);
    const hubspotId = hs.sandbox.admin.createAsUser('contacts', { firstname: 'Ada', lastname: 'Both', email: 'ada.both@example.com', jobtitle: 'Engineer' }).id;
    const startSync = (connectionId: string) =>
      h.client.workflow.start('connectionSync', { workflowId: h.syncWorkflowId(connectionId), taskQueue: h.taskQueue, args: [{ tenantId: h.tenantId, connectionId }] });
    await Promise.all([startSync(sf.id), startSync(hs.id)]);

    expect(await expectOneLinkedPair('ada.both@example.com', salesforceId, { salesforceTitle: 'Engineer', hubspotPhone: '+1 555 0101' })).toBe(hubspotId);
    expect((await applyOutcomesOf(salesforceId)).filter((outcome) => outcome.status === 'parked')).toEqual([]);
  }, 60_000);

  it('created in HubSpot while our create of it is in flight: the create meets it, links it and merges it', async () => {
    const email = 'grace.race@example.com';
    let createdMeanwhile: string | undefined;
    // Just before HubSpot handles our write carrying this email (after the sync looked for the
    // email there and found nothing), a person creates the contact in HubSpot.
    hs.sandbox.admin.beforeApiWrite(({ type, inputs }) => {
      if (type !== 'contacts' || !inputs.some((input) => String(input.email).toLowerCase() === email)) return false;
      createdMeanwhile = hs.sandbox.admin.createAsUser('contacts', { firstname: 'Grace', lastname: 'Race', email: 'Grace.Race@example.com', jobtitle: 'Admiral' }).id;
      return true;
    });
    const salesforceId = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Grace', LastName: 'Race', Email: email, Phone: '+1 555 0102' }).Id);

    const hubspotId = await expectOneLinkedPair(email, salesforceId, { salesforceTitle: 'Admiral', hubspotPhone: '+1 555 0102' });
    expect(createdMeanwhile).toBeDefined();
    expect(hubspotId).toBe(createdMeanwhile);
    expect(hs.sandbox.admin.getRecord('contacts', hubspotId)?.properties).toMatchObject({ firstname: 'Grace', lastname: 'Race', jobtitle: 'Admiral' });
    // The very apply whose create HubSpot refused linked the contact and wrote it: never parked.
    const outcomes = await applyOutcomesOf(salesforceId);
    expect(outcomes[0]).toMatchObject({ status: 'updated', matched: true, targetExternalId: hubspotId });
    expect(outcomes.filter((outcome) => outcome.status === 'parked')).toEqual([]);
  }, 60_000);
});

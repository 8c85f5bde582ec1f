import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectType } from '../../src/model/identifiers';
import { SANDBOX_SALES_USERS } from '../../src/sandbox/core/users';
import { RecordLinksRepository } from '../../src/store/record-links-repository';
import { applyDependencies } from '../support/apply-dependencies';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #14, owners: a deal and a task created in Salesforce with an owner every connection maps
 * reach HubSpot and Dynamics with that person as owner; an owner changed in HubSpot travels back;
 * an owner HubSpot's map does not name changes nothing anywhere (the rename made with it does).
 * Real workflows, the webhook shim, the sandboxes over HTTP; owner maps set as an operator sets
 * them, in each connection's stored mappingOverride.
 */

const [ada, grace, alan] = SANDBOX_SALES_USERS.map((user) => user.email) as [string, string, string];

describe('owners across Salesforce, HubSpot and Dynamics', () => {
  let h: SyncHarness;
  /** Each CRM's user id per email, as each vendor lists its users. */
  const userIds = { salesforce: new Map<string, string>(), hubspot: new Map<string, string>(), dynamics: new Map<string, string>() };

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot', 'dynamics'],
      shim: true,
      sync: { objects: ['company', 'contact', 'deal', 'activity'], pollIntervalMs: 1_000, debounceMs: 100 },
    });
    for (const user of h.salesforce!.sandbox.admin.listRecords('User')) userIds.salesforce.set(String(user.Email), String(user.Id));
    const owners = await fetch(`${h.hubspot!.sandbox.url}/crm/v3/owners`, { headers: { authorization: `Bearer ${h.hubspot!.sandbox.credentials.accessToken}` } });
    for (const owner of ((await owners.json()) as { results: { id: string; email: string }[] }).results) userIds.hubspot.set(owner.email, owner.id);
    for (const user of h.dynamics!.sandbox.admin.listRecords('systemusers')) userIds.dynamics.set(String(user.internalemailaddress), String(user.systemuserid));
    // Ada and Grace are mapped in every connection; Alan in none.
    for (const [provider, connection] of [['salesforce', h.salesforce!], ['hubspot', h.hubspot!], ['dynamics', h.dynamics!]] as const) {
      const ids = userIds[provider];
      const stored = await h.connectionsRepository.getConnection(connection.id);
      await h.connectionsRepository.updateSettings(connection.id, { ...stored!.settings, mappingOverride: { owners: { [ids.get(ada)!]: ada, [ids.get(grace)!]: grace } } });
    }
    for (const connection of [h.salesforce!, h.hubspot!, h.dynamics!]) await h.notify(connection.id);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const links = () => new RecordLinksRepository(h.db.pool);
  async function canonicalId(connectionId: string, objectType: ObjectType, externalId: string): Promise<string> {
    await expect.poll(async () => (await links().canonicalIdsOf(connectionId, objectType, [externalId])).size, { timeout: 120_000, interval: 500 }).toBe(1);
    return (await links().canonicalIdsOf(connectionId, objectType, [externalId])).get(externalId)!;
  }
  /** The owner a CRM holds for a canonical record, read through its connector (undefined: not there yet, or not mapped). */
  async function ownerIn(connectionId: string, objectType: ObjectType, canonical: string): Promise<unknown> {
    const externalId = (await links().externalIdsIn(connectionId, [canonical])).get(canonical);
    if (!externalId) return undefined;
    const connector = await applyDependencies(h).connectors.forConnection(connectionId);
    return (await connector.readRecords(objectType, [externalId]))[0]?.fields.owner;
  }
  async function externalIdIn(connectionId: string, canonical: string): Promise<string> {
    return (await links().externalIdsIn(connectionId, [canonical])).get(canonical)!;
  }

  it('carries mapped owners from Salesforce, brings a HubSpot owner change back, and ignores an unmapped owner', async () => {
    const sf = h.salesforce!.sandbox.admin;
    const sfUser = (email: string): string => userIds.salesforce.get(email)!;
    const opportunity = String(sf.createAsUser('Opportunity', { Name: 'Owned deal', StageName: 'Prospecting', CloseDate: '2027-03-31', OwnerId: sfUser(ada) }).Id);
    const task = String(sf.createAsUser('Task', { Subject: 'Owned task', WhatId: opportunity, Status: 'Not Started', Priority: 'Normal', OwnerId: sfUser(grace) }).Id);
    const deal = await canonicalId(h.salesforce!.id, 'deal', opportunity);
    const activity = await canonicalId(h.salesforce!.id, 'activity', task);

    for (const connection of [h.hubspot!, h.dynamics!]) {
      await expect.poll(() => ownerIn(connection.id, 'deal', deal), { timeout: 120_000, interval: 1_000 }).toBe(ada);
      await expect.poll(() => ownerIn(connection.id, 'activity', activity), { timeout: 120_000, interval: 1_000 }).toBe(grace);
    }
    // As each vendor holds it: its own user id for the same person.
    const hubspotDeal = await externalIdIn(h.hubspot!.id, deal);
    const dynamicsDeal = await externalIdIn(h.dynamics!.id, deal);
    expect(h.hubspot!.sandbox.admin.getRecord('deals', hubspotDeal)?.properties.hubspot_owner_id).toBe(userIds.hubspot.get(ada));
    expect(h.dynamics!.sandbox.admin.getRecord('opportunities', dynamicsDeal)?._ownerid_value).toBe(userIds.dynamics.get(ada));

    // Reassigned to Grace in HubSpot: Salesforce and Dynamics follow.
    h.hubspot!.sandbox.admin.changeAsUser('deals', hubspotDeal, { hubspot_owner_id: userIds.hubspot.get(grace)! });
    await expect.poll(() => sf.getRecord('Opportunity', opportunity)?.OwnerId, { timeout: 120_000, interval: 1_000 }).toBe(sfUser(grace));
    await expect.poll(() => h.dynamics!.sandbox.admin.getRecord('opportunities', dynamicsDeal)?._ownerid_value, { timeout: 120_000, interval: 1_000 }).toBe(userIds.dynamics.get(grace));

    // Reassigned to Alan, whom no map names, and renamed in the same edit: the rename travels, the owner does not.
    h.hubspot!.sandbox.admin.changeAsUser('deals', hubspotDeal, { hubspot_owner_id: userIds.hubspot.get(alan)!, dealname: 'Owned deal, renamed' });
    await expect.poll(() => sf.getRecord('Opportunity', opportunity)?.Name, { timeout: 120_000, interval: 1_000 }).toBe('Owned deal, renamed');
    await expect.poll(() => h.dynamics!.sandbox.admin.getRecord('opportunities', dynamicsDeal)?.name, { timeout: 120_000, interval: 1_000 }).toBe('Owned deal, renamed');
    expect(sf.getRecord('Opportunity', opportunity)?.OwnerId).toBe(sfUser(grace));
    expect(h.dynamics!.sandbox.admin.getRecord('opportunities', dynamicsDeal)?._ownerid_value).toBe(userIds.dynamics.get(grace));
    // HubSpot keeps the owner its user chose: nothing wrote Grace back over Alan.
    expect(h.hubspot!.sandbox.admin.getRecord('deals', hubspotDeal)?.properties.hubspot_owner_id).toBe(userIds.hubspot.get(alan));
  }, 600_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingReferencesRepository } from '../../src/store/pending-references-repository';
import { graphTools, type Ids } from '../support/crm-graph';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #14, acceptance 1: the whole graph (a company, three contacts, a deal on it with two of
 * them, one primary, and two activities on the deal and one contact each), created by a person in
 * one CRM, reaches the other two with the same links; a link removed in one CRM is removed in the
 * others; a link added alone (no field edited) travels by poll, and from HubSpot by its
 * association webhook. Real workflows, the webhook shim, the sandboxes over HTTP.
 *
 * Graphs are compared as canonical ids, read through each CRM's connector: what a vendor cannot
 * hold is documented in its connector's BEHAVIOR.md and left out of what it must show (`cannotHold`).
 */

describe('the whole CRM graph, live: Salesforce <-> HubSpot <-> Dynamics', () => {
  let h: SyncHarness;
  const connections = () => [h.salesforce!, h.hubspot!, h.dynamics!];
  const { canonicalIds, graphIn, expectEverywhere } = graphTools(() => h, connections);

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot', 'dynamics'],
      shim: true,
      // Polls often: association-only changes in Salesforce and Dataverse arrive by poll.
      sync: { objects: ['company', 'contact', 'deal', 'activity'], pollIntervalMs: 1_000, debounceMs: 100 },
    });
    for (const connection of connections()) await h.notify(connection.id);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('carries a graph made in Salesforce to HubSpot and Dynamics, a removed contact role, and a role added alone', async () => {
    const sf = h.salesforce!.sandbox.admin;
    const account = String(sf.createAsUser('Account', { Name: 'Graph Works', Website: 'https://graph-works.example' }).Id);
    const people = ['Ada', 'Grace', 'Edsger'].map((first) => String(sf.createAsUser('Contact', { FirstName: first, LastName: 'Graph', Email: `${first.toLowerCase()}@graph-works.example`, AccountId: account }).Id));
    const [ada, grace, edsger] = people as [string, string, string];
    const opportunity = String(sf.createAsUser('Opportunity', { Name: 'Graph deal', StageName: 'Prospecting', CloseDate: '2027-01-31', AccountId: account }).Id);
    sf.createAsUser('OpportunityContactRole', { OpportunityId: opportunity, ContactId: ada, IsPrimary: true });
    const graceRole = String(sf.createAsUser('OpportunityContactRole', { OpportunityId: opportunity, ContactId: grace }).Id);
    const call = String(sf.createAsUser('Task', { Subject: 'Discovery call', TaskSubtype: 'Call', WhoId: ada, WhatId: opportunity, Status: 'Not Started', Priority: 'Normal' }).Id);
    const task = String(sf.createAsUser('Task', { Subject: 'Send proposal', WhoId: grace, WhatId: opportunity, Status: 'Not Started', Priority: 'High' }).Id);

    const [company] = await canonicalIds(h.salesforce!.id, 'company', [account]);
    const contacts = await canonicalIds(h.salesforce!.id, 'contact', people);
    const [deal] = await canonicalIds(h.salesforce!.id, 'deal', [opportunity]);
    const activities = await canonicalIds(h.salesforce!.id, 'activity', [call, task]);
    const ids: Ids = { company: company!, contacts, deal: deal!, activities };
    const [adaId, graceId, edsgerId] = contacts as [string, string, string];
    const byActivity = { [activities[0]!]: [adaId], [activities[1]!]: [graceId] };
    await expectEverywhere(ids, { contacts: [adaId, graceId], primaryContact: adaId }, byActivity);

    // Grace's role removed in Salesforce: she leaves the deal everywhere.
    sf.deleteRecord('OpportunityContactRole', graceRole);
    await expectEverywhere(ids, { contacts: [adaId], primaryContact: adaId }, byActivity);

    // Edsger added alone (a role, no field of the deal edited): the next poll carries it.
    sf.createAsUser('OpportunityContactRole', { OpportunityId: opportunity, ContactId: edsger });
    await expectEverywhere(ids, { contacts: [adaId, edsgerId], primaryContact: adaId }, byActivity);
  }, 600_000);

  it('carries a graph made in HubSpot to Salesforce and Dynamics; a removed and an added association travel by webhook alone', async () => {
    const hs = h.hubspot!.sandbox.admin;
    const company = hs.createAsUser('companies', { name: 'Hub Graph', domain: 'hub-graph.example' }).id;
    const people = ['Barbara', 'Frances', 'Radia'].map((first) => hs.createAsUser('contacts', { firstname: first, lastname: 'Hub', email: `${first.toLowerCase()}@hub-graph.example` }).id);
    for (const person of people) hs.associateAsUser('contacts', person, 'companies', company, { primary: true });
    const [barbara, frances, radia] = people as [string, string, string];
    const dealId = hs.createAsUser('deals', { dealname: 'Hub deal', dealstage: 'appointmentscheduled', closedate: '2027-02-28T00:00:00.000Z' }).id;
    hs.associateAsUser('deals', dealId, 'companies', company, { primary: true });
    hs.associateAsUser('deals', dealId, 'contacts', barbara);
    hs.associateAsUser('deals', dealId, 'contacts', frances);
    const callId = hs.createAsUser('calls', { hs_call_title: 'Intro call', hs_timestamp: '2027-01-15T10:00:00.000Z' }).id;
    hs.associateAsUser('calls', callId, 'deals', dealId);
    hs.associateAsUser('calls', callId, 'contacts', barbara);
    const taskId = hs.createAsUser('tasks', { hs_task_subject: 'Pricing follow-up', hs_timestamp: '2027-01-15T10:00:00.000Z', hs_task_status: 'NOT_STARTED', hs_task_priority: 'MEDIUM' }).id;
    hs.associateAsUser('tasks', taskId, 'deals', dealId);
    hs.associateAsUser('tasks', taskId, 'contacts', frances);
    // Calls, emails and meetings carry their object in their id; tasks keep plain ids.
    const tasks = [`calls:${callId}`, taskId];

    const [companyId] = await canonicalIds(h.hubspot!.id, 'company', [company]);
    const contacts = await canonicalIds(h.hubspot!.id, 'contact', people);
    const [deal] = await canonicalIds(h.hubspot!.id, 'deal', [dealId]);
    const activities = await canonicalIds(h.hubspot!.id, 'activity', tasks);
    const ids: Ids = { company: companyId!, contacts, deal: deal!, activities };
    const [barbaraId, francesId, radiaId] = contacts as [string, string, string];
    const byActivity = { [activities[0]!]: [barbaraId], [activities[1]!]: [francesId] };
    // HubSpot marks no primary contact on a deal: the others hold none.
    await expectEverywhere(ids, { contacts: [barbaraId, francesId], primaryContact: null }, byActivity);

    // An association removed alone: HubSpot's stamps do not move, its associationChange webhook carries it.
    hs.dissociateAsUser('deals', dealId, 'contacts', frances);
    await expectEverywhere(ids, { contacts: [barbaraId], primaryContact: null }, byActivity);
    hs.associateAsUser('deals', dealId, 'contacts', radia);
    await expectEverywhere(ids, { contacts: [barbaraId, radiaId], primaryContact: null }, byActivity);
  }, 600_000);

  it('carries a graph made in Dynamics to Salesforce and HubSpot: stakeholders, primary contact, tasks regarding the deal', async () => {
    const dyn = h.dynamics!.sandbox.admin;
    const account = String(dyn.uiCreate('accounts', { name: 'Dyn Graph', websiteurl: 'https://dyn-graph.example' }).accountid);
    const people = ['Hedy', 'Katherine', 'Margaret'].map((first) =>
      String(dyn.uiCreate('contacts', { firstname: first, lastname: 'Dyn', emailaddress1: `${first.toLowerCase()}@dyn-graph.example`, 'parentcustomerid_account@odata.bind': `/accounts(${account})` }).contactid),
    );
    const [hedy, katherine, margaret] = people as [string, string, string];
    const stakeholderRole = String(dyn.listRecords('connectionroles').find((role) => role.name === 'Stakeholder')?.connectionroleid);
    const opportunity = String(dyn.uiCreate('opportunities', { name: 'Dyn deal', estimatedclosedate: '2027-03-31', crm_dealstage: 100000000, 'parentaccountid@odata.bind': `/accounts(${account})`, 'parentcontactid@odata.bind': `/contacts(${hedy})` }).opportunityid);
    const stakeholder = (contact: string) =>
      String(
        dyn.uiCreate('connections', {
          'record1id_opportunity@odata.bind': `/opportunities(${opportunity})`,
          'record2id_contact@odata.bind': `/contacts(${contact})`,
          'record2roleid@odata.bind': `/connectionroles(${stakeholderRole})`,
        }).connectionid,
      );
    stakeholder(hedy);
    const katherineLink = stakeholder(katherine);
    const phoneCall = String(
      dyn.uiCreate('phonecalls', {
        subject: 'Kick-off call',
        'regardingobjectid_opportunity_phonecall@odata.bind': `/opportunities(${opportunity})`,
        // To: the contact called (participation type 2).
        phonecall_activity_parties: [{ participationtypemask: 2, 'partyid_contact@odata.bind': `/contacts(${hedy})` }],
      }).activityid,
    );
    const tasks = [phoneCall, String(dyn.uiCreate('tasks', { subject: 'Contract review', 'regardingobjectid_opportunity_task@odata.bind': `/opportunities(${opportunity})` }).activityid)];

    const [company] = await canonicalIds(h.dynamics!.id, 'company', [account]);
    const contacts = await canonicalIds(h.dynamics!.id, 'contact', people);
    const [deal] = await canonicalIds(h.dynamics!.id, 'deal', [opportunity]);
    const activities = await canonicalIds(h.dynamics!.id, 'activity', tasks);
    const ids: Ids = { company: company!, contacts, deal: deal!, activities };
    const [hedyId, katherineId, margaretId] = contacts as [string, string, string];
    // The call names Hedy; a Dataverse task names no contacts, so the others' copy holds none.
    const noContacts = { [activities[0]!]: [hedyId], [activities[1]!]: [] };
    await expectEverywhere(ids, { contacts: [hedyId, katherineId], primaryContact: hedyId }, noContacts);

    // A stakeholder added alone (a connection record; the opportunity's row untouched): the next poll carries it.
    stakeholder(margaret);
    await expectEverywhere(ids, { contacts: [hedyId, katherineId, margaretId], primaryContact: hedyId }, noContacts);

    // One removed: the row is gone (no poll can see it); the Delete step's webhook, whose pre-image names the deal, carries it.
    dyn.uiDelete('connections', katherineLink);
    await expectEverywhere(ids, { contacts: [hedyId, margaretId], primaryContact: hedyId }, noContacts);
  }, 600_000);

  it('lands a deal whose contact Salesforce and Dynamics refuse, its link waiting, and writes the link once the contact is fixed and lands', async () => {
    const hs = h.hubspot!.sandbox.admin;
    const pending = new PendingReferencesRepository(h.db.pool);
    // A job title longer than Salesforce's Contact.Title (128) and Dataverse's jobtitle (100): the contact is parked in both.
    const ok = hs.createAsUser('contacts', { firstname: 'Alan', lastname: 'Parked', email: 'alan@parked.example' }).id;
    const refused = hs.createAsUser('contacts', { firstname: 'Joan', lastname: 'Parked', email: 'joan@parked.example', jobtitle: 'Head of '.repeat(20) }).id;
    const dealId = hs.createAsUser('deals', { dealname: 'Parked deal', dealstage: 'appointmentscheduled', closedate: '2027-04-30T00:00:00.000Z' }).id;
    hs.associateAsUser('deals', dealId, 'contacts', ok);
    hs.associateAsUser('deals', dealId, 'contacts', refused);
    const [okId, refusedId] = await canonicalIds(h.hubspot!.id, 'contact', [ok, refused]);
    const [deal] = await canonicalIds(h.hubspot!.id, 'deal', [dealId]);
    const targets = [h.salesforce!.id, h.dynamics!.id];
    const dealContactsIn = async (connectionId: string) => (await graphIn(connectionId, { company: '', contacts: [], deal: deal!, activities: [] })).deal.contacts;
    const waiting = async (connectionId: string) => (await pending.list({ tenantId: h.tenantId, targetConnectionId: connectionId })).map((row) => [row.holderCanonicalId, row.slot, row.relatedCanonicalId]);

    // The deal lands with Alan; Joan's link waits for her.
    for (const target of targets) {
      await expect.poll(() => dealContactsIn(target), { timeout: 120_000, interval: 1_000 }).toEqual([okId]);
      await expect.poll(() => waiting(target), { timeout: 60_000, interval: 500 }).toEqual([[deal, 'contacts', refusedId]]);
    }

    // Fixed in HubSpot: Joan lands, and the deal's link with her.
    hs.changeAsUser('contacts', refused, { jobtitle: 'Head of Research' });
    for (const target of targets) {
      await expect.poll(() => dealContactsIn(target), { timeout: 120_000, interval: 1_000 }).toEqual([okId, refusedId].sort());
      expect(await waiting(target)).toEqual([]);
    }
  }, 600_000);
});


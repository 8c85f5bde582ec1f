import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphTools } from '../support/crm-graph';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/**
 * Issue #14, acceptance 2: the same graph made in Pipedrive and in Zoho reaches the other four.
 * Pipedrive and Zoho changes arrive by poll (their webhooks are exercised in test/webhooks).
 */
describe('the whole CRM graph, live, across all five CRMs: made in Pipedrive and in Zoho', () => {
  let h: SyncHarness;
  const connections = () => [h.salesforce!, h.hubspot!, h.dynamics!, h.pipedrive!, h.zoho!];
  const { canonicalIds, expectEverywhere } = graphTools(() => h, connections);

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot', 'dynamics', 'pipedrive', 'zoho'],
      shim: true,
      sync: { objects: ['company', 'contact', 'deal', 'activity'], pollIntervalMs: 1_000, debounceMs: 100 },
    });
    for (const connection of connections()) await h.notify(connection.id);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('carries a graph made in Pipedrive to the other four', async () => {
    const pd = h.pipedrive!.sandbox;
    const org = String(pd.admin.createAsUser('organizations', { name: 'Pipe Graph' }).id);
    const people = ['Lynn', 'Mary', 'Shafi'].map((first) => String(pd.admin.createAsUser('persons', { name: `${first} Pipe`, first_name: first, last_name: 'Pipe', emails: [{ value: `${first.toLowerCase()}@pipe-graph.example`, primary: true, label: 'work' }], org_id: Number(org) }).id));
    const [lynn, mary] = people as [string, string, string];
    const deal = String(pd.admin.createAsUser('deals', { title: 'Pipe deal', org_id: Number(org), person_id: Number(lynn), stage_id: 1, expected_close_date: '2027-05-31' }).id);
    // Mary joins as a participant, as a person would add her in the deal's side panel (through the API: the sandbox has no UI path for it).
    const added = await fetch(`${pd.url}/v1/deals/${deal}/participants`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-token': pd.credentials.apiToken ?? '' }, body: JSON.stringify({ person_id: Number(mary) }) });
    expect(added.status).toBe(200);
    // A participant added alone does not move the deal's update_time (docs/architecture.md, "Associations"): had a
    // poll read the deal in between, only its next edit would carry Mary. A person finishing the deal edits it.
    pd.admin.changeAsUser('deals', Number(deal), { value: 12_000, currency: 'USD' });
    const call = String(pd.admin.createAsUser('activities', { subject: 'Pipe call', type: 'call', deal_id: Number(deal), due_date: '2027-01-20', due_time: '10:00', participants: [{ person_id: Number(lynn), primary: true }] }).id);
    const task = String(pd.admin.createAsUser('activities', { subject: 'Pipe task', type: 'task', deal_id: Number(deal), due_date: '2027-01-21', participants: [{ person_id: Number(mary), primary: true }] }).id);

    const [company] = await canonicalIds(h.pipedrive!.id, 'company', [org]);
    const contacts = await canonicalIds(h.pipedrive!.id, 'contact', people);
    const [dealId] = await canonicalIds(h.pipedrive!.id, 'deal', [deal]);
    const activities = await canonicalIds(h.pipedrive!.id, 'activity', [call, task]);
    const [lynnId, maryId] = contacts as [string, string, string];
    await expectEverywhere({ company: company!, contacts, deal: dealId!, activities }, { contacts: [lynnId, maryId], primaryContact: lynnId }, { [activities[0]!]: [lynnId], [activities[1]!]: [maryId] });
  }, 600_000);

  it('carries a graph made in Zoho to the other four', async () => {
    const zoho = h.zoho!.sandbox.admin;
    const account = String(zoho.createAsUser('Accounts', { Account_Name: 'Zoho Graph', Website: 'https://zoho-graph.example' }).id);
    const people = ['Adele', 'Jean', 'Sophie'].map((first) => String(zoho.createAsUser('Contacts', { First_Name: first, Last_Name: 'Zoho', Email: `${first.toLowerCase()}@zoho-graph.example`, Account_Name: { id: account } }).id));
    const [adele, jean] = people as [string, string, string];
    const deal = String(zoho.createAsUser('Deals', { Deal_Name: 'Zoho deal', Stage: 'Qualification', Closing_Date: '2027-06-30', Account_Name: { id: account }, Contact_Name: { id: adele } }).id);
    zoho.setContactRoleAsUser(deal, jean);
    // A Contact Role added alone does not move the deal's Modified_Time (Z25): had a poll read the deal in
    // between, only its next edit would carry Jean. A person finishing the deal edits it.
    zoho.changeAsUser('Deals', deal, { Amount: 12_000 });
    const call = String(zoho.createAsUser('Calls', { Subject: 'Zoho call', Call_Type: 'Outbound', Call_Start_Time: '2027-01-22T10:00:00+00:00', What_Id: { id: deal }, $se_module: 'Deals', Who_Id: { id: adele } }).id);
    const task = String(zoho.createAsUser('Tasks', { Subject: 'Zoho task', Due_Date: '2027-01-23', What_Id: { id: deal }, $se_module: 'Deals', Who_Id: { id: jean } }).id);

    const [company] = await canonicalIds(h.zoho!.id, 'company', [account]);
    const contacts = await canonicalIds(h.zoho!.id, 'contact', people);
    const [dealId] = await canonicalIds(h.zoho!.id, 'deal', [deal]);
    const activities = await canonicalIds(h.zoho!.id, 'activity', [`Calls:${call}`, task]);
    const [adeleId, jeanId] = contacts as [string, string, string];
    await expectEverywhere({ company: company!, contacts, deal: dealId!, activities }, { contacts: [adeleId, jeanId], primaryContact: adeleId }, { [activities[0]!]: [adeleId], [activities[1]!]: [jeanId] });
  }, 600_000);
});

import { v1, v2 } from 'pipedrive';
import { afterEach, describe, expect, it } from 'vitest';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../src/sandbox/pipedrive';

/**
 * Pipedrive's own Node client (`pipedrive`, v2 API classes) as referee: every call below is the
 * client's, over real HTTP, against the sandbox. Where the two disagree the sandbox is wrong
 * unless Pipedrive's documentation says otherwise (docs/sandbox-fidelity.md).
 */

/** What the client rejects with: its error interceptor hands back the response body. */
async function refusal(call: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('the call succeeded');
}

describe('referee: pipedrive client (v2) against the Pipedrive sandbox', () => {
  let pd: PipedriveSandbox | undefined;
  afterEach(async () => pd?.stop());

  it('obtains an OAuth token through the client\'s own refresh, calls with it, and surfaces the 401 once it expires', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const oauth = new v2.OAuth2Configuration({ clientId: pd.credentials.clientId, clientSecret: pd.credentials.clientSecret, redirectUri: 'http://localhost/callback', host: pd.url });
    // A stored refresh token and an access token already past its time: the client refreshes before the first call.
    oauth.updateToken({ access_token: 'stale', refresh_token: pd.credentials.refreshToken, expires_in: -1, token_type: 'Bearer', scope: 'base', api_domain: pd.url });
    const persons = new v2.PersonsApi(new v2.Configuration({ accessToken: oauth.getAccessToken, basePath: `${pd.url}/api/v2` }));
    const created = await persons.addPerson({ AddPersonRequest: { name: 'Ada Lovelace' } });
    expect(created).toMatchObject({ success: true, data: { name: 'Ada Lovelace' } });
    expect(pd.admin.tokenGrants()).toBe(1);
    // The client takes the API base from the token's api_domain.
    expect(oauth.basePath).toBe(`${pd.url}/api/v2`);

    pd.admin.expireTokens();
    const id = created.data?.id as number;
    expect(await refusal(persons.getPerson({ id }))).toMatchObject({ success: false, error: 'unauthorized access', errorCode: 401 });
    await oauth.tokenRefresh();
    expect((await persons.getPerson({ id })).data).toMatchObject({ name: 'Ada Lovelace' });
    expect(pd.admin.tokenGrants()).toBe(2);
  });

  it('creates, gets, updates, upserts (search then write), lists with filters and paging, searches and deletes', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const config = new v2.Configuration({ apiKey: pd.credentials.apiToken, basePath: `${pd.url}/api/v2` });
    const persons = new v2.PersonsApi(config);
    const organizations = new v2.OrganizationsApi(config);
    const deals = new v2.DealsApi(config);
    const activities = new v2.ActivitiesApi(config);

    const acme = (await organizations.addOrganization({ AddOrganizationRequest: { name: 'Acme', address: { value: '1 Main St, Springfield', locality: 'Springfield', postal_code: '12345' } } })).data;
    const other = (await organizations.addOrganization({ AddOrganizationRequest: { name: 'Globex' } })).data;
    // v2 organizations carry the address as an object, not a string.
    expect(acme?.address).toEqual({ value: '1 Main St, Springfield', locality: 'Springfield', postal_code: '12345' });
    const acmeId = acme?.id as number;

    const ada = (await persons.addPerson({ AddPersonRequest: { name: 'Ada Lovelace', org_id: acmeId, emails: [{ value: 'ada@acme.example', primary: true, label: 'work' }] } })).data;
    const adaId = ada?.id as number;
    for (let index = 0; index < 4; index += 1) await persons.addPerson({ AddPersonRequest: { name: `Acme ${index}`, org_id: acmeId } });
    await persons.addPerson({ AddPersonRequest: { name: 'Hank Scorpio', org_id: other?.id as number } });

    expect((await persons.getPerson({ id: adaId })).data).toMatchObject({ id: adaId, name: 'Ada Lovelace', org_id: acmeId, emails: [{ value: 'ada@acme.example', primary: true, label: 'work' }] });
    expect((await persons.updatePerson({ id: adaId, UpdatePersonRequest: { job_title: 'CTO' } })).data).toMatchObject({ id: adaId, job_title: 'CTO' });

    // Upsert by email, the documented way without a native upsert: exact search, then PATCH or POST.
    const upsert = async (email: string, name: string): Promise<number> => {
      const found = (await persons.searchPersons({ term: email, fields: 'email', exact_match: true })).data?.items ?? [];
      const id = found[0]?.item?.id;
      if (id !== undefined) return (await persons.updatePerson({ id, UpdatePersonRequest: { name } })).data?.id as number;
      return (await persons.addPerson({ AddPersonRequest: { name, emails: [{ value: email, primary: true, label: 'work' }] } })).data?.id as number;
    };
    expect(await upsert('ada@acme.example', 'Ada King')).toBe(adaId);
    const grace = await upsert('grace@navy.example', 'Grace Hopper');
    expect(grace).not.toBe(adaId);

    // org_id filters: five Acme people, paged two at a time through next_cursor, nobody else's.
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await persons.getPersons({ org_id: acmeId, limit: 2, sort_by: 'id', sort_direction: 'asc', ...(cursor ? { cursor } : {}) });
      seen.push(...(page.data ?? []).map((person) => person.id as number));
      cursor = page.additional_data?.next_cursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect(seen[0]).toBe(adaId);

    const deal = (await deals.addDeal({ AddDealRequest: { title: 'Acme renewal', org_id: acmeId, person_id: adaId, value: 5000 } })).data;
    await deals.addDeal({ AddDealRequest: { title: 'Globex pilot', org_id: other?.id as number } });
    const dealId = deal?.id as number;
    expect((await deals.getDeals({ org_id: acmeId })).data?.map((item) => item.id)).toEqual([dealId]);
    expect((await deals.getDeals({ person_id: adaId })).data?.map((item) => item.id)).toEqual([dealId]);
    // deal_id on persons: the persons linked to that deal.
    expect((await persons.getPersons({ deal_id: dealId })).data?.map((person) => person.id)).toEqual([adaId]);

    // v2 refuses an activity's person_id: the person is set through a primary participant [P17].
    const readOnly = await refusal(activities.addActivity({ AddActivityRequest: { subject: 'Kick-off', deal_id: dealId, person_id: adaId } }));
    expect(readOnly).toMatchObject({ success: false, code: 'ERR_BAD_REQUEST', error: expect.stringContaining("'person_id' is a read-only field") as unknown });
    const call = (await activities.addActivity({ AddActivityRequest: { subject: 'Kick-off', deal_id: dealId, participants: [{ person_id: adaId, primary: true }] } })).data;
    expect(call).toMatchObject({ person_id: adaId, participants: [{ person_id: adaId, primary_flag: true }] });
    expect((await activities.getActivities({ person_id: adaId })).data?.map((activity) => activity.id)).toEqual([call?.id]);
    await activities.addActivity({ AddActivityRequest: { subject: 'Unrelated', done: true } });
    expect((await activities.getActivities({ deal_id: dealId })).data?.map((activity) => activity.id)).toEqual([call?.id]);
    expect((await activities.getActivities({ done: true })).data?.map((activity) => activity.subject)).toEqual(['Unrelated']);

    // Search: persons scoped to an organization; organizations by address; deals by status.
    const scoped = await persons.searchPersons({ term: 'Acme', fields: 'name', organization_id: acmeId });
    expect(scoped.data?.items?.map((entry) => entry.item?.name).sort()).toEqual(['Acme 0', 'Acme 1', 'Acme 2', 'Acme 3']);
    const byAddress = await organizations.searchOrganization({ term: 'Springfield', fields: 'address' });
    expect(byAddress.data?.items?.map((entry) => entry.item)).toEqual([expect.objectContaining({ id: acmeId, address: '1 Main St, Springfield' })]);
    expect((await deals.searchDeals({ term: 'renewal', status: 'open', organization_id: acmeId })).data?.items?.map((entry) => entry.item?.id)).toEqual([dealId]);

    expect(await persons.deletePerson({ id: grace })).toEqual({ success: true, data: { id: grace } });
    expect(await refusal(persons.getPerson({ id: grace }))).toMatchObject({ success: false, error: 'Person not found' });
  });

  it('surfaces the documented 400 body for a bad request', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const deals = new v2.DealsApi(new v2.Configuration({ apiKey: pd.credentials.apiToken, basePath: `${pd.url}/api/v2` }));
    const missing = await refusal(deals.addDeal({ AddDealRequest: { value: 10 } as v2.AddDealRequest }));
    expect(missing).toMatchObject({ success: false, error: expect.stringContaining("'title' is required") as unknown, data: null, additional_data: null });
    const badLimit = await refusal(deals.getDeals({ limit: 501 }));
    expect(badLimit).toMatchObject({ success: false, error: expect.stringContaining('limit') as unknown });
  });

  // The client's v2 models require an organization's name and a deal's title, and nothing of a person [P9].
  it('creates a person without a name, as the v2 request model allows, and refuses an organization without one', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const configuration = new v2.Configuration({ apiKey: pd.credentials.apiToken, basePath: `${pd.url}/api/v2` });
    const persons = new v2.PersonsApi(configuration);
    const nameless = await persons.addPerson({ AddPersonRequest: { emails: [{ value: 'nameless@example.com', primary: true }] } });
    expect(nameless).toMatchObject({ success: true, data: { emails: [expect.objectContaining({ value: 'nameless@example.com' })] } });
    const organizations = new v2.OrganizationsApi(configuration);
    const missing = await refusal(organizations.addOrganization({ AddOrganizationRequest: { owner_id: 1 } as v2.AddOrganizationRequest }));
    expect(missing).toMatchObject({ success: false, error: expect.stringContaining("'name' is required") as unknown, data: null, additional_data: null });
  });

  // Deal participants are v1 only [P13]; the v1 client's DealsApi over the same sandbox.
  it('adds, lists (offset paging), and deletes deal participants, and logs both in the participants changelog', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const deals1 = new v1.DealsApi(new v1.Configuration({ apiKey: pd.credentials.apiToken, basePath: `${pd.url}/v1` }));
    const config = new v2.Configuration({ apiKey: pd.credentials.apiToken, basePath: `${pd.url}/api/v2` });
    const persons = new v2.PersonsApi(config);
    const deals = new v2.DealsApi(config);
    const ids: number[] = [];
    for (const name of ['Ada', 'Grace', 'Edsger']) ids.push((await persons.addPerson({ AddPersonRequest: { name } })).data?.id as number);
    const dealId = (await deals.addDeal({ AddDealRequest: { title: 'Pilot', person_id: ids[0] } })).data?.id as number;
    const before = (await deals.getDeal({ id: dealId })).data?.update_time;

    const added = await deals1.addDealParticipant({ id: dealId, AddDealParticipantRequest: { person_id: ids[1] as number } });
    expect(added).toMatchObject({ success: true, data: { id: expect.any(Number) as unknown, person_id: { value: ids[1] }, related_item_type: 'deal', related_item_id: dealId } });
    await deals1.addDealParticipant({ id: dealId, AddDealParticipantRequest: { person_id: ids[2] as number } });
    const page = await deals1.getDealParticipants({ id: dealId, start: 0, limit: 1 });
    expect(page.data?.map((participant) => participant.person_id?.value)).toEqual([ids[1]]);
    expect(page.additional_data).toEqual({ start: 0, limit: 1, more_items_in_collection: true });
    const withCount = await deals.getDeal({ id: dealId, include_fields: 'participants_count' });
    expect(withCount.data).toMatchObject({ participants_count: 2, person_id: ids[0] });

    const removed = await deals1.deleteDealParticipant({ id: dealId, deal_participant_id: added.data?.id as number });
    expect(removed).toEqual({ success: true, data: { id: added.data?.id } });
    expect((await deals1.getDealParticipants({ id: dealId })).data?.map((participant) => participant.person_id?.value)).toEqual([ids[2]]);
    const log = await deals1.getDealParticipantsChangelog({ id: dealId });
    expect(log.data?.map((entry) => [entry.action, entry.person_id])).toEqual([['added', ids[1]], ['added', ids[2]], ['removed', ids[1]]]);
    // The sandbox's choice where the facts are silent: a participant change leaves the deal's update_time (BEHAVIOR.md).
    expect((await deals.getDeal({ id: dealId })).data?.update_time).toBe(before);
    // persons?deal_id= lists the deal's person and its participants [P6].
    expect((await persons.getPersons({ deal_id: dealId })).data?.map((person) => person.id).sort()).toEqual([ids[0], ids[2]].sort());
  });
});

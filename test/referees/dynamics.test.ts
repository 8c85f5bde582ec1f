import { DynamicsWebApi } from 'dynamics-web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startDynamicsSandbox, type DynamicsSandbox } from '../../src/sandbox/dynamics';

/**
 * The community's Dataverse Web API client (`dynamics-web-api` 2.x) as referee: every call below is
 * the client's, over real HTTP, against the sandbox. Where the two disagree the sandbox is wrong
 * unless Microsoft's documentation says otherwise (docs/sandbox-fidelity.md).
 */

interface Contact {
  contactid?: string;
  firstname?: string | null;
  lastname?: string | null;
  emailaddress1?: string | null;
  jobtitle?: string | null;
  '@odata.etag'?: string;
}

/** What the client rejects with: its error carries the HTTP status and Dataverse's error body. */
async function refusal(call: Promise<unknown>): Promise<{ status?: number; code?: string; message?: string }> {
  try {
    await call;
  } catch (error) {
    return error as { status?: number; code?: string; message?: string };
  }
  throw new Error('the call succeeded');
}

/**
 * Client credentials at the sandbox's Entra token endpoint, cached until told to refresh: the client
 * asks its onTokenRefresh callback before every request (its token flow), the callback hands a
 * cached token back as an application would.
 */
function tokenSource(sandbox: DynamicsSandbox): { onTokenRefresh: () => Promise<string>; grants: () => number; forget: () => void } {
  let grants = 0;
  let cached: string | undefined;
  return {
    grants: () => grants,
    forget: () => {
      cached = undefined;
    },
    onTokenRefresh: async () => {
      if (cached) return cached;
      const { clientId, clientSecret, scope } = sandbox.credentials;
      const response = await fetch(sandbox.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId ?? '', client_secret: clientSecret ?? '', scope: scope ?? '' }) });
      const body = (await response.json()) as { access_token?: string; token_type?: string };
      if (!body.access_token || body.token_type !== 'Bearer') throw new Error(`no token: ${JSON.stringify(body)}`);
      grants += 1;
      cached = body.access_token;
      return cached;
    },
  };
}

describe('referee: dynamics-web-api against the Dynamics sandbox', () => {
  let sandbox: DynamicsSandbox | undefined;
  afterEach(async () => sandbox?.stop());

  async function start(): Promise<{ api: DynamicsWebApi; tokens: ReturnType<typeof tokenSource>; sandbox: DynamicsSandbox }> {
    sandbox = await startDynamicsSandbox({});
    const tokens = tokenSource(sandbox);
    return { api: new DynamicsWebApi({ serverUrl: sandbox.url, dataApi: { version: '9.2' }, onTokenRefresh: tokens.onTokenRefresh }), tokens, sandbox };
  }

  it('calls with the token its callback supplies, surfaces the 401 of an expired one, and recovers with a new one', async () => {
    const { api, tokens, sandbox: dynamics } = await start();
    const id = await api.create<Contact, string>({ collection: 'contacts', data: { lastname: 'Lovelace' } });
    expect(tokens.grants()).toBe(1);
    dynamics.admin.expireTokens();
    expect(await refusal(api.retrieve({ collection: 'contacts', key: id }))).toMatchObject({ status: 401, message: 'The access token expired.' });
    tokens.forget();
    expect(await api.retrieve<Contact>({ collection: 'contacts', key: id, select: ['lastname'] })).toMatchObject({ contactid: id, lastname: 'Lovelace' });
    expect(tokens.grants()).toBe(2);
  });

  it('creates, gets, updates, upserts by alternate key, batches, counts, lists with filters and paging, searches and deletes', async () => {
    const { api } = await start();
    const adaId = await api.create<Contact, string>({ collection: 'contacts', data: { firstname: 'Ada', lastname: 'Lovelace', emailaddress1: 'ada@acme.example' } });
    expect(adaId).toMatch(/^[0-9a-f-]{36}$/);
    const ada = await api.retrieve<Contact>({ collection: 'contacts', key: adaId, select: ['firstname', 'lastname', 'emailaddress1'] });
    expect(ada).toMatchObject({ contactid: adaId, firstname: 'Ada', lastname: 'Lovelace', emailaddress1: 'ada@acme.example', '@odata.etag': expect.stringMatching(/^W\/"\d+"$/) as unknown });

    const updated = await api.update<Contact, Contact>({ collection: 'contacts', key: adaId, data: { jobtitle: 'Countess' }, returnRepresentation: true, select: ['jobtitle'] });
    expect(updated).toMatchObject({ jobtitle: 'Countess' });

    // Upsert by the emailaddress1 alternate key: an update for Ada, a create for Grace.
    await api.upsert<Contact>({ collection: 'contacts', key: "emailaddress1='ada@acme.example'", data: { lastname: 'King' } });
    expect(await api.retrieve<Contact>({ collection: 'contacts', key: adaId, select: ['lastname'] })).toMatchObject({ lastname: 'King' });
    const grace = await api.upsert<Contact, Contact>({ collection: 'contacts', key: "emailaddress1='grace@navy.example'", data: { firstname: 'Grace', lastname: 'Hopper' }, returnRepresentation: true });
    expect(grace).toMatchObject({ emailaddress1: 'grace@navy.example', lastname: 'Hopper' });

    // A change set through the client's batch: one update and one create, both applied.
    api.startBatch();
    void api.update({ collection: 'contacts', key: adaId, data: { jobtitle: 'Analyst' } });
    void api.create({ collection: 'contacts', data: { firstname: 'Alan', lastname: 'Turing' } });
    const results: unknown[] = await api.executeBatch({ inChangeSet: true });
    const [patched, turingId] = results;
    expect(patched).toBe(true);
    expect(turingId).toMatch(/^[0-9a-f-]{36}$/);

    // `/contacts/$count`, bare and filtered.
    expect(await api.count({ collection: 'contacts' })).toBe(3);
    expect(await api.countAll({ collection: 'contacts', filter: "startswith(lastname,'H')" })).toBe(1);

    // A filtered, ordered list one row per page, followed through @odata.nextLink.
    const first = await api.retrieveMultiple<Contact>({ collection: 'contacts', select: ['lastname'], filter: 'statecode eq 0', orderBy: ['lastname asc'], maxPageSize: 1, count: true });
    expect(first.value.map((row) => row.lastname)).toEqual(['Hopper']);
    expect(first.oDataCount).toBe(3);
    const names = [...first.value.map((row) => row.lastname)];
    let next = first.oDataNextLink;
    while (next) {
      const page = await api.retrieveMultiple<Contact>({ collection: 'contacts', maxPageSize: 1 }, next);
      names.push(...page.value.map((row) => row.lastname));
      next = page.oDataNextLink;
    }
    expect(names).toEqual(['Hopper', 'King', 'Turing']);
    expect((await api.retrieveAll<Contact>({ collection: 'contacts', select: ['lastname'], maxPageSize: 2 })).value).toHaveLength(3);

    // Search as the Web API offers it: contains/startswith in $filter.
    const found = await api.retrieveMultiple<Contact>({ collection: 'contacts', select: ['emailaddress1'], filter: "contains(emailaddress1,'navy')" });
    expect(found.value.map((row) => row.emailaddress1)).toEqual(['grace@navy.example']);

    expect(await api.deleteRecord({ collection: 'contacts', key: turingId as string })).toBe(true);
    expect(await refusal(api.retrieve({ collection: 'contacts', key: turingId as string }))).toMatchObject({ status: 404, code: '0x80040217' });
  });

  it('surfaces the documented errors: an unknown column in a query and in a body; a create-only upsert of an existing key is refused', async () => {
    const { api } = await start();
    const id = await api.create<Contact, string>({ collection: 'contacts', data: { lastname: 'Lovelace', emailaddress1: 'ada@acme.example' } });
    expect(await refusal(api.retrieveMultiple({ collection: 'contacts', filter: 'nosuchcolumn eq 1' }))).toMatchObject({
      status: 400,
      code: '0x80060888',
      message: "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.contact'.",
    });
    expect(await refusal(api.create({ collection: 'contacts', data: { lastname: 'X', nosuchcolumn: 1 } }))).toMatchObject({ status: 400, message: expect.stringContaining("The property 'nosuchcolumn' does not exist") as unknown });
    // If-None-Match: * on an existing key is a 412, which the client reports as a null result (its documented "no update").
    expect(await api.upsert({ collection: 'contacts', key: "emailaddress1='ada@acme.example'", data: { lastname: 'Again' }, ifnonematch: '*' })).toBeNull();
    expect(await api.retrieve<Contact>({ collection: 'contacts', key: id, select: ['lastname'] })).toMatchObject({ lastname: 'Lovelace' });
  });
  it('registers a webhook as the Plugin Registration Tool does: endpoint, step on a filter, pre-image; refuses deleting a used endpoint', async () => {
    const { api } = await start();
    const endpointId = await api.create<Record<string, unknown>, string>({ collection: 'serviceendpoints', data: { name: 'crm-sync', contract: 8, url: 'https://hooks.example/dynamics', authtype: 4, authvalue: 'key' } });
    const [message] = (await api.retrieveMultiple<{ sdkmessageid: string }>({ collection: 'sdkmessages', select: ['sdkmessageid'], filter: "name eq 'Delete'" })).value;
    const [filter] = (await api.retrieveMultiple<{ sdkmessagefilterid: string }>({ collection: 'sdkmessagefilters', select: ['sdkmessagefilterid'], filter: `primaryobjecttypecode eq 'connection' and _sdkmessageid_value eq ${String(message?.sdkmessageid)}` })).value;
    const stepId = await api.create<Record<string, unknown>, string>({
      collection: 'sdkmessageprocessingsteps',
      data: {
        name: 'crm-sync: Delete of connection',
        mode: 1,
        stage: 40,
        'sdkmessageid@odata.bind': `/sdkmessages(${String(message?.sdkmessageid)})`,
        'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${String(filter?.sdkmessagefilterid)})`,
        'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
      },
    });
    await api.create({ collection: 'sdkmessageprocessingstepimages', data: { name: 'PreImage', entityalias: 'PreImage', imagetype: 0, messagepropertyname: 'Target', attributes: 'record1id', 'sdkmessageprocessingstepid@odata.bind': `/sdkmessageprocessingsteps(${stepId})` } });
    const steps = await api.retrieveMultiple<{ sdkmessageprocessingstepid: string; mode: number; stage: number }>({ collection: 'sdkmessageprocessingsteps', select: ['mode', 'stage'], filter: `_eventhandler_value eq ${endpointId}` });
    expect(steps.value).toEqual([expect.objectContaining({ sdkmessageprocessingstepid: stepId, mode: 1, stage: 40 })]);
    expect(await refusal(api.deleteRecord({ collection: 'serviceendpoints', key: endpointId }))).toMatchObject({ status: 400, code: '0x8004f01f' });
    expect(await api.deleteRecord({ collection: 'sdkmessageprocessingsteps', key: stepId })).toBe(true);
    expect((await api.retrieveMultiple({ collection: 'sdkmessageprocessingstepimages' })).value).toEqual([]);
    expect(await api.deleteRecord({ collection: 'serviceendpoints', key: endpointId })).toBe(true);
  });
});

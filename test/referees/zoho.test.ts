import * as ZohoSdk from '@zohocrm/nodejs-sdk-8.0';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoSandbox } from '../../src/sandbox/zoho';

/**
 * Zoho's own CRM v8 Node SDK (`@zohocrm/nodejs-sdk-8.0`) as referee: it obtains its token at the
 * sandbox's accounts server with its own refresh flow and calls `/crm/v8` over real HTTP. Where the
 * SDK and the sandbox disagree the sandbox is wrong unless Zoho's documentation says otherwise
 * (docs/sandbox-fidelity.md). The SDK keeps one global initialisation, so the file shares one sandbox.
 */

const { Record: Records } = ZohoSdk;

/** Tokens kept in memory (the SDK's default FileStore writes next to node_modules). */
class MemoryTokenStore extends ZohoSdk.TokenStore.TokenStore {
  private tokens: ZohoSdk.OAuthToken[] = [];
  override async findToken(token: ZohoSdk.OAuthToken): Promise<ZohoSdk.OAuthToken | null> {
    return this.tokens.find((stored) => stored.getRefreshToken() === token.getRefreshToken()) ?? null;
  }
  override async findTokenById(id: string): Promise<ZohoSdk.OAuthToken | null> {
    return this.tokens.find((stored) => stored.getId() === id) ?? null;
  }
  override async saveToken(token: ZohoSdk.OAuthToken): Promise<void> {
    if (token.getId() === null) token.setId(String(this.tokens.length + 1));
    if (!this.tokens.includes(token)) this.tokens.push(token);
  }
  override async deleteToken(id: string): Promise<void> {
    this.tokens = this.tokens.filter((stored) => stored.getId() !== id);
  }
  override async getTokens(): Promise<ZohoSdk.OAuthToken[]> {
    return this.tokens;
  }
  override async deleteTokens(): Promise<void> {
    this.tokens = [];
  }
}

async function params(entries: [ZohoSdk.Param, unknown][]): Promise<ZohoSdk.ParameterMap> {
  const map = new ZohoSdk.ParameterMap();
  for (const [param, value] of entries) await map.add(param, value);
  return map;
}

function record(values: Record<string, unknown>, id?: bigint): ZohoSdk.Record.Record {
  const built = new Records.Record();
  if (id !== undefined) built.setId(id);
  for (const [name, value] of Object.entries(values)) built.addKeyValue(name, value);
  return built;
}

function body(records: ZohoSdk.Record.Record[], duplicateCheck?: string[]): ZohoSdk.Record.BodyWrapper {
  const wrapper = new Records.BodyWrapper();
  wrapper.setData(records);
  if (duplicateCheck) wrapper.setDuplicateCheckFields(duplicateCheck);
  return wrapper;
}

/** Per-record outcomes of a write: status, code, message and details as plain values. */
function outcomes(response: ZohoSdk.APIResponse<ZohoSdk.Record.ActionHandler>): { status: string; code: string; details: Record<string, unknown> }[] {
  const wrapper = response.getObject();
  if (!(wrapper instanceof Records.ActionWrapper)) throw new Error(`not an action wrapper: ${JSON.stringify(wrapper)}`);
  return wrapper.getData().map((entry) => ({ status: entry.getStatus().getValue(), code: entry.getCode().getValue(), details: Object.fromEntries(entry.getDetails()) }));
}

function rows(response: ZohoSdk.APIResponse<ZohoSdk.Record.ResponseHandler>): ZohoSdk.Record.ResponseWrapper {
  const wrapper = response.getObject();
  if (!(wrapper instanceof Records.ResponseWrapper)) throw new Error(`not a response wrapper (HTTP ${response.getStatusCode()}): ${JSON.stringify(wrapper)}`);
  return wrapper;
}

describe('referee: Zoho CRM v8 Node SDK against the Zoho sandbox', () => {
  let zoho: ZohoSandbox;
  let resources: string;

  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false });
    resources = mkdtempSync(join(tmpdir(), 'zoho-sdk-'));
    const token = new ZohoSdk.OAuthBuilder().clientId(zoho.credentials.clientId).clientSecret(zoho.credentials.clientSecret).refreshToken(zoho.credentials.refreshToken).findUser(false).build();
    await (await new ZohoSdk.InitializeBuilder())
      .environment(new ZohoSdk.Environment(zoho.url, `${zoho.credentials.accountsServer}/oauth/v2/token`, zoho.url))
      .token(token)
      .store(new MemoryTokenStore())
      .logger(new ZohoSdk.LogBuilder().level(ZohoSdk.Levels.OFF).filePath(join(resources, 'sdk.log')).build())
      .resourcePath(resources)
      .SDKConfig(new ZohoSdk.SDKConfigBuilder().pickListValidation(false).autoRefreshFields(false).build())
      .initialize();
  });
  afterAll(async () => {
    await zoho.stop();
    rmSync(resources, { recursive: true, force: true });
  });

  it('obtains its token with its own refresh grant (a multipart form) at the accounts server', () => {
    // Initialisation refreshed the token: one grant at the home accounts server, none elsewhere.
    expect(zoho.admin.tokenGrants()).toEqual({ us: 1 });
    expect(zoho.admin.hostCounts()).toMatchObject({ 'accounts.zoho.com': 1 });
    expect(zoho.admin.hostCounts()['accounts.zoho.eu']).toBeUndefined();
  });

  it('creates, gets, updates, upserts, lists with paging and If-Modified-Since, searches and deletes contacts', async () => {
    const contacts = new Records.RecordOperations('Contacts');
    const created = await contacts.createRecords(body([record({ Last_Name: 'Lovelace', First_Name: 'Ada', Email: 'ada@acme.example' }), record({ Last_Name: 'Hopper', Email: 'grace@navy.example' })]));
    expect(created.getStatusCode()).toBe(201);
    const [ada, grace] = outcomes(created);
    expect(ada).toMatchObject({ status: 'success', code: 'SUCCESS' });
    const adaId = BigInt(ada?.details.id as string);
    const graceId = BigInt(grace?.details.id as string);

    const fetched = rows(await contacts.getRecord(adaId));
    expect(fetched.getData()[0]?.getKeyValue('Email')).toBe('ada@acme.example');

    const updated = await contacts.updateRecords(body([record({ Title: 'Countess' }, adaId)]));
    expect(updated.getStatusCode()).toBe(200);
    expect(outcomes(updated)[0]).toMatchObject({ status: 'success', code: 'SUCCESS', details: expect.objectContaining({ id: String(adaId) }) as unknown });

    const upserted = outcomes(await contacts.upsertRecords(body([record({ Last_Name: 'Lovelace-King', Email: 'ada@acme.example' }), record({ Last_Name: 'Turing', Email: 'alan@bletchley.example' })], ['Email'])));
    expect(upserted[0]).toMatchObject({ status: 'success', details: expect.objectContaining({ id: String(adaId) }) as unknown });
    expect(upserted[1]).toMatchObject({ status: 'success', code: 'SUCCESS' });

    // Three contacts, listed two per page, oldest id first.
    const first = rows(await contacts.getRecords(await params([[Records.GetRecordsParam.FIELDS, 'Last_Name,Email'], [Records.GetRecordsParam.PER_PAGE, 2], [Records.GetRecordsParam.SORT_BY, 'id'], [Records.GetRecordsParam.SORT_ORDER, 'asc']])));
    expect(first.getData().map((row) => row.getKeyValue('Last_Name'))).toEqual(['Lovelace-King', 'Hopper']);
    expect(first.getInfo().getMoreRecords()).toBe(true);
    const second = rows(await contacts.getRecords(await params([[Records.GetRecordsParam.FIELDS, 'Last_Name'], [Records.GetRecordsParam.PER_PAGE, 2], [Records.GetRecordsParam.PAGE, 2], [Records.GetRecordsParam.SORT_BY, 'id'], [Records.GetRecordsParam.SORT_ORDER, 'asc']])));
    expect(second.getData().map((row) => row.getKeyValue('Last_Name'))).toEqual(['Turing']);
    expect(second.getInfo().getMoreRecords()).toBe(false);

    // If-Modified-Since an hour ahead: nothing changed since, 204, which the SDK hands back as no object.
    const headers = new ZohoSdk.HeaderMap();
    await headers.add(Records.GetRecordsHeader.IF_MODIFIED_SINCE, new Date(Date.now() + 3_600_000));
    const unchanged = await contacts.getRecords(await params([[Records.GetRecordsParam.FIELDS, 'Last_Name']]), headers);
    expect(unchanged.getStatusCode()).toBe(204);
    expect(unchanged.getObject()).toBeNull();

    const byEmail = rows(await contacts.searchRecords(await params([[Records.SearchRecordsParam.EMAIL, 'GRACE@navy.example']])));
    expect(byEmail.getData().map((row) => row.getId())).toEqual([graceId]);
    const byCriteria = rows(await contacts.searchRecords(await params([[Records.SearchRecordsParam.CRITERIA, '(Last_Name:starts_with:Lovelace)']])));
    expect(byCriteria.getData().map((row) => row.getId())).toEqual([adaId]);

    const deleted = await contacts.deleteRecords(await params([[Records.DeleteRecordsParam.IDS, String(graceId)]]));
    expect(outcomes(deleted)[0]).toMatchObject({ status: 'success', details: { id: String(graceId) } });
    const bin = (await contacts.getDeletedRecords(await params([[Records.GetDeletedRecordsParam.TYPE, 'recycle']]))).getObject();
    if (!(bin instanceof Records.DeletedRecordsWrapper)) throw new Error('no deleted records');
    expect(bin.getData().map((entry) => entry.getId())).toEqual([graceId]);
  });

  it('reads a record\'s timeline: each save with its audited time, source and the fields it changed [Z64]', async () => {
    const created = zoho.admin.createAsUser('Contacts', { First_Name: 'Edsger', Last_Name: 'Dijkstra', Email: 'edsger@eindhoven.example' });
    const id = String(created.id);
    zoho.admin.changeAsUser('Contacts', id, { Title: 'Professor' });
    const answer = await new ZohoSdk.Timelines.TimelinesOperations().getTimelines('Contacts', id, await params([[ZohoSdk.Timelines.GetTimelinesParam.SORT_BY, 'audited_time'], [ZohoSdk.Timelines.GetTimelinesParam.SORT_ORDER, 'asc']]));
    const wrapper = answer.getObject();
    if (!(wrapper instanceof ZohoSdk.Timelines.ResponseWrapper)) throw new Error(`not a timeline (HTTP ${answer.getStatusCode()}): ${JSON.stringify(wrapper)}`);
    const entries = wrapper.getTimeline().map((entry) => ({
      action: entry.getAction(),
      source: entry.getSource(),
      at: entry.getAuditedTime().getTime(),
      fields: (entry.getFieldHistory() ?? []).map((change) => [change.getAPIName(), change.getValue().getOld() ?? null, change.getValue().getNew()]),
    }));
    expect(entries.map(({ action, source, fields }) => ({ action, source, fields }))).toEqual([
      { action: 'added', source: 'crm_ui', fields: [] },
      { action: 'updated', source: 'crm_ui', fields: [['Title', null, 'Professor']] },
    ]);
    expect(entries[0]?.at).toBe(Date.parse(String(created.Created_Time)));
  });

  it('surfaces the documented errors: a missing required parameter, and a record missing its mandatory field', async () => {
    const contacts = new Records.RecordOperations('Contacts');
    const noFields = (await contacts.getRecords()).getObject();
    if (!(noFields instanceof Records.APIException)) throw new Error('expected an APIException');
    expect(noFields.getCode().getValue()).toBe('REQUIRED_PARAM_MISSING');
    expect(noFields.getStatus().getValue()).toBe('error');
    expect(Object.fromEntries(noFields.getDetails())).toEqual({ param: 'fields' });

    const refused = await contacts.createRecords(body([record({ First_Name: 'Nameless' })]));
    expect(refused.getStatusCode()).toBe(400);
    expect(outcomes(refused)).toEqual([{ status: 'error', code: 'MANDATORY_NOT_FOUND', details: expect.objectContaining({ api_name: 'Last_Name' }) as unknown }]);
  });
});

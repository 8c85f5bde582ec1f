import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { accessToken, api } from './support';

type Entry = { code: string; status: string; action?: string; duplicate_field?: string | null; details: Record<string, unknown>; message: string };
const entries = (body: Record<string, unknown> | undefined): Entry[] => (body?.data ?? []) as Entry[];

describe('Zoho sandbox: records, listing, upsert, deletes', () => {
  let zoho: ZohoSandbox;
  let token: string;
  // The organisation's clock: real time, moved on by the tests that need stamps in later seconds.
  let skewMs = 0;
  const orgNow = (): number => Date.now() + skewMs;
  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false, now: orgNow });
    token = await accessToken(zoho);
  });
  afterAll(async () => zoho.stop());

  it('creates (201), reads by id, updates (200), renders Modified_Time in the org zone to the second, lookups as {name, id}', async () => {
    const account = await api(zoho, token, 'POST', 'Accounts', { body: { data: [{ Account_Name: 'Zylker', Website: 'https://zylker.example' }] } });
    expect(account.status).toBe(201);
    const [created] = entries(account.body);
    expect(created).toMatchObject({ code: 'SUCCESS', status: 'success', message: 'record added' });
    const accountId = created?.details.id as string;
    expect(created?.details.Modified_Time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+05:30$/);
    const contact = await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'Boyle', Email: 'p.boyle@zylker.example', Account_Name: { id: accountId } }] } });
    const contactId = entries(contact.body)[0]?.details.id as string;
    const read = await api(zoho, token, 'GET', `Contacts/${contactId}`);
    expect((read.body?.data as Record<string, unknown>[])[0]).toMatchObject({ id: contactId, Last_Name: 'Boyle', Full_Name: 'Boyle', Account_Name: { name: 'Zylker', id: accountId } });
    const update = await api(zoho, token, 'PUT', 'Contacts', { body: { data: [{ id: contactId, Title: 'CTO' }] } });
    expect(update.status).toBe(200);
    expect(entries(update.body)[0]).toMatchObject({ code: 'SUCCESS', message: 'record updated' });
    expect(zoho.admin.getRecord('Contacts', contactId)).toMatchObject({ Title: 'CTO', Email: 'p.boyle@zylker.example' });
    expect((await api(zoho, token, 'GET', 'Contacts/1234')).status).toBe(204);
  });

  it('updates conditionally: If-Unmodified-Since refuses the whole call (412 ALREADY_MODIFIED naming each record modified later, in whole seconds), writes nothing; a bad date is 400', async () => {
    const created = await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'Kept' }, { Last_Name: 'Edited' }] } });
    const [keptId, editedId] = entries(created.body).map((entry) => entry.details.id as string);
    const savedAt = Date.parse(String(entries(created.body)[0]?.details.Modified_Time));
    // Someone edits one of them a second later; our update of both is conditional on the save before.
    skewMs += 2_000;
    zoho.admin.changeAsUser('Contacts', editedId as string, { Title: 'Theirs' });
    const since = new Date(Math.floor(savedAt / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
    const refused = await api(zoho, token, 'PUT', 'Contacts', { body: { data: [{ id: keptId, Title: 'Ours' }, { id: editedId, Title: 'Ours' }] }, headers: { 'If-Unmodified-Since': since } });
    expect(refused.status).toBe(412);
    const [entry, ...others] = entries(refused.body);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ code: 'ALREADY_MODIFIED', status: 'error', details: { id: editedId } });
    expect(entry?.details.Modified_Time).toMatch(/\+05:30$/);
    expect(zoho.admin.getRecord('Contacts', keptId as string)?.Title).toBeNull();
    expect(zoho.admin.getRecord('Contacts', editedId as string)?.Title).toBe('Theirs');
    // The same second as the last save passes (whole seconds); so does a later date.
    const edited = zoho.admin.getRecord('Contacts', editedId as string);
    const passes = await api(zoho, token, 'PUT', 'Contacts', { body: { data: [{ id: keptId, Title: 'Ours' }, { id: editedId, Title: 'Ours' }] }, headers: { 'If-Unmodified-Since': String(edited?.Modified_Time) } });
    expect(passes.status).toBe(200);
    expect(zoho.admin.getRecord('Contacts', editedId as string)?.Title).toBe('Ours');
    const bad = await api(zoho, token, 'PUT', 'Contacts', { body: { data: [{ id: keptId, Title: 'Again' }] }, headers: { 'If-Unmodified-Since': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_DATA', details: { header: 'If-Unmodified-Since' } });
    expect(zoho.admin.getRecord('Contacts', keptId as string)?.Title).toBe('Ours');
  });

  it('updates Tasks, Calls and Events conditionally too: If-Unmodified-Since refuses an activity modified later (412 ALREADY_MODIFIED naming it), a date not before its save passes', async () => {
    const activities = [
      { module: 'Tasks', name: 'Subject', values: { Subject: 'Follow up' } },
      { module: 'Calls', name: 'Subject', values: { Subject: 'Ring', Call_Type: 'Outbound', Call_Start_Time: '2026-12-10T09:00:00+00:00' } },
      { module: 'Events', name: 'Event_Title', values: { Event_Title: 'Meet', Start_DateTime: '2026-12-10T14:00:00+00:00', End_DateTime: '2026-12-10T14:30:00+00:00' } },
    ] as const;
    for (const { module, name, values } of activities) {
      const created = await api(zoho, token, 'POST', module, { body: { data: [values] } });
      expect(created.status, module).toBe(201);
      const [entry] = entries(created.body);
      const id = entry?.details.id as string;
      const since = String(entry?.details.Modified_Time);
      // A person edits it in a later second; our update is conditional on the save before.
      skewMs += 2_000;
      zoho.admin.changeAsUser(module, id, { [name]: 'Theirs' });
      const refused = await api(zoho, token, 'PUT', module, { body: { data: [{ id, [name]: 'Ours' }] }, headers: { 'If-Unmodified-Since': since } });
      expect(refused.status, module).toBe(412);
      expect(entries(refused.body), module).toHaveLength(1);
      expect(entries(refused.body)[0], module).toMatchObject({ code: 'ALREADY_MODIFIED', status: 'error', details: { id } });
      expect(zoho.admin.getRecord(module, id)?.[name], module).toBe('Theirs');
      const edited = String(zoho.admin.getRecord(module, id)?.Modified_Time);
      const passes = await api(zoho, token, 'PUT', module, { body: { data: [{ id, [name]: 'Ours' }] }, headers: { 'If-Unmodified-Since': edited } });
      expect(passes.status, module).toBe(200);
      expect(zoho.admin.getRecord(module, id)?.[name], module).toBe('Ours');
    }
  });

  it('refuses records one by one: 207 mixed, 400 all refused, with the field named; more than 100 records refused whole', async () => {
    const mixed = await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'Ok' }, { Last_Name: 'Bad', Email: 'not-an-email' }, { First_Name: 'NoLast' }] } });
    expect(mixed.status).toBe(207);
    expect(entries(mixed.body).map((entry) => entry.code)).toEqual(['SUCCESS', 'INVALID_DATA', 'MANDATORY_NOT_FOUND']);
    expect(entries(mixed.body)[1]).toMatchObject({ details: { api_name: 'Email', expected_data_type: 'email' }, status: 'error' });
    const refused = await api(zoho, token, 'PUT', 'Contacts', { body: { data: [{ id: '999', Title: 'x' }] } });
    expect(refused.status).toBe(400);
    expect(entries(refused.body)[0]).toMatchObject({ code: 'INVALID_DATA', details: { id: '999' } });
    const tooMany = await api(zoho, token, 'POST', 'Contacts', { body: { data: Array.from({ length: 101 }, (_, i) => ({ Last_Name: `P${i}` })) } });
    expect(tooMany).toMatchObject({ status: 400, body: { code: 'LIMIT_REACHED', status: 'error' } });
  });

  it('upserts by duplicate_check_fields: insert, then update of the record holding the value; without it, the system check (Email) matches', async () => {
    const first = await api(zoho, token, 'POST', 'Contacts/upsert', { body: { data: [{ Last_Name: 'Grogan', CRM_Sync_Id: 'sync-1' }], duplicate_check_fields: ['CRM_Sync_Id'] } });
    expect(entries(first.body)[0]).toMatchObject({ action: 'insert', duplicate_field: null, message: 'record added' });
    const id = entries(first.body)[0]?.details.id;
    const second = await api(zoho, token, 'POST', 'Contacts/upsert', { body: { data: [{ Last_Name: 'Grogan II', CRM_Sync_Id: 'SYNC-1' }], duplicate_check_fields: ['CRM_Sync_Id'] } });
    expect(entries(second.body)[0]).toMatchObject({ action: 'update', duplicate_field: 'CRM_Sync_Id', details: { id } });
    expect(zoho.admin.listRecords('Contacts').filter((record) => String(record.CRM_Sync_Id).toLowerCase() === 'sync-1')).toHaveLength(1);

    await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'Mail', Email: 'same@zylker.example' }] } });
    const bySystem = await api(zoho, token, 'POST', 'Contacts/upsert', { body: { data: [{ Last_Name: 'Mail 2', Email: 'SAME@zylker.example' }] } });
    expect(entries(bySystem.body)[0]).toMatchObject({ action: 'update', duplicate_field: 'Email' });
    // Only system-defined and unique fields may be duplicate check fields.
    const wrong = await api(zoho, token, 'POST', 'Contacts/upsert', { body: { data: [{ Last_Name: 'X' }], duplicate_check_fields: ['Title'] } });
    expect(wrong).toMatchObject({ status: 400, body: { code: 'INVALID_DATA', details: { api_name: 'duplicate_check_fields' } } });
    // The sync-id field is unique: another record cannot take a held value.
    const clash = await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'Clash', CRM_Sync_Id: 'sync-1' }] } });
    expect(entries(clash.body)[0]).toMatchObject({ code: 'DUPLICATE_DATA', details: { api_name: 'CRM_Sync_Id', id } });
  });

  it('lists with If-Modified-Since, fields (required), page/per_page (200 max), more_records; 204 when nothing matches', async () => {
    const ids = zoho.admin.seed({ Deals: 450 }).Deals;
    expect((await api(zoho, token, 'GET', 'Deals')).body).toMatchObject({ code: 'REQUIRED_PARAM_MISSING', details: { param: 'fields' } });
    expect((await api(zoho, token, 'GET', 'Deals?fields=Deal_Name&per_page=201')).status).toBe(400);
    const pages: Record<string, unknown>[][] = [];
    for (let page = 1; ; page += 1) {
      const answer = await api(zoho, token, 'GET', `Deals?fields=Deal_Name,Modified_Time&sort_by=id&sort_order=asc&per_page=200&page=${page}`);
      pages.push(answer.body?.data as Record<string, unknown>[]);
      expect(answer.body?.info).toMatchObject({ per_page: 200, page, count: pages.at(-1)?.length });
      if ((answer.body?.info as { more_records: boolean }).more_records !== true) break;
    }
    expect(pages.map((page) => page.length)).toEqual([200, 200, 50]);
    expect(pages.flat().map((record) => record.id)).toEqual(ids);
    expect(Object.keys(pages[0]?.[0] ?? {}).sort()).toEqual(['Deal_Name', 'Modified_Time', 'id']);

    // Stamps are whole seconds: the cut in a second after the seeding, the change in a later one.
    skewMs += 1100;
    const cut = new Date(orgNow()).toISOString();
    skewMs += 1100;
    zoho.admin.changeAsUser('Deals', ids[7] as string, { Amount: 5 });
    const since = await api(zoho, token, 'GET', 'Deals?fields=Amount', { headers: { 'If-Modified-Since': cut } });
    expect((since.body?.data as Record<string, unknown>[]).map((record) => record.id)).toEqual([ids[7]]);
    const none = await api(zoho, token, 'GET', 'Deals?fields=Amount', { headers: { 'If-Modified-Since': new Date(orgNow() + 60_000).toISOString() } });
    expect(none.status).toBe(204);
    expect(none.body).toBeUndefined();
  });

  it('deletes to the recycle bin (unknown ids refused per entry) and lists deletions by type, honouring If-Modified-Since', async () => {
    const ids = zoho.admin.seed({ Tasks: 3 }).Tasks as [string, string, string];
    const early = await api(zoho, token, 'DELETE', `Tasks?ids=${ids[0]}`);
    expect(entries(early.body)[0]).toMatchObject({ code: 'SUCCESS', details: { id: ids[0] }, message: 'record deleted' });
    zoho.admin.emptyRecycleBin('Tasks');
    skewMs += 1100;
    const cut = new Date(orgNow()).toISOString();
    skewMs += 1100;
    const later = await api(zoho, token, 'DELETE', `Tasks?ids=${ids[1]},${ids[0]},42`);
    expect(later.status).toBe(207);
    expect(entries(later.body).map((entry) => entry.code)).toEqual(['SUCCESS', 'INVALID_DATA', 'INVALID_DATA']);
    expect((await api(zoho, token, 'GET', `Tasks/${ids[1]}`)).status).toBe(204);

    const all = await api(zoho, token, 'GET', 'Tasks/deleted?type=all');
    expect((all.body?.data as Record<string, unknown>[]).map((entry) => [entry.id, entry.type])).toEqual([
      [ids[1], 'recycle'],
      [ids[0], 'permanent'],
    ]);
    expect((all.body?.data as Record<string, unknown>[])[0]).toMatchObject({ display_name: expect.stringContaining('Follow up') as unknown, deleted_by: { name: 'crm-sync integration' }, deleted_time: expect.stringMatching(/\+05:30$/) as unknown });
    const permanent = await api(zoho, token, 'GET', 'Tasks/deleted?type=permanent');
    expect((permanent.body?.data as Record<string, unknown>[]).map((entry) => entry.id)).toEqual([ids[0]]);
    const since = await api(zoho, token, 'GET', 'Tasks/deleted?type=all', { headers: { 'If-Modified-Since': cut } });
    expect((since.body?.data as Record<string, unknown>[]).map((entry) => entry.id)).toEqual([ids[1]]);
  });

  it('searches by criteria (equals, starts_with; case-insensitive), at most 10 criteria', async () => {
    zoho.admin.createAsUser('Accounts', { Account_Name: 'Initech', Website: 'https://www.Initech.example/about' });
    const found = await api(zoho, token, 'GET', `Accounts/search?criteria=${encodeURIComponent('(Website:starts_with:https://www.initech.example)or(Website:equals:initech.example)')}`);
    expect((found.body?.data as Record<string, unknown>[]).map((record) => record.Account_Name)).toEqual(['Initech']);
    const eleven = Array.from({ length: 11 }, (_, i) => `(Email:equals:a${i}@x.example)`).join('or');
    expect((await api(zoho, token, 'GET', `Contacts/search?criteria=${encodeURIComponent(eleven)}`)).body).toMatchObject({ code: 'LIMIT_REACHED' });
    expect((await api(zoho, token, 'GET', `Contacts/search?criteria=${encodeURIComponent('(Email:equals:nobody@x.example)')}`)).status).toBe(204);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { accessToken, api } from './support';

type Entry = { code: string; status: string; details: Record<string, unknown>; message: string };
const entries = (body: Record<string, unknown> | undefined): Entry[] => (body?.data ?? []) as Entry[];
type Field = { api_name: string; data_type: string; length?: number; system_mandatory: boolean; pick_list_values: { actual_value: string; display_value: string }[] };

describe('Zoho sandbox: field lengths, mandatory fields and picklists, described and enforced on every write path', () => {
  let zoho: ZohoSandbox;
  let token: string;
  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false });
    token = await accessToken(zoho);
  });
  afterAll(async () => zoho.stop());

  it('describes length, system_mandatory and pick_list_values in the field metadata', async () => {
    const answer = await api(zoho, token, 'GET', 'settings/fields?module=Contacts');
    const fields = new Map((answer.body?.fields as Field[]).map((field) => [field.api_name, field]));
    expect(fields.get('Last_Name')).toMatchObject({ data_type: 'text', length: 80, system_mandatory: true, pick_list_values: [] });
    expect(fields.get('First_Name')).toMatchObject({ length: 40, system_mandatory: false });
    expect(fields.get('Lead_Source')).toMatchObject({ data_type: 'picklist', system_mandatory: false });
    expect(fields.get('Lead_Source')?.pick_list_values.map((value) => value.actual_value)).toContain('Trade Show');
  });

  it('refuses a too-long value, a missing mandatory field and an unknown picklist value per record (207), the rest written', async () => {
    const answer = await api(zoho, token, 'POST', 'Contacts', {
      body: { data: [{ Last_Name: 'Ok', Lead_Source: 'Trade Show' }, { Last_Name: 'L'.repeat(81) }, { First_Name: 'NoLast' }, { Last_Name: 'Pick', Lead_Source: 'Billboard' }, { Last_Name: 'L'.repeat(80) }] },
    });
    expect(answer.status).toBe(207);
    const [ok, long, missing, pick, fits] = entries(answer.body);
    expect(ok?.code).toBe('SUCCESS');
    expect(fits?.code).toBe('SUCCESS');
    expect(long).toEqual({ code: 'INVALID_DATA', details: { maximum_length: 80, api_name: 'Last_Name', json_path: '$.data[1].Last_Name' }, message: 'invalid data', status: 'error' });
    expect(missing).toEqual({ code: 'MANDATORY_NOT_FOUND', details: { api_name: 'Last_Name', json_path: '$.data[2].Last_Name' }, message: 'required field not found', status: 'error' });
    expect(pick).toEqual({ code: 'INVALID_DATA', details: { api_name: 'Lead_Source', expected_data_type: 'picklist', json_path: '$.data[3].Lead_Source' }, message: 'invalid data', status: 'error' });
    expect(zoho.admin.listRecords('Contacts').map((record) => record.Last_Name).sort()).toEqual(['L'.repeat(80), 'Ok']);
  });

  it('checks updates and upserts alike; all refused is 400', async () => {
    const [created] = entries((await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'Target' }] } })).body);
    const id = created?.details.id as string;
    const update = await api(zoho, token, 'PUT', 'Contacts', { body: { data: [{ id, First_Name: 'F'.repeat(41) }, { id, Lead_Source: 'Nope' }] } });
    expect(update.status).toBe(400);
    expect(entries(update.body).map((entry) => [entry.code, entry.details.api_name, entry.details.maximum_length])).toEqual([
      ['INVALID_DATA', 'First_Name', 40],
      ['INVALID_DATA', 'Lead_Source', undefined],
    ]);
    const upsert = await api(zoho, token, 'POST', 'Contacts/upsert', { body: { data: [{ Last_Name: 'Up', Email: 'up@x.example', Title: 'T'.repeat(101) }, { Last_Name: 'Up2', Email: 'up2@x.example' }] } });
    expect(upsert.status).toBe(207);
    expect(entries(upsert.body)[0]).toMatchObject({ code: 'INVALID_DATA', details: { maximum_length: 100, api_name: 'Title' } });
    // An upsert that updates a record needs no mandatory field; one that inserts does.
    const matched = await api(zoho, token, 'POST', 'Contacts/upsert', { body: { data: [{ Email: 'up2@x.example', Title: 'CEO' }, { Email: 'new@x.example' }] } });
    expect(entries(matched.body).map((entry) => entry.code)).toEqual(['SUCCESS', 'MANDATORY_NOT_FOUND']);
    expect(zoho.admin.getRecord('Contacts', id)?.First_Name).toBeNull();
  });

  it('checks deal stages and task picklists, and a custom field defined with a length', async () => {
    zoho.admin.defineField('Contacts', 'Nickname', 'text', false, { length: 5 });
    const stages = await api(zoho, token, 'POST', 'Deals', { body: { data: [{ Deal_Name: 'A', Stage: 'Closed Won' }, { Deal_Name: 'B', Stage: 'Won' }] } });
    expect(entries(stages.body).map((entry) => entry.code)).toEqual(['SUCCESS', 'INVALID_DATA']);
    const tasks = await api(zoho, token, 'POST', 'Tasks', { body: { data: [{ Subject: 'Call', Priority: 'Urgent' }] } });
    expect(tasks.status).toBe(400);
    expect(entries(tasks.body)[0]?.details).toMatchObject({ api_name: 'Priority', expected_data_type: 'picklist' });
    const custom = await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'Nick', Nickname: 'Bobby' }, { Last_Name: 'Nick', Nickname: 'Robert' }] } });
    expect(entries(custom.body).map((entry) => entry.details.maximum_length ?? entry.code)).toEqual(['SUCCESS', 5]);
  });
});

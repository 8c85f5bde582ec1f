import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { call } from './support';

type FieldDefinition = { key: string; field_type: string; mandatory_flag: boolean; options: { id: number; label: string }[] | null };
const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';

describe('Pipedrive sandbox: field type lengths, mandatory fields and enum options, described and enforced on create and update', () => {
  let pd: PipedriveSandbox;
  let levelKey: string;
  let notesKey: string;
  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false });
    levelKey = pd.admin.defineField('persons', 'Level', 'enum', ['Gold', 'Silver']);
    notesKey = pd.admin.defineField('persons', 'Notes', 'text');
  });
  afterAll(async () => pd.stop());

  it('describes mandatory_flag and enum options in GET /v1/personFields', async () => {
    const answer = await call(pd, 'GET', '/v1/personFields');
    const fields = new Map((answer.json.data as FieldDefinition[]).map((field) => [field.key, field]));
    expect(fields.get('name')).toMatchObject({ field_type: 'varchar', mandatory_flag: true, options: null });
    expect(fields.get('job_title')).toMatchObject({ field_type: 'varchar', mandatory_flag: false });
    expect(fields.get(levelKey)).toMatchObject({ field_type: 'enum', mandatory_flag: false, options: [{ id: expect.any(Number) as unknown, label: 'Gold' }, { id: expect.any(Number) as unknown, label: 'Silver' }] });
    expect((await call(pd, 'GET', '/v1/dealFields')).json.data).toContainEqual(expect.objectContaining({ key: 'title', mandatory_flag: true }));
  });

  it('refuses a too-long text, a missing organization name and an unknown option id with 400 in Pipedrive’s envelope; what fits is written', async () => {
    const [gold] = pd.admin.fieldOptions('persons', levelKey);
    const long = await call(pd, 'POST', '/api/v2/persons', { name: 'N'.repeat(256) });
    expect(long.status).toBe(400);
    expect(long.json).toEqual({ success: false, error: 'Validation failed: name: must be at most 255 characters (got 256)', error_info: ERROR_INFO, code: 'ERR_SCHEMA_VALIDATION_FAILED', data: null, additional_data: null });
    const missing = await call(pd, 'POST', '/api/v2/organizations', { address: { value: 'Tallinn' } });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ success: false, error: "Validation failed: name: Parameter 'name' is required", error_info: ERROR_INFO, code: 'ERR_SCHEMA_VALIDATION_FAILED', data: null, additional_data: null });
    expect(pd.admin.listRecords('organizations')).toEqual([]);
    const option = await call(pd, 'POST', '/api/v2/persons', { name: 'Pick', custom_fields: { [levelKey]: 999 } });
    expect(option.status).toBe(400);
    expect(option.json.error).toMatch(new RegExp(`^Validation failed: custom_fields\\.${levelKey}: 999 is not a valid option id \\(\\d+, \\d+\\)$`));
    const fits = await call(pd, 'POST', '/api/v2/persons', { name: 'N'.repeat(255), custom_fields: { [levelKey]: gold?.id, [notesKey]: 'n'.repeat(65_535) } });
    expect(fits.status).toBe(200);
    expect(pd.admin.listRecords('persons').map((person) => person.name)).toEqual(['N'.repeat(255)]);
  });

  // The v2 request bodies require an organization's name and a deal's title only [P9]; the field
  // list still flags a person's name (and an activity's subject) mandatory, for the web UI.
  it('creates a person without a name and an activity without a subject', async () => {
    const person = await call(pd, 'POST', '/api/v2/persons', { job_title: 'CTO', emails: [{ value: 'nameless@fit.example', primary: true }] });
    expect(person.status).toBe(200);
    expect(person.json.data).toMatchObject({ job_title: 'CTO', emails: [{ value: 'nameless@fit.example', primary: true }] });
    const activity = await call(pd, 'POST', '/api/v2/activities', { type: 'call' });
    expect(activity.status).toBe(200);
    expect((await call(pd, 'POST', '/api/v2/deals', { value: 5 })).status).toBe(400);
  });

  it('checks updates the same way (a long text field holds 65,535)', async () => {
    const created = await call(pd, 'POST', '/api/v2/persons', { first_name: 'Ada' });
    const id = (created.json.data as { id: number }).id;
    const long = await call(pd, 'PATCH', `/api/v2/persons/${id}`, { custom_fields: { [notesKey]: 'n'.repeat(65_536) } });
    expect(long.status).toBe(400);
    expect(long.json.error).toBe(`Validation failed: custom_fields.${notesKey}: must be at most 65535 characters (got 65536)`);
    const job = await call(pd, 'PATCH', `/api/v2/persons/${id}`, { job_title: 'J'.repeat(256) });
    expect(job.status).toBe(400);
    expect((await call(pd, 'PATCH', `/api/v2/persons/${id}`, { job_title: 'J'.repeat(255) })).status).toBe(200);
  });
});

import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

let sandbox: SalesforceSandbox;
let conn: Connection;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ dailyApiRequests: false, bulk: { processingDelayMs: 5 } });
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  conn = new Connection({ instanceUrl, accessToken, version });
  conn.bulk2.pollInterval = 20;
});
afterAll(async () => sandbox.stop());

type Row = Record<string, unknown>;
type SaveResult = { id?: string; success: boolean; errors: { statusCode?: string; fields?: string[] }[] };

const EVENT_TIMES = 'Id, StartDateTime, ActivityDateTime, ActivityDate, EndDateTime, EndDate, DurationInMinutes, IsAllDayEvent';
const readEvent = async (id: string): Promise<Row> => (await conn.query<Row>(`SELECT ${EVENT_TIMES} FROM Event WHERE Id = '${id}'`)).records[0] as Row;

describe('Event (00U)', () => {
  it('is created with a start and a length, keeps its time fields agreeing, and moves its end with a new start', async () => {
    const created = (await conn.sobject('Event').create({ Subject: 'Demo', StartDateTime: '2026-11-20T10:00:00.000Z', DurationInMinutes: 45 })) as SaveResult;
    expect(created.success).toBe(true);
    expect(String(created.id).startsWith('00U')).toBe(true);
    expect(await readEvent(String(created.id))).toMatchObject({
      StartDateTime: '2026-11-20T10:00:00.000+0000',
      ActivityDateTime: '2026-11-20T10:00:00.000+0000',
      ActivityDate: '2026-11-20',
      EndDateTime: '2026-11-20T10:45:00.000+0000',
      DurationInMinutes: 45,
      IsAllDayEvent: false,
    });
    await conn.sobject('Event').update({ Id: String(created.id), StartDateTime: '2026-11-21T23:30:00Z' });
    expect(await readEvent(String(created.id))).toMatchObject({ StartDateTime: '2026-11-21T23:30:00.000+0000', EndDateTime: '2026-11-22T00:15:00.000+0000', EndDate: '2026-11-22', DurationInMinutes: 45 });
    await conn.sobject('Event').update({ Id: String(created.id), EndDateTime: '2026-11-22T01:30:00Z' });
    expect((await readEvent(String(created.id))).DurationInMinutes).toBe(120);
  });

  it('refuses an Event without a start or, when timed, without a length; an all-day event lasts a day', async () => {
    const results = (await conn.sobject('Event').create(
      [{ Subject: 'no start', DurationInMinutes: 30 }, { Subject: 'no length', StartDateTime: '2026-11-20T10:00:00Z' }, { Subject: 'all day', IsAllDayEvent: true, ActivityDate: '2026-11-20' }],
      { allOrNone: false },
    )) as SaveResult[];
    expect(results.map((result) => [result.success, result.errors[0]?.statusCode, result.errors[0]?.fields])).toEqual([
      [false, 'REQUIRED_FIELD_MISSING', ['StartDateTime']],
      [false, 'REQUIRED_FIELD_MISSING', ['DurationInMinutes']],
      [true, undefined, undefined],
    ]);
    expect(await readEvent(String(results[2]?.id))).toMatchObject({ StartDateTime: '2026-11-20T00:00:00.000+0000', ActivityDateTime: null, DurationInMinutes: 1440, EndDate: '2026-11-21' });
  });

  it('is listed by getUpdated and getDeleted, and exported by a Bulk 2.0 query with Z datetimes', async () => {
    const start = new Date(Date.now() - 60_000);
    const created = (await conn.sobject('Event').create({ Subject: 'Gone soon', StartDateTime: '2026-11-20T10:00:00Z', EndDateTime: '2026-11-20T11:00:00Z' })) as SaveResult;
    const id = String(created.id);
    expect((await conn.sobject('Event').updated(start, new Date(Date.now() + 60_000))).ids).toContain(id);
    const exported = (await conn.bulk2.query(`SELECT Id, StartDateTime, DurationInMinutes FROM Event WHERE Id = '${id}'`).then((records) => records.toArray())) as Row[];
    expect(exported).toEqual([{ Id: id, StartDateTime: '2026-11-20T10:00:00.000Z', DurationInMinutes: '60' }]);
    await conn.sobject('Event').destroy(id);
    expect((await conn.sobject('Event').deleted(start, new Date(Date.now() + 60_000))).deletedRecords.map((record) => record.id)).toContain(id);
  });
});

describe('Task.TaskSubtype', () => {
  it('is set on create (Task when not given), restricted to its values, and cannot be updated', async () => {
    const results = (await conn.sobject('Task').create([{ Subject: 'call', TaskSubtype: 'Call' }, { Subject: 'plain' }, { Subject: 'bad', TaskSubtype: 'Meeting' }], { allOrNone: false })) as SaveResult[];
    expect(results.map((result) => result.success)).toEqual([true, true, false]);
    expect(results[2]?.errors[0]).toMatchObject({ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['TaskSubtype'] });
    const rows = (await conn.query<Row>(`SELECT Id, TaskSubtype FROM Task WHERE Id IN ('${results[0]?.id}', '${results[1]?.id}') ORDER BY Subject`)).records;
    expect(rows.map((row) => row.TaskSubtype)).toEqual(['Call', 'Task']);
    const update = (await conn.sobject('Task').update([{ Id: String(results[0]?.id), TaskSubtype: 'Email' }], { allOrNone: false })) as SaveResult[];
    expect(update[0]).toMatchObject({ success: false, errors: [{ statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: ['TaskSubtype'] }] });
    const described = await conn.sobject('Task').describe();
    expect(described.fields.find((field) => field.name === 'TaskSubtype')).toMatchObject({ createable: true, updateable: false, restrictedPicklist: true });
  });
});

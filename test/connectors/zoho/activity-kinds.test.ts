import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ChangesRequest, ExternalRecord, UpsertInput, UpsertOutcome } from '../../../src/connectors/connector';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

const idOf = (outcome: UpsertOutcome | undefined): string => (outcome && 'externalId' in outcome ? outcome.externalId : '');

/**
 * Activity kinds over real HTTP (BEHAVIOR.md, "Activity kinds"): Tasks, Calls and Events behind one
 * object type, `kind` from the module, ids `Calls:<id>` / `Events:<id>` (tasks plain), one change
 * scan over the three modules, creates in the kind's module, updates on the record's module.
 */
describe('Zoho connector: activity kinds over HTTP', () => {
  let zoho: ZohoSandbox;
  let connector: ZohoConnector;
  let company: string;
  let deal: string;
  const contacts: string[] = [];
  // Zoho stamps are whole seconds: tests move this clock to put writes in different seconds.
  let clock = Date.parse('2026-12-06T10:00:00.000Z');
  const tick = (seconds: number): void => {
    clock += seconds * 1000;
  };

  async function allChanges(request: ChangesRequest, between?: (page: number) => void): Promise<{ records: ExternalRecord[]; watermark: string }> {
    const records: ExternalRecord[] = [];
    let cursor: string | undefined;
    let watermark = request.since;
    let page = 0;
    do {
      const result = await connector.listChanges('activity', { ...request, cursor });
      records.push(...result.records);
      expect(result.highWatermark >= watermark).toBe(true);
      watermark = result.highWatermark;
      cursor = result.nextCursor;
      between?.(++page);
    } while (cursor);
    return { records, watermark };
  }

  async function exportAll(since?: string): Promise<ExternalRecord[]> {
    const records: ExternalRecord[] = [];
    let cursor: string | undefined = await connector.bulk.startExport('activity', since ? { since } : {});
    while (cursor) {
      const page: { records: ExternalRecord[]; nextCursor?: string | undefined } = await connector.bulk.readExportPage(cursor);
      records.push(...page.records);
      cursor = page.nextCursor;
    }
    return records;
  }

  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false, now: () => clock });
    connector = await connectTo(zoho, { lookbackMs: 0, pageSize: 2 });
    company = idOf((await connector.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'Contoso' } }]))[0]);
    deal = idOf((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Renewal' } }]))[0]);
    const people = await connector.upsertRecords('contact', ['a', 'b', 'c'].map((name) => ({ syncId: randomUUID(), fields: { lastName: name, email: `${name}@x.example` } })));
    contacts.push(...people.map(idOf));
  });
  afterAll(async () => {
    await connector.close();
    await zoho.stop();
  });

  test('each kind is created in its module, read back with its kind, dueAt and slots on every read path, updated, deleted', async () => {
    const [a, b, c] = contacts as [string, string, string];
    tick(10);
    const since = new Date(clock).toISOString();
    tick(1);
    const inputs: UpsertInput[] = [
      { syncId: randomUUID(), fields: { subject: 'Todo', kind: 'task', dueAt: '2026-12-10T00:00:00.000Z', status: 'open', priority: 'high' }, references: { contacts: [a], deal } },
      { syncId: randomUUID(), fields: { subject: 'Ring', kind: 'call', dueAt: '2026-12-10T09:00:00.000Z' }, references: { contacts: [b], company } },
      { syncId: randomUUID(), fields: { subject: 'Meet', kind: 'meeting', dueAt: '2026-12-10T14:00:00.000Z' }, references: { contacts: [b, c], deal } },
    ];
    const outcomes = await connector.upsertRecords('activity', inputs);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'created', 'created']);
    const [task, call, meeting] = outcomes.map(idOf) as [string, string, string];
    expect(task).toMatch(/^\d+$/);
    expect(call).toMatch(/^Calls:\d+$/);
    expect(meeting).toMatch(/^Events:\d+$/);
    // Each landed in its own module, a meeting lasting the default half hour.
    expect(zoho.admin.listRecords('Calls').find((row) => row.id === call.slice(6))).toMatchObject({ Subject: 'Ring', Call_Type: 'Outbound' });
    const stored = zoho.admin.listRecords('Events').find((row) => row.id === meeting.slice(7));
    expect(stored).toMatchObject({ Event_Title: 'Meet' });
    expect(Date.parse(String(stored?.End_DateTime))).toBe(Date.parse('2026-12-10T14:30:00.000Z'));

    const expected: Record<string, { fields: Record<string, unknown>; references: Record<string, unknown> }> = {
      [task]: { fields: { kind: 'task', subject: 'Todo', dueAt: '2026-12-10T00:00:00.000Z', status: 'open', priority: 'high' }, references: { contacts: [a], deal } },
      [call]: { fields: { kind: 'call', subject: 'Ring', dueAt: '2026-12-10T09:00:00.000Z' }, references: { contacts: [b], company } },
      [meeting]: { fields: { kind: 'meeting', subject: 'Meet', dueAt: '2026-12-10T14:00:00.000Z' }, references: { contacts: [b, c], deal } },
    };
    const paths: Record<string, ExternalRecord[]> = {
      readRecords: await connector.readRecords('activity', [task, call, meeting]),
      listChanges: (await allChanges({ since })).records,
      exportAll: await exportAll(),
      exportSince: await exportAll(since),
    };
    for (const [path, records] of Object.entries(paths)) {
      for (const [id, want] of Object.entries(expected)) {
        const record = records.find((candidate) => candidate.externalId === id);
        expect(record, `${path} ${id}`).toBeDefined();
        expect(record?.fields, `${path} ${id}`).toMatchObject(want.fields);
        expect(record?.references, `${path} ${id}`).toMatchObject(want.references);
      }
      // A call and a meeting hold no status or priority: not read, not reported empty.
      expect(records.find((record) => record.externalId === call)?.fields).not.toHaveProperty('status');
    }

    tick(5);
    const updated = await connector.upsertRecords('activity', [
      { syncId: inputs[0]?.syncId as string, externalId: task, fields: { subject: 'Todo 2', status: 'completed' } },
      { syncId: inputs[1]?.syncId as string, externalId: call, fields: { subject: 'Ring 2' }, references: { contacts: [c] } },
      { syncId: inputs[2]?.syncId as string, externalId: meeting, fields: { dueAt: '2026-12-11T14:00:00.000Z' }, references: { contacts: [a] } },
    ]);
    expect(updated.map((outcome) => [outcome.status, idOf(outcome)])).toEqual([
      ['updated', task],
      ['updated', call],
      ['updated', meeting],
    ]);
    const reread = await connector.readRecords('activity', [task, call, meeting]);
    expect(reread.map((record) => [record.fields.subject, record.fields.kind, record.references.contacts])).toEqual([
      ['Todo 2', 'task', [a]],
      ['Ring 2', 'call', [c]],
      ['Meet', 'meeting', [a]],
    ]);
    // The meeting moved keeps its length.
    const moved = zoho.admin.listRecords('Events').find((row) => row.id === meeting.slice(7));
    expect([Date.parse(String(moved?.Start_DateTime)), Date.parse(String(moved?.End_DateTime))]).toEqual([Date.parse('2026-12-11T14:00:00.000Z'), Date.parse('2026-12-11T14:30:00.000Z')]);

    tick(5);
    const deletedSince = new Date(clock).toISOString();
    tick(1);
    expect((await connector.deleteRecords('activity', [task, call, meeting, 'Calls:nope'])).map((outcome) => outcome.status)).toEqual(['deleted', 'deleted', 'deleted', 'not-found']);
    tick(2);
    const deletions: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await connector.listDeletions('activity', { since: deletedSince, cursor });
      deletions.push(...page.deletions.map((entry) => entry.externalId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(deletions.sort()).toEqual([task, call, meeting].sort());
  });

  test('a record of a module scanned first, saved mid-scan, is not skipped: the watermark stays below it', async () => {
    tick(10);
    const since = new Date(clock).toISOString();
    tick(1);
    const made = await connector.upsertRecords('activity', [
      { syncId: randomUUID(), fields: { subject: 'T', kind: 'task' } },
      { syncId: randomUUID(), fields: { subject: 'C', kind: 'call', dueAt: '2026-12-12T09:00:00.000Z' } },
      { syncId: randomUUID(), fields: { subject: 'E', kind: 'meeting', dueAt: '2026-12-12T10:00:00.000Z' } },
    ]);
    const task = idOf(made[0]);
    tick(1);
    let edited = '';
    const first = await allChanges({ since, limit: 1 }, () => {
      // After the Tasks pages, before Calls and Events are read: someone edits the task.
      if (edited === '') {
        tick(5);
        edited = String(zoho.admin.changeAsUser('Tasks', task, { Subject: 'T edited' }).Modified_Time);
        // Calls and Events are then read well after the edit: their positions pass it, the Tasks' does not.
        tick(5);
      }
    });
    expect(first.records.map((record) => record.externalId)).toEqual(expect.arrayContaining(made.map(idOf)));
    expect(first.watermark < new Date(Date.parse(edited)).toISOString()).toBe(true);
    tick(1);
    const second = await allChanges({ since: first.watermark });
    expect(second.records.find((record) => record.externalId === task)?.fields.subject).toBe('T edited');
  });

  test('a kind a record cannot hold is said: email is written as a task, a call stays a call', async () => {
    const [email] = await connector.upsertRecords('activity', [{ syncId: randomUUID(), fields: { subject: 'Mail', kind: 'email' } }]);
    expect(email).toMatchObject({ status: 'created', adjusted: ['kind'], written: { subject: 'Mail', kind: 'task' } });
    expect(idOf(email)).toMatch(/^\d+$/);
    const [call] = await connector.upsertRecords('activity', [{ syncId: randomUUID(), fields: { subject: 'Ring', kind: 'call', dueAt: '2026-12-12T09:00:00.000Z', status: 'open' } }]);
    expect(call).toMatchObject({ status: 'created', adjusted: ['status'] });
    const [again] = await connector.upsertRecords('activity', [{ syncId: randomUUID(), externalId: idOf(call), fields: { kind: 'meeting', subject: 'Ring?' } }]);
    expect(again).toMatchObject({ status: 'updated', externalId: idOf(call), adjusted: ['kind'], written: { kind: 'call', subject: 'Ring?' } });
    const [read] = await connector.readRecords('activity', [idOf(call)]);
    expect(read?.fields).toMatchObject({ kind: 'call', subject: 'Ring?' });
  });

  test('an insert repeated after a lost answer updates the record holding the sync id, not a second one', async () => {
    const syncId = randomUUID();
    const [made] = await connector.upsertRecords('activity', [{ syncId, fields: { subject: 'Once', kind: 'meeting', dueAt: '2026-12-12T10:00:00.000Z' } }]);
    const [again] = await connector.upsertRecords('activity', [{ syncId, fields: { subject: 'Twice', kind: 'meeting', dueAt: '2026-12-12T10:00:00.000Z' } }]);
    expect(idOf(again)).toBe(idOf(made));
    expect((await connector.readRecords('activity', [idOf(made)]))[0]?.fields.subject).toBe('Twice');
  });

  test('a task id from before kinds (plain Zoho id) still reads as a task', async () => {
    const row = zoho.admin.createAsUser('Tasks', { Subject: 'Old', Due_Date: '2026-12-01' });
    const [read] = await connector.readRecords('activity', [String(row.id)]);
    expect(read).toMatchObject({ externalId: String(row.id), fields: { kind: 'task', subject: 'Old', dueAt: '2026-12-01T00:00:00.000Z' } });
  });
});

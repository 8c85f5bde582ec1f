import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ChangesRequest, ExternalRecord, UpsertInput, UpsertOutcome } from '../../../src/connectors/connector';
import type { DynamicsConnector } from '../../../src/connectors/dynamics/index';
import { startHarness, syncId, type Harness } from './support';

const idOf = (outcome: UpsertOutcome | undefined): string => (outcome && 'externalId' in outcome ? outcome.externalId : '');

async function allChanges(connector: DynamicsConnector, request: ChangesRequest, between?: () => void): Promise<{ records: ExternalRecord[]; watermark: string }> {
  const records: ExternalRecord[] = [];
  let cursor: string | undefined;
  let watermark: string;
  do {
    const page = await connector.listChanges('activity', { ...request, cursor });
    records.push(...page.records);
    watermark = page.highWatermark;
    cursor = page.nextCursor;
    between?.();
  } while (cursor);
  return { records, watermark };
}

async function exportAll(connector: DynamicsConnector): Promise<ExternalRecord[]> {
  const records: ExternalRecord[] = [];
  let cursor: string | undefined = await connector.bulk.startExport('activity');
  while (cursor) {
    const page: { records: ExternalRecord[]; nextCursor?: string | undefined } = await connector.bulk.readExportPage(cursor);
    records.push(...page.records);
    cursor = page.nextCursor;
  }
  return records;
}

describe('Dynamics connector: activity kinds over HTTP', () => {
  let harness: Harness;
  let connector: DynamicsConnector;
  let company: string;
  let deal: string;
  const contacts: string[] = [];
  // Dataverse stamps are whole seconds: tests move this clock to put writes in different seconds.
  let clock = Date.parse('2026-12-06T10:00:00.000Z');

  beforeAll(async () => {
    harness = await startHarness({ now: () => clock });
    connector = harness.connector;
    const [account] = await connector.upsertRecords('company', [{ syncId: syncId(), fields: { name: 'Contoso' } }]);
    company = idOf(account);
    const [opportunity] = await connector.upsertRecords('deal', [{ syncId: syncId(), fields: { name: 'Renewal' } }]);
    deal = idOf(opportunity);
    const people = await connector.upsertRecords('contact', ['a', 'b', 'c'].map((name) => ({ syncId: syncId(), fields: { lastName: name } })));
    contacts.push(...people.map(idOf));
  });
  afterAll(async () => harness.stop());

  test('each kind is created in its table, read back with its kind and slots on every read path, updated, deleted', async () => {
    const [a, b, c] = contacts as [string, string, string];
    const due = '2026-12-10T09:00:00.000Z';
    const inputs: UpsertInput[] = [
      { syncId: syncId(), fields: { subject: 'Call', kind: 'call', dueAt: due, status: 'open' }, references: { contacts: [a, b], deal } },
      { syncId: syncId(), fields: { subject: 'Mail', kind: 'email', dueAt: due, status: 'completed' }, references: { contacts: [a], company } },
      { syncId: syncId(), fields: { subject: 'Meet', kind: 'meeting', dueAt: due, priority: 'high' }, references: { contacts: [b, c], deal } },
      { syncId: syncId(), fields: { subject: 'Todo', kind: 'task', dueAt: due }, references: { company } },
    ];
    const outcomes = await connector.upsertRecords('activity', inputs);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'created', 'created', 'created']);
    const [call, email, meeting, task] = outcomes.map(idOf) as [string, string, string, string];
    // Each in its own table, parties where the table has them, in the type chosen for contacts.
    expect(harness.sandbox.admin.getRecord('phonecalls', call)).toMatchObject({ _regardingobjectid_value: deal });
    expect(harness.sandbox.admin.getRecord('emails', email)).toMatchObject({ statecode: 1, statuscode: 2 });
    expect(harness.sandbox.admin.getRecord('appointments', meeting)).toMatchObject({ prioritycode: 2, scheduledstart: due });
    expect(harness.sandbox.admin.getRecord('tasks', task)).toBeDefined();
    const parties = harness.sandbox.admin.listRecords('activityparties');
    expect(parties.filter((party) => party._activityid_value === meeting).map((party) => party.participationtypemask)).toEqual([5, 5]);

    const expected: Record<string, { kind: string; references: Record<string, unknown> }> = {
      [call]: { kind: 'call', references: { deal, contacts: [a, b].sort() } },
      [email]: { kind: 'email', references: { company, contacts: [a] } },
      [meeting]: { kind: 'meeting', references: { deal, contacts: [b, c].sort() } },
      [task]: { kind: 'task', references: { company } },
    };
    const check = (records: readonly ExternalRecord[]): void => {
      for (const [id, want] of Object.entries(expected)) {
        const record = records.find((candidate) => candidate.externalId === id);
        expect(record?.fields.kind).toBe(want.kind);
        expect(record?.fields.dueAt).toBe(due);
        expect(record?.references).toEqual(want.references);
      }
    };
    check(await connector.readRecords('activity', [call, email, meeting, task]));
    check((await allChanges(connector, { since: '2000-01-01T00:00:00.000Z' })).records);
    check(await exportAll(await harness.connect({ pageSize: 2 })));

    // Updated: contacts made exact through the party collection, fields on the record's own table.
    clock += 1_000;
    const updated = await connector.upsertRecords('activity', [
      { syncId: (inputs[0] as UpsertInput).syncId, externalId: call, fields: { subject: 'Call 2', status: 'completed' }, references: { contacts: [c] } },
      { syncId: (inputs[2] as UpsertInput).syncId, externalId: meeting, fields: { subject: 'Meet 2' }, references: { contacts: [] } },
    ]);
    expect(updated.map((outcome) => outcome.status)).toEqual(['updated', 'updated']);
    const [callRead, meetingRead] = await connector.readRecords('activity', [call, meeting]);
    expect(callRead).toMatchObject({ fields: { subject: 'Call 2', status: 'completed', kind: 'call' }, references: { deal, contacts: [c] } });
    expect(meetingRead).toMatchObject({ fields: { subject: 'Meet 2', kind: 'meeting' }, references: { deal, contacts: [] } });

    // Deleted in its own table, and the deletion feed of that table reports it.
    const baseline = await (async () => {
      let page = await connector.listDeletions('activity', { since: '2000-01-01T00:00:00.000Z' });
      while (page.nextCursor) page = await connector.listDeletions('activity', { since: '2000-01-01T00:00:00.000Z', cursor: page.nextCursor });
      return page.resumeCursor;
    })();
    expect(await connector.deleteRecords('activity', [email, meeting, email])).toEqual([
      { externalId: email, status: 'deleted' },
      { externalId: meeting, status: 'deleted' },
      { externalId: email, status: 'not-found' },
    ]);
    expect(harness.sandbox.admin.listRecords('activityparties').filter((party) => party._activityid_value === email)).toHaveLength(0);
    const deleted: string[] = [];
    let page = await connector.listDeletions('activity', { since: '2000-01-01T00:00:00.000Z', cursor: baseline });
    deleted.push(...page.deletions.map((deletion) => deletion.externalId));
    while (page.nextCursor) {
      page = await connector.listDeletions('activity', { since: '2000-01-01T00:00:00.000Z', cursor: page.nextCursor });
      deleted.push(...page.deletions.map((deletion) => deletion.externalId));
    }
    expect(deleted.sort()).toEqual([email, meeting].sort());
    expect(page.resumeCursor).toBeDefined();
  });

  test('a change scan across tables: a task modified while later tables are scanned is found by the next scan', async () => {
    clock += 60_000;
    const start = new Date(clock).toISOString();
    const [task] = await connector.upsertRecords('activity', [{ syncId: syncId(), fields: { subject: 'Early task' } }]);
    clock += 1_000;
    await connector.upsertRecords('activity', [{ syncId: syncId(), fields: { subject: 'Appointment', kind: 'meeting' } }]);
    const polling = await harness.connect({ lookbackMs: 0, pageSize: 1 });
    let modified = false;
    const first = await allChanges(polling, { since: start }, () => {
      if (modified) return;
      modified = true;
      // Tasks are scanned first; this write lands after they were read, in a later second.
      clock += 5_000;
      harness.sandbox.admin.uiUpdate('tasks', idOf(task), { subject: 'Changed mid-scan' });
      clock += 5_000;
      harness.sandbox.admin.uiCreate('appointments', { subject: 'Later meeting' });
    });
    expect(first.records.find((record) => record.externalId === idOf(task))?.fields.subject).toBe('Early task');
    const second = await allChanges(polling, { since: first.watermark });
    expect(second.records.find((record) => record.externalId === idOf(task))?.fields.subject).toBe('Changed mid-scan');
    expect(second.records.some((record) => record.fields.subject === 'Later meeting')).toBe(true);
  });

  test('a task asked to become a meeting stays a task, and the outcome says so', async () => {
    const id = syncId();
    const [created] = await connector.upsertRecords('activity', [{ syncId: id, fields: { subject: 'Stay a task' } }]);
    const taskId = idOf(created);
    const [asked] = await connector.upsertRecords('activity', [{ syncId: id, externalId: taskId, fields: { subject: 'Now a meeting?', kind: 'meeting' } }]);
    expect(asked).toMatchObject({ status: 'updated', externalId: taskId, adjusted: ['kind'], written: { subject: 'Now a meeting?', kind: 'task' } });
    // Without the link, found by its sync id: still its table, never a second record.
    const [again] = await connector.upsertRecords('activity', [{ syncId: id, fields: { kind: 'call' } }]);
    expect(again).toMatchObject({ status: 'updated', externalId: taskId, adjusted: ['kind'] });
    expect(harness.sandbox.admin.listRecords('appointments').filter((row) => row.crm_syncid === id)).toHaveLength(0);
    expect(harness.sandbox.admin.listRecords('phonecalls').filter((row) => row.crm_syncid === id)).toHaveLength(0);
    const [read] = await connector.readRecords('activity', [taskId]);
    expect(read?.fields).toMatchObject({ subject: 'Now a meeting?', kind: 'task' });
  });

  test('task ids made before kinds existed still read, as tasks', async () => {
    const row = harness.sandbox.admin.uiCreate('tasks', { subject: 'Old task', 'regardingobjectid_account_task@odata.bind': `/accounts(${company})` });
    const [read] = await connector.readRecords('activity', [String(row.activityid)]);
    expect(read).toMatchObject({ externalId: row.activityid, fields: { subject: 'Old task', kind: 'task' }, references: { company } });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput } from '../../../src/connectors/connector';
import { mergeDeletionPages } from '../../../src/connectors/salesforce/activities';
import { startHarness, stopAll, type Harness } from './sandbox-connector';
import { landed } from '../../support/landed';

afterEach(stopAll);

const DUE = '2026-11-20T10:00:00.000Z';
const kinds = ['call', 'email', 'meeting', 'task'] as const;

async function allChanges(harness: Harness, since: string, limit?: number, between?: (page: number) => void): Promise<ExternalRecord[]> {
  const records: ExternalRecord[] = [];
  let cursor: string | undefined;
  let page = 0;
  do {
    const answer = await harness.connector.listChanges('activity', { since, cursor, limit });
    records.push(...answer.records);
    cursor = answer.nextCursor;
    between?.((page += 1));
  } while (cursor);
  return records;
}

async function exportAll(harness: Harness): Promise<ExternalRecord[]> {
  const records: ExternalRecord[] = [];
  let cursor: string | undefined = await harness.connector.bulk.startExport('activity');
  while (cursor) {
    const page = await harness.connector.bulk.readExportPage(cursor);
    records.push(...page.records);
    cursor = page.nextCursor;
  }
  return records;
}

const EPOCH = '2000-01-01T00:00:00.000Z';
const minuteBefore = (now: number): string => new Date(now - 60_000).toISOString();

describe('Salesforce activity kinds: calls, emails and tasks are Tasks, meetings are Events', () => {
  it('creates each kind on its object, reads it back with its kind and slots on every read path, updates and deletes it', async () => {
    // getDeleted covers whole seconds: the org's clock is moved past the deletes' second instead of waiting.
    let orgNow = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    const harness = await startHarness({ now: () => orgNow });
    const seeded = harness.sandbox.admin.seed({ contacts: 1, deals: 1 });
    const contact = String(seeded.Contact?.[0]);
    const deal = String(seeded.Opportunity?.[0]);
    const inputs: UpsertInput[] = kinds.map((kind) => ({ syncId: `act-${kind}`, fields: { subject: `A ${kind}`, kind, dueAt: DUE }, references: { contacts: [contact], deal } }));
    const outcomes = (await harness.connector.upsertRecords('activity', inputs)).map(landed);
    expect(outcomes.map((outcome) => [outcome.status, outcome.externalId.slice(0, 3)])).toEqual([
      ['created', '00T'],
      ['created', '00T'],
      ['created', '00U'],
      ['created', '00T'],
    ]);
    expect(outcomes.every((outcome) => outcome.adjusted === undefined)).toBe(true);
    const ids = outcomes.map((outcome) => outcome.externalId);
    expect(harness.sandbox.admin.getRecord('Task', ids[0] as string)?.TaskSubtype).toBe('Call');
    expect(harness.sandbox.admin.getRecord('Event', ids[2] as string)).toMatchObject({ StartDateTime: '2026-11-20T10:00:00.000+0000', DurationInMinutes: 30, WhoId: contact, WhatId: deal });

    const expected = (record: ExternalRecord | undefined, kind: string): void => {
      expect(record?.fields.kind).toBe(kind);
      expect(record?.fields.subject).toBe(`A ${kind}`);
      expect(record?.references).toEqual({ contacts: [contact], deal });
    };
    const byId = (records: ExternalRecord[]) => new Map(records.map((record) => [record.externalId, record]));
    const read = byId(await harness.connector.readRecords('activity', ids));
    const changed = byId(await allChanges(harness, EPOCH));
    const exported = byId(await exportAll(harness));
    for (const [index, kind] of kinds.entries()) for (const path of [read, changed, exported]) expected(path.get(ids[index] as string), kind);
    // A Task's dueAt is its date (midnight UTC), a meeting's its start.
    expect([read.get(ids[0] as string)?.fields.dueAt, read.get(ids[2] as string)?.fields.dueAt]).toEqual([null, DUE]);
    expect(read.get(ids[2] as string)?.fields).not.toHaveProperty('status');

    const updates = kinds.map((kind, index) => ({ syncId: `act-${kind}`, externalId: ids[index] as string, fields: { subject: `B ${kind}`, kind }, references: { contacts: [], company: null, deal: null } }));
    expect((await harness.connector.upsertRecords('activity', updates)).map((outcome) => [outcome.status, 'adjusted' in outcome ? outcome.adjusted : undefined])).toEqual(kinds.map(() => ['updated', undefined]));
    const after = byId(await harness.connector.readRecords('activity', ids));
    expect(ids.map((id) => after.get(id)).map((record) => [record?.fields.subject, record?.fields.kind, record?.references])).toEqual(kinds.map((kind) => [`B ${kind}`, kind, { contacts: [], deal: null, company: null }]));

    expect(await harness.connector.deleteRecords('activity', [ids[2] as string, ids[0] as string])).toEqual([
      { externalId: ids[2], status: 'deleted' },
      { externalId: ids[0], status: 'deleted' },
    ]);
    expect(await harness.connector.deleteRecords('activity', [ids[0] as string, ids[2] as string])).toEqual([
      { externalId: ids[0], status: 'not-found' },
      { externalId: ids[2], status: 'not-found' },
    ]);
    expect((await harness.connector.readRecords('activity', ids)).map((record) => record.externalId).sort()).toEqual([ids[1], ids[3]].sort());
    orgNow += 1_000;
    const deletions = await harness.connector.listDeletions('activity', { since: minuteBefore(orgNow) });
    expect(deletions.deletions.map((deletion) => deletion.externalId).sort()).toEqual([ids[0], ids[2]].sort());
  });

  it('moves a meeting on the Composite versioned path and through Bulk 2.0 ingest, on its own object', async () => {
    // Versions are whole seconds (If-Unmodified-Since): the org's clock moves on between saves and reads.
    let orgNow = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    const harness = await startHarness({ now: () => orgNow });
    const [created] = (await harness.connector.bulk.upsert('activity', [{ syncId: 'bulk-meeting', fields: { subject: 'Bulk demo', kind: 'meeting', dueAt: DUE } }, { syncId: 'bulk-call', fields: { subject: 'Bulk call', kind: 'call' } }])).map(landed);
    expect(created?.externalId.startsWith('00U')).toBe(true);
    expect(harness.sandbox.admin.listRecords('Task').map((task) => [task.Subject, task.TaskSubtype])).toEqual([['Bulk call', 'Call']]);
    orgNow += 2_000;
    const [current] = await harness.connector.readRecords('activity', [created?.externalId as string]);
    harness.sandbox.admin.editAsUser('Event', created?.externalId as string, { DurationInMinutes: 90 });
    orgNow += 2_000;
    const stale = await harness.connector.upsertRecords('activity', [{ syncId: 'bulk-meeting', externalId: created?.externalId, ifVersion: current?.version, fields: { dueAt: '2026-11-21T09:00:00.000Z' } }]);
    expect(stale[0]?.status).toBe('version-changed');
    const [fresh] = await harness.connector.readRecords('activity', [created?.externalId as string]);
    const moved = await harness.connector.upsertRecords('activity', [{ syncId: 'bulk-meeting', externalId: created?.externalId, ifVersion: fresh?.version, fields: { dueAt: '2026-11-21T09:00:00.000Z' } }]);
    expect(moved[0]?.status).toBe('updated');
    // The length a person set is kept: only a create sends the default.
    expect(harness.sandbox.admin.getRecord('Event', created?.externalId as string)).toMatchObject({ StartDateTime: '2026-11-21T09:00:00.000+0000', DurationInMinutes: 90 });
  });

  it('reports a kind the record cannot take as adjusted, with the fields as written, and writes the rest', async () => {
    const harness = await startHarness();
    const [call, meeting] = (await harness.connector.upsertRecords('activity', [{ syncId: 'k-call', fields: { subject: 'Call', kind: 'call' } }, { syncId: 'k-meet', fields: { subject: 'Meet', kind: 'meeting', dueAt: DUE } }])).map(landed);
    const outcomes = await harness.connector.upsertRecords('activity', [
      { syncId: 'k-call', externalId: call?.externalId, fields: { subject: 'Now a meeting?', kind: 'meeting' } },
      { syncId: 'k-call', externalId: call?.externalId, fields: { kind: 'email' } },
      { syncId: 'k-meet', externalId: meeting?.externalId, fields: { subject: 'Still a meeting', kind: 'task', priority: 'high', dueAt: '2026-11-20T10:00:00.250Z' } },
    ]);
    expect(outcomes.map((outcome) => ('adjusted' in outcome ? [outcome.status, outcome.adjusted, outcome.written] : [outcome.status]))).toEqual([
      ['updated', ['kind'], { subject: 'Now a meeting?', kind: 'call' }],
      ['updated', ['kind'], { kind: 'call' }],
      ['updated', ['kind', 'priority', 'dueAt'], { subject: 'Still a meeting', kind: 'meeting', dueAt: DUE }],
    ]);
    const read = await harness.connector.readRecords('activity', [call?.externalId as string, meeting?.externalId as string]);
    expect(read.map((record) => [record.fields.subject, record.fields.kind])).toEqual([
      ['Now a meeting?', 'call'],
      ['Still a meeting', 'meeting'],
    ]);
    // A retried create lands on the record its sync id is on: no duplicate, no create-only field sent to it.
    const again = await harness.connector.upsertRecords('activity', [{ syncId: 'k-call', fields: { subject: 'Retried', kind: 'task' } }]);
    expect(again[0]).toMatchObject({ status: 'updated', externalId: call?.externalId, adjusted: ['kind'], written: { kind: 'call' } });
    expect(harness.sandbox.admin.listRecords('Task')).toHaveLength(1);
    // A meeting cannot be created without a start.
    const [noStart] = await harness.connector.upsertRecords('activity', [{ syncId: 'k-nostart', fields: { subject: 'When?', kind: 'meeting' } }]);
    expect(noStart).toMatchObject({ status: 'failed', error: { errorClass: 'validation', fieldErrors: [{ field: 'dueAt' }] } });
  });

  it('scans Task and Event changes in one cursor, oldest first, and a Task saved mid-scan is met again', async () => {
    const harness = await startHarness();
    // Saved in turn, so every page has to merge the two objects' streams.
    const tasks: string[] = [];
    const events: string[] = [];
    for (let n = 0; n < 30; n += 1) {
      tasks.push(String(harness.sandbox.admin.createAsUser('Task', { Subject: `Task ${n}`, TaskSubtype: n % 2 ? 'Call' : 'Task' }).Id));
      events.push(String(harness.sandbox.admin.createAsUser('Event', { Subject: `Meeting ${n}`, StartDateTime: DUE, DurationInMinutes: 30 }).Id));
    }
    const watermarks: string[] = [];
    const pages: ExternalRecord[][] = [];
    let cursor: string | undefined;
    let edited = false;
    do {
      const page = await harness.connector.listChanges('activity', { since: EPOCH, cursor, limit: 7 });
      pages.push(page.records);
      watermarks.push(page.highWatermark);
      cursor = page.nextCursor;
      if (!edited && pages.length === 2) {
        // The first Task was returned already; a person saves it while the scan pages on.
        harness.sandbox.admin.editAsUser('Task', tasks[0] as string, { Subject: 'Edited mid-scan' });
        edited = true;
      }
    } while (cursor);
    const all = pages.flat();
    expect(pages.every((page) => page.length <= 7)).toBe(true);
    const stamps = all.map((record) => `${record.modifiedAt} ${record.externalId}`);
    expect(stamps).toEqual([...stamps].sort());
    expect(new Set(stamps).size).toBe(stamps.length);
    expect(new Set(all.map((record) => record.externalId))).toEqual(new Set([...tasks, ...events]));
    expect(all.filter((record) => record.externalId === tasks[0]).map((record) => record.fields.subject).at(-1)).toBe('Edited mid-scan');
    // The watermark never passes what either object has been scanned up to: each is at most the newest record returned so far.
    let newest = EPOCH;
    pages.forEach((page, index) => {
      for (const record of page) if (record.modifiedAt > newest) newest = record.modifiedAt;
      expect(watermarks[index]).toBe(newest);
    });
  });

  it('keeps Task ids made before kinds: read as tasks by their subtype, and Event ids go to Event', async () => {
    const harness = await startHarness();
    const old = String(harness.sandbox.admin.createAsUser('Task', { Subject: 'Old email', TaskSubtype: 'ListEmail' }).Id);
    const meeting = String(harness.sandbox.admin.createAsUser('Event', { Subject: 'Sync', StartDateTime: DUE, EndDateTime: '2026-11-20T11:00:00.000Z' }).Id);
    const read = await harness.connector.readRecords('activity', [old, meeting]);
    expect(read.map((record) => [record.externalId, record.fields.kind, record.fields.dueAt ?? null])).toEqual([
      [old, 'email', null],
      [meeting, 'meeting', DUE],
    ]);
    const counts = harness.sandbox.admin.stats().requests;
    expect([counts['SOQL Task'], counts['SOQL Event']]).toEqual([1, 1]);
  });

  it('merges Task and Event deletions oldest first, the watermark at the object covered least far', () => {
    const task = { deletions: [{ externalId: '00Tb', deletedAt: '2026-01-01T00:00:02.000Z' }], highWatermark: '2026-01-01T00:00:05.000Z' };
    const event = { deletions: [{ externalId: '00Ua', deletedAt: '2026-01-01T00:00:01.000Z' }], highWatermark: '2026-01-01T00:00:03.000Z' };
    expect(mergeDeletionPages([task, event])).toEqual({ deletions: [event.deletions[0], task.deletions[0]], highWatermark: '2026-01-01T00:00:03.000Z' });
  });
});

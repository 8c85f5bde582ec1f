import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangePage, ExternalRecord, UpsertOutcome } from '../../../src/connectors/connector';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

const EPOCH = '2000-01-01T00:00:00.000Z';
const KINDS = ['call', 'email', 'meeting', 'task'] as const;
const PATHS = { call: 'calls', email: 'emails', meeting: 'meetings', task: 'tasks' } as const;

/** Activities are four HubSpot objects: each kind over real HTTP, on every read path and write path. */
describe('HubSpot connector: activity kinds', () => {
  let hs: HubSpotSandbox;
  let connector: HubSpotConnector;
  let contactId: string;
  let companyId: string;
  let dealId: string;

  beforeAll(async () => {
    hs = await startHubSpotSandbox({ limits: false });
    // No lookback: a page's watermark can then be compared with the modstamps that follow it.
    connector = await createHubSpotConnector({ connectionId: `hs-kinds-${randomUUID()}`, basePath: hs.url, auth: { kind: 'private-app', accessToken: hs.credentials.accessToken }, lookbackMs: 0 });
    const [contact, company, deal] = await Promise.all([
      connector.upsertRecords('contact', [{ syncId: randomUUID(), fields: { email: `${randomUUID()}@kinds.example`, lastName: 'Kind' } }]),
      connector.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'Kinds Inc' } }]),
      connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Kinds deal' } }]),
    ]);
    contactId = created(contact[0]);
    companyId = created(company[0]);
    dealId = created(deal[0]);
  });
  afterAll(async () => hs.stop());

  function created(outcome: UpsertOutcome | undefined): string {
    if (outcome?.status !== 'created') throw new Error(`not created: ${JSON.stringify(outcome)}`);
    return outcome.externalId;
  }

  async function scan(since: string, limit?: number): Promise<ChangePage[]> {
    const pages: ChangePage[] = [];
    let cursor: string | undefined;
    do {
      const page = await connector.listChanges('activity', { since, cursor, limit });
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor);
    return pages;
  }

  async function exported(): Promise<ExternalRecord[]> {
    const records: ExternalRecord[] = [];
    let cursor: string | undefined = await connector.bulk.startExport('activity');
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      records.push(...page.records);
      cursor = page.nextCursor;
    }
    return records;
  }

  it('creates each kind in its own object, reads it back with its kind and slots on every read path, updates it there and archives it', async () => {
    const dueAt = '2026-12-01T09:00:00.000Z';
    const outcomes = await connector.upsertRecords(
      'activity',
      KINDS.map((kind) => ({
        syncId: randomUUID(),
        fields: { kind, subject: `A ${kind}`, description: `About the ${kind}`, dueAt, status: 'open' },
        references: { contacts: [contactId], company: companyId, deal: dealId },
      })),
    );
    const ids = outcomes.map(created);
    // Calls, emails and meetings are spelled with their object; tasks keep plain numbers.
    expect(ids.map((id) => id.replace(/\d+$/, ''))).toEqual(['calls:', 'emails:', 'meetings:', '']);
    KINDS.forEach((kind, index) => {
      const raw = (ids[index] as string).replace(/^\w+:/, '');
      expect(hs.admin.getRecord(PATHS[kind], raw)?.properties.hs_timestamp).toBe(dueAt);
    });
    expect(hs.admin.getRecord('calls', (ids[0] as string).slice('calls:'.length))?.properties.hs_call_title).toBe('A call');
    expect(hs.admin.getRecord('meetings', (ids[2] as string).slice('meetings:'.length))?.properties.hs_meeting_start_time).toBe(dueAt);

    const expected = (kind: (typeof KINDS)[number]) => ({ kind, subject: `A ${kind}`, description: `About the ${kind}`, dueAt, status: 'open' });
    const slots = { contacts: [contactId], company: companyId, deal: dealId };
    const check = (records: readonly ExternalRecord[]): void => {
      KINDS.forEach((kind, index) => {
        const record = records.find((candidate) => candidate.externalId === ids[index]);
        expect(record?.fields, `${kind} fields`).toMatchObject(expected(kind));
        expect(record?.references, `${kind} slots`).toEqual(slots);
      });
    };
    check(await connector.readRecords('activity', ids));
    check((await scan(EPOCH)).flatMap((page) => page.records));
    check(await exported());

    const updated = await connector.upsertRecords(
      'activity',
      KINDS.map((kind, index) => ({ syncId: (outcomes[index] as { syncId: string }).syncId, externalId: ids[index], fields: { subject: `${kind} renamed`, status: 'completed' }, references: { company: null } })),
    );
    expect(updated.map((outcome) => [outcome.status, 'externalId' in outcome ? outcome.externalId : undefined])).toEqual(ids.map((id) => ['updated', id]));
    const reread = await connector.readRecords('activity', ids);
    expect(reread.map((record) => [record.fields.kind, record.fields.subject, record.fields.status, record.references.company])).toEqual(KINDS.map((kind) => [kind, `${kind} renamed`, 'completed', null]));
    // The statuses as each object spells them.
    expect(hs.admin.getRecord('calls', (ids[0] as string).slice(6))?.properties.hs_call_status).toBe('COMPLETED');
    expect(hs.admin.getRecord('meetings', (ids[2] as string).slice(9))?.properties.hs_meeting_outcome).toBe('COMPLETED');

    const since = new Date(Date.now() - 1000).toISOString();
    expect(await connector.deleteRecords('activity', ids)).toEqual(ids.map((externalId) => ({ externalId, status: 'deleted' })));
    expect(await connector.readRecords('activity', ids)).toEqual([]);
    let cursor: string | undefined;
    const deleted: string[] = [];
    do {
      const page = await connector.listDeletions('activity', { since, cursor });
      deleted.push(...page.deletions.map((deletion) => deletion.externalId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(deleted.sort()).toEqual([...ids].sort());
  });

  it('derives what each object requires and no canonical field gives, and says so', async () => {
    const [call, email, meeting] = await connector.upsertRecords('activity', [
      { syncId: randomUUID(), fields: { kind: 'call', subject: 'No time given', priority: 'high' } },
      { syncId: randomUUID(), fields: { kind: 'email', subject: 'Logged' } },
      { syncId: randomUUID(), fields: { kind: 'meeting', subject: 'Met', dueAt: '2026-11-02T10:00:00.000Z' } },
    ]);
    expect(call).toMatchObject({ status: 'created', adjusted: ['priority', 'dueAt'] });
    const callWritten = call?.status === 'created' ? call.written : undefined;
    expect(callWritten?.priority).toBeUndefined();
    expect(Date.parse(String(callWritten?.dueAt))).not.toBeNaN();
    expect(hs.admin.getRecord('calls', created(call).slice(6))?.properties.hs_timestamp).toBe(callWritten?.dueAt);
    expect(hs.admin.getRecord('emails', created(email).slice(7))?.properties.hs_email_direction).toBe('EMAIL');
    const meetingProps = hs.admin.getRecord('meetings', created(meeting).slice(9))?.properties;
    expect([meetingProps?.hs_meeting_start_time, meetingProps?.hs_meeting_end_time]).toEqual(['2026-11-02T10:00:00.000Z', '2026-11-02T10:00:00.000Z']);
  });

  it('reports a task asked to become a meeting as adjusted, and writes the rest', async () => {
    const syncId = randomUUID();
    const taskId = created((await connector.upsertRecords('activity', [{ syncId, fields: { subject: 'Plain task', dueAt: '2026-10-01T08:00:00.000Z' } }]))[0]);
    expect(taskId).toMatch(/^\d+$/);
    const [outcome] = await connector.upsertRecords('activity', [{ syncId, externalId: taskId, fields: { kind: 'meeting', subject: 'Now a meeting?' } }]);
    expect(outcome).toMatchObject({ status: 'updated', externalId: taskId, adjusted: ['kind'], written: { kind: 'task', subject: 'Now a meeting?' } });
    const [record] = await connector.readRecords('activity', [taskId]);
    expect(record?.fields).toMatchObject({ kind: 'task', subject: 'Now a meeting?' });
    expect(hs.admin.listRecords('meetings').some((meeting) => meeting.properties.crm_sync_id === syncId)).toBe(false);
  });

  it('still reads the plain numeric ids of tasks linked before kinds, and nothing for a spelling no object has', async () => {
    const task = hs.admin.createAsUser('tasks', { hs_task_subject: 'Linked long ago', hs_timestamp: '2026-01-05T00:00:00.000Z', hs_task_status: 'NOT_STARTED' });
    const records = await connector.readRecords('activity', [task.id, `tickets:${task.id}`, `calls:${task.id}`]);
    expect(records.map((record) => [record.externalId, record.fields.kind, record.fields.subject])).toEqual([[task.id, 'task', 'Linked long ago']]);
  });

  it('keeps the scan across objects whole: the watermark never passes an object not yet scanned, and a record edited mid-scan in an object already scanned is returned', async () => {
    const since = new Date(Date.now() - 1).toISOString();
    // Created newest-last in scan order reversed: tasks (scanned first) hold the newest stamps.
    const made = await connector.upsertRecords(
      'activity',
      (['meeting', 'email', 'call', 'task'] as const).map((kind) => ({ syncId: randomUUID(), fields: { kind, subject: `Scan ${kind}`, dueAt: '2026-09-09T09:00:00.000Z' } })),
    );
    const taskId = created(made[3]);
    const pages: ChangePage[] = [];
    let cursor: string | undefined;
    let edited = false;
    do {
      const page = await connector.listChanges('activity', { since, cursor, limit: 1 });
      pages.push(page);
      cursor = page.nextCursor;
      // Once the tasks object is behind the scan, a person edits the task.
      if (!edited && page.records.some((record) => record.fields.kind !== 'task')) {
        hs.admin.changeAsUser('tasks', taskId, { hs_task_subject: 'Edited mid-scan' });
        edited = true;
      }
    } while (cursor);
    expect(edited).toBe(true);
    const seen = pages.flatMap((page) => page.records);
    const keys = seen.map((record) => `${record.externalId}@${record.modifiedAt}`);
    expect(new Set(keys).size, 'nothing returned twice with one modstamp').toBe(keys.length);
    // Not lost: returned by this scan, or by the next one, which starts at this scan's watermark.
    const next = (await scan((pages[pages.length - 1] as ChangePage).highWatermark)).flatMap((page) => page.records);
    expect([...seen, ...next].find((record) => record.externalId === taskId && record.fields.subject === 'Edited mid-scan')).toBeDefined();
    for (const kind of KINDS) expect(seen.some((record) => record.fields.kind === kind), kind).toBe(true);
    pages.forEach((page, index) => {
      for (const later of pages.slice(index + 1).flatMap((next) => next.records)) {
        expect(Date.parse(later.modifiedAt), `page ${index} watermark passed ${later.externalId}`).toBeGreaterThanOrEqual(Date.parse(page.highWatermark));
      }
      for (const record of page.records.slice(1)) expect(Date.parse(record.modifiedAt)).toBeGreaterThanOrEqual(Date.parse((page.records[0] as ExternalRecord).modifiedAt));
    });
    const last = pages[pages.length - 1] as ChangePage;
    expect(Date.parse(last.highWatermark)).toBeLessThanOrEqual(Math.max(...seen.map((record) => Date.parse(record.modifiedAt))));
  });
});

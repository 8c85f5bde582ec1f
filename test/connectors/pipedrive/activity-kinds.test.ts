import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord, UpsertInput, UpsertOutcome } from '../../../src/connectors/connector';
import type { PipedriveConnector } from '../../../src/connectors/pipedrive';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';

/**
 * Activity kinds over real HTTP against the Pipedrive sandbox (BEHAVIOR.md, "Activity kinds"): the
 * activity's `type` (an activity type's key_string) is the kind for call, email, meeting and task;
 * other types read as null; a kind is a field, so an update may change it; null cannot be written.
 */
describe('Pipedrive connector: activity kinds', () => {
  let pd: PipedriveSandbox;
  let connector: PipedriveConnector;

  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false });
    connector = await connectorFor(pd, { lookbackMs: 0 });
  });
  afterAll(async () => {
    await connector.close();
    await pd.stop();
  });

  async function upsert(input: UpsertInput): Promise<Extract<UpsertOutcome, { status: 'created' | 'updated' | 'unchanged' }>> {
    const [outcome] = await connector.upsertRecords('activity', [input]);
    if (outcome?.status !== 'created' && outcome?.status !== 'updated') throw new Error(`not written: ${JSON.stringify(outcome)}`);
    return outcome;
  }

  async function everyPath(id: string, since: string): Promise<ExternalRecord[]> {
    const [read] = await connector.readRecords('activity', [id]);
    const changed = (await connector.listChanges('activity', { since })).records.find((record) => record.externalId === id);
    const exported = (await connector.bulk.readExportPage(await connector.bulk.startExport('activity'))).records.find((record) => record.externalId === id);
    return [read, changed, exported].map((record, index) => {
      if (!record) throw new Error(`activity ${id} missing on read path ${index}`);
      return record;
    });
  }

  it('creates each kind as its type and reads it back on readRecords, listChanges and the export, with dueAt from due_date + due_time', async () => {
    const since = new Date(Date.now() - 5_000).toISOString();
    for (const kind of ['call', 'email', 'meeting', 'task'] as const) {
      const { externalId } = await upsert({ syncId: randomUUID(), fields: { subject: `A ${kind}`, kind, dueAt: '2026-03-02T14:30:00.000Z', status: 'open' } });
      expect(pd.admin.getRecord('activities', Number(externalId))).toMatchObject({ type: kind, due_date: '2026-03-02', due_time: '14:30', done: false });
      for (const record of await everyPath(externalId, since)) expect(record.fields).toMatchObject({ kind, dueAt: '2026-03-02T14:30:00.000Z', status: 'open', subject: `A ${kind}` });
    }
  });

  it('reads other types (deadline, lunch, a custom one) as kind null, never failing the record; a meeting keeps its duration', async () => {
    pd.admin.addActivityType('Site visit', 'car');
    const lunch = Number(pd.admin.createAsUser('activities', { subject: 'Lunch', type: 'lunch' }).id);
    const visit = Number(pd.admin.createAsUser('activities', { subject: 'Visit', type: 'site_visit' }).id);
    const meeting = Number(pd.admin.createAsUser('activities', { subject: 'Demo', type: 'meeting', due_date: '2026-04-01', due_time: '09:00', duration: '01:30' }).id);
    const records = await connector.readRecords('activity', [String(lunch), String(visit), String(meeting)]);
    expect(records.map((record) => record.fields.kind)).toEqual([null, null, 'meeting']);
    // A null kind written back is not a type: the lunch stays a lunch, and the outcome says so.
    const echo = await upsert({ syncId: randomUUID(), externalId: String(lunch), fields: { kind: null, subject: 'Lunch!' } });
    expect(echo.adjusted).toEqual(['kind']);
    expect(echo.written).toEqual({ subject: 'Lunch!' });
    expect(pd.admin.getRecord('activities', lunch)).toMatchObject({ type: 'lunch', subject: 'Lunch!' });
    // Moving a meeting's dueAt keeps its duration (no canonical field holds it).
    await upsert({ syncId: randomUUID(), externalId: String(meeting), fields: { dueAt: '2026-04-02T10:00:00.000Z' } });
    expect(pd.admin.getRecord('activities', meeting)).toMatchObject({ due_date: '2026-04-02', due_time: '10:00', duration: '01:30' });
  });

  it('changes the kind on update (a field, no adjustment), leaves it when absent, and deletes', async () => {
    const syncId = randomUUID();
    const created = await upsert({ syncId, fields: { subject: 'Follow up', kind: 'task' } });
    const updated = await upsert({ syncId, externalId: created.externalId, fields: { kind: 'call' } });
    expect(updated.adjusted).toBeUndefined();
    expect((await connector.readRecords('activity', [created.externalId]))[0]?.fields.kind).toBe('call');
    await upsert({ syncId, externalId: created.externalId, fields: { subject: 'Follow up again' } });
    expect((await connector.readRecords('activity', [created.externalId]))[0]?.fields).toMatchObject({ kind: 'call', subject: 'Follow up again' });
    expect(await connector.deleteRecords('activity', [created.externalId])).toEqual([{ externalId: created.externalId, status: 'deleted' }]);
    expect(await connector.readRecords('activity', [created.externalId])).toEqual([]);
  });

  it('a type the company deactivated is refused by Pipedrive for that record only (validation)', async () => {
    pd.admin.deactivateActivityType('email');
    try {
      const outcomes = await connector.upsertRecords('activity', [
        { syncId: randomUUID(), fields: { subject: 'Mail', kind: 'email' } },
        { syncId: randomUUID(), fields: { subject: 'Ring', kind: 'call' } },
      ]);
      expect(outcomes[0]).toMatchObject({ status: 'failed', error: { errorClass: 'validation' } });
      expect(outcomes[1]?.status).toBe('created');
    } finally {
      pd.admin.activateActivityType('email');
    }
  });
});

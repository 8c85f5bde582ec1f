import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExternalRecord, UpsertInput, UpsertOutcome } from '../../../src/connectors/connector';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import { isUnsettled } from '../../../src/connectors/zoho/read-version';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { connectTo } from './support';

const idOf = (outcome: UpsertOutcome | undefined): string => (outcome && 'externalId' in outcome ? outcome.externalId : '');

/**
 * Activity updates are conditional like the other modules' (docs/architecture.md, "The window
 * between read and write"): a read of Tasks, Calls or Events gives each record the version its
 * update carries as `If-Unmodified-Since` [Z63][Z65], so an activity a person edited after our
 * read is refused and goes round again (`version-changed`) while the others of the call are
 * written, and one read in the second of its last save is held back. Zoho's clock is injected:
 * whole-second stamps land where each case needs them.
 */
describe('Zoho connector: conditional activity updates over HTTP', () => {
  let zoho: ZohoSandbox;
  let connector: ZohoConnector;
  let clock = Date.parse('2026-12-06T10:00:00.000Z');
  const tick = (seconds: number): void => {
    clock += seconds * 1000;
  };

  beforeAll(async () => {
    zoho = await startZohoSandbox({ limits: false, now: () => clock });
    connector = await connectTo(zoho);
  });
  afterAll(async () => {
    await connector.close();
    await zoho.stop();
  });

  async function created(inputs: UpsertInput[]): Promise<{ ids: string[]; syncIds: string[] }> {
    const outcomes = await connector.upsertRecords('activity', inputs);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(inputs.map(() => 'created'));
    return { ids: outcomes.map(idOf), syncIds: inputs.map((input) => input.syncId) };
  }

  /** An update of each record read, conditional on the version the read gave it. */
  const rewrites = (records: ExternalRecord[], syncIds: Map<string, string>, subject: string): UpsertInput[] =>
    records.map((record) => ({ syncId: syncIds.get(record.externalId) as string, externalId: record.externalId, fields: { subject }, ifVersion: record.version }));

  test("a person's edit after our read is refused and kept; the other tasks, calls and meetings of the write are written", async () => {
    const { ids, syncIds } = await created([
      { syncId: randomUUID(), fields: { subject: 'Prepare', kind: 'task' } },
      { syncId: randomUUID(), fields: { subject: 'Follow up', kind: 'task' } },
      { syncId: randomUUID(), fields: { subject: 'Ring', kind: 'call', dueAt: '2026-12-10T09:00:00.000Z' } },
      { syncId: randomUUID(), fields: { subject: 'Meet', kind: 'meeting', dueAt: '2026-12-10T14:00:00.000Z' } },
    ]);
    const [edited, kept, call, meeting] = ids as [string, string, string, string];
    tick(5);
    const read = await connector.readRecords('activity', ids);
    expect(read.map((record) => record.externalId).sort()).toEqual([...ids].sort());
    for (const record of read) {
      expect(record.version, record.externalId).toBeDefined();
      expect(isUnsettled(record.version as string), record.externalId).toBe(false);
    }

    // A person retitles one task in Zoho after our read, in a later second.
    tick(2);
    zoho.admin.changeAsUser('Tasks', edited, { Subject: 'Theirs' });
    tick(1);
    const outcomes = await connector.upsertRecords('activity', rewrites(read, new Map(ids.map((id, index) => [id, syncIds[index] as string])), 'Ours'));
    const byId = new Map(read.map((record, index) => [record.externalId, outcomes[index]?.status]));
    expect(Object.fromEntries(byId)).toEqual({ [edited]: 'version-changed', [kept]: 'updated', [call]: 'updated', [meeting]: 'updated' });
    expect(zoho.admin.getRecord('Tasks', edited)?.Subject).toBe('Theirs');
    expect(zoho.admin.getRecord('Tasks', kept)?.Subject).toBe('Ours');
    expect(zoho.admin.getRecord('Calls', call.slice('Calls:'.length))?.Subject).toBe('Ours');
    expect(zoho.admin.getRecord('Events', meeting.slice('Events:'.length))?.Event_Title).toBe('Ours');

    // Read again (the edit's round), the task is written over the version that holds the edit.
    tick(1);
    const again = await connector.readRecords('activity', [edited]);
    expect(again[0]?.fields.subject).toBe('Theirs');
    expect((await connector.upsertRecords('activity', rewrites(again, new Map([[edited, syncIds[0] as string]]), 'Merged'))).map((outcome) => outcome.status)).toEqual(['updated']);
    expect(zoho.admin.getRecord('Tasks', edited)?.Subject).toBe('Merged');
  });

  test('an activity read in the second of its last save is held back, not written, and written once read in a later second', async () => {
    const { ids, syncIds } = await created([{ syncId: randomUUID(), fields: { subject: 'Quote', kind: 'task' } }]);
    const [task] = ids as [string];
    const syncIdOf = new Map([[task, syncIds[0] as string]]);
    // Zoho's clock stands in one second while a person saves the task and we read it.
    tick(5);
    zoho.admin.changeAsUser('Tasks', task, { Subject: 'Quote v2' });
    const read = await connector.readRecords('activity', [task]);
    expect(isUnsettled(read[0]?.version as string)).toBe(true);
    expect((await connector.upsertRecords('activity', rewrites(read, syncIdOf, 'Ours'))).map((outcome) => outcome.status)).toEqual(['version-changed']);
    expect(zoho.admin.getRecord('Tasks', task)?.Subject).toBe('Quote v2');

    tick(1);
    const settled = await connector.readRecords('activity', [task]);
    expect(isUnsettled(settled[0]?.version as string)).toBe(false);
    expect((await connector.upsertRecords('activity', rewrites(settled, syncIdOf, 'Ours'))).map((outcome) => outcome.status)).toEqual(['updated']);
    expect(zoho.admin.getRecord('Tasks', task)?.Subject).toBe('Ours');
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExternalRecord } from '../../../src/connectors/connector';
import type { DynamicsConnector } from '../../../src/connectors/dynamics/index';
import { startHarness, syncId, type Harness } from './support';

describe('Dynamics connector: changes since T and deletions', () => {
  let harness: Harness;
  let connector: DynamicsConnector;

  beforeAll(async () => {
    harness = await startHarness();
    connector = await harness.connect({ lookbackMs: 0 });
  });
  afterAll(async () => harness.stop());

  test('several pages with rows modified between pages: none lost, none doubled', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const outcomes = await connector.upsertRecords(
      'contact',
      Array.from({ length: 25 }, (_, index) => ({ syncId: syncId(), fields: { lastName: `paged-${index}` } })),
    );
    const ids = outcomes.map((outcome) => ('externalId' in outcome ? outcome.externalId : ''));
    const seen: ExternalRecord[] = [];
    let cursor: string | undefined;
    let pages = 0;
    let touchedEarly = '';
    let touchedLate = '';
    do {
      const page = await connector.listChanges('contact', { since, cursor, limit: 10 });
      seen.push(...page.records);
      cursor = page.nextCursor;
      pages += 1;
      if (pages === 1) {
        // Between pages: edit a row already returned and a row not yet returned (same second).
        touchedEarly = page.records[0]?.externalId ?? '';
        touchedLate = ids.find((id) => !seen.some((record) => record.externalId === id)) ?? '';
        harness.sandbox.admin.uiUpdate('contacts', touchedEarly, { lastname: 'edited-early' });
        harness.sandbox.admin.uiUpdate('contacts', touchedLate, { lastname: 'edited-late' });
      }
      expect(page.highWatermark >= since).toBe(true);
    } while (cursor);

    expect(pages).toBeGreaterThanOrEqual(3);
    const count = (id: string): number => seen.filter((record) => record.externalId === id).length;
    for (const id of ids) if (id !== touchedEarly) expect(count(id)).toBe(1);
    // The early row changed after it was returned: its new version comes again, once.
    expect(count(touchedEarly)).toBe(2);
    expect(seen.filter((record) => record.externalId === touchedEarly).at(-1)?.fields.lastName).toBe('edited-early');
    expect(seen.find((record) => record.externalId === touchedLate)?.fields.lastName).toBe('edited-late');
    expect(seen.find((record) => record.externalId === touchedLate)?.lastModifiedBy).toBe(harness.sandbox.users.uiUserId);
    // Oldest first.
    const stamps = seen.map((record) => record.modifiedAt);
    expect([...stamps].sort()).toEqual(stamps);
  });

  test('window boundary: a row written in the watermark second is not lost on the next scan', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const [first] = await connector.upsertRecords('company', [{ syncId: syncId(), fields: { name: 'boundary-a' } }]);
    let high = since;
    for (let cursor: string | undefined, started = false; !started || cursor; started = true) {
      const page = await connector.listChanges('company', { since, cursor });
      high = page.highWatermark;
      cursor = page.nextCursor;
    }
    // Written right after the scan, most likely inside the same rendered second as `high`.
    const [second] = await connector.upsertRecords('company', [{ syncId: syncId(), fields: { name: 'boundary-b' } }]);
    const next = await connector.listChanges('company', { since: high });
    const ids = next.records.map((record) => record.externalId);
    expect(ids).toContain(second?.status === 'created' ? second.externalId : 'missing');
    expect(new Set(ids).size).toBe(ids.length);
    // `until` is exclusive: nothing at or after it comes back.
    const bounded = await connector.listChanges('company', { since, until: since });
    expect(bounded.records).toEqual([]);
    expect(first?.status).toBe('created');
  });

  test('deletions since T through the change-tracking delta link', async () => {
    const outcomes = await connector.upsertRecords('deal', Array.from({ length: 6 }, (_, index) => ({ syncId: syncId(), fields: { name: `deal-${index}` } })));
    const ids = outcomes.map((outcome) => ('externalId' in outcome ? outcome.externalId : ''));
    const since = new Date().toISOString();
    const baseline = await connector.listDeletions('deal', { since });
    expect(baseline.deletions).toEqual([]);
    expect(baseline.resumeCursor).toBeDefined();

    for (const id of ids.slice(0, 3)) harness.sandbox.admin.uiDelete('opportunities', id);
    harness.sandbox.admin.uiUpdate('opportunities', ids[4] as string, { name: 'changed, not deleted' });
    const first = await connector.listDeletions('deal', { since, cursor: baseline.resumeCursor });
    expect(first.deletions.map((deletion) => deletion.externalId).sort()).toEqual(ids.slice(0, 3).sort());
    expect(first.nextCursor).toBeUndefined();

    const quiet = await connector.listDeletions('deal', { since, cursor: first.resumeCursor });
    expect(quiet.deletions).toEqual([]);

    // An expired delta token restarts tracking instead of failing the sync (or inventing deletes).
    harness.sandbox.admin.expireDeltaTokens();
    const restarted = await connector.listDeletions('deal', { since, cursor: quiet.resumeCursor });
    expect(restarted).toMatchObject({ restarted: true, deletions: [] });
    harness.sandbox.admin.uiDelete('opportunities', ids[5] as string);
    const after = await connector.listDeletions('deal', { since, cursor: restarted.resumeCursor });
    expect(after.deletions.map((deletion) => deletion.externalId)).toEqual([ids[5]]);
  });

  test('a baseline larger than one page pages before it yields the delta link', async () => {
    harness.sandbox.admin.seed('tasks', 12);
    let page = await connector.listDeletions('activity', { since: new Date().toISOString(), limit: 5 });
    let pages = 1;
    while (page.nextCursor) {
      page = await connector.listDeletions('activity', { since: page.highWatermark, cursor: page.nextCursor, limit: 5 });
      pages += 1;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(page.resumeCursor).toBeDefined();
  });

  test('deletes through $batch, one part per record: 404 answers not-found, the rest are deleted', async () => {
    const outcomes = await connector.upsertRecords('deal', Array.from({ length: 4 }, (_, index) => ({ syncId: syncId(), fields: { name: `to-delete-${index}` } })));
    const ids = outcomes.map((outcome) => ('externalId' in outcome ? outcome.externalId : ''));
    harness.sandbox.admin.uiDelete('opportunities', ids[0] as string);
    const deleted = await connector.deleteRecords('deal', ids);
    expect(deleted).toEqual([
      { externalId: ids[0], status: 'not-found' },
      { externalId: ids[1], status: 'deleted' },
      { externalId: ids[2], status: 'deleted' },
      { externalId: ids[3], status: 'deleted' },
    ]);
    for (const id of ids) expect(harness.sandbox.admin.getRecord('opportunities', id)).toBeUndefined();
  });
});

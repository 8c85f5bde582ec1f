import { describe, expect, it } from 'vitest';
import { ChangeBuffer, SeenEventIds, countWithin, massDeleteVerdict } from '../../src/model/sync';

describe('ChangeBuffer', () => {
  it('coalesces many notices of one record into one, keeping the newest modstamp', () => {
    const buffer = new ChangeBuffer();
    for (const minute of ['03', '01', '09', '05']) buffer.add({ objectType: 'contact', externalId: '901', modifiedAt: `2026-11-20T10:${minute}:00.000Z` });
    buffer.add({ objectType: 'contact', externalId: '902' });
    buffer.add({ objectType: 'company', externalId: '77' });
    expect(buffer.size).toBe(3);
    expect(buffer.take(10)).toEqual([
      { objectType: 'contact', externalId: '901', modifiedAt: '2026-11-20T10:09:00.000Z', eventId: undefined, deleted: undefined },
      { objectType: 'contact', externalId: '902' },
    ]);
    expect(buffer.take(10)).toEqual([{ objectType: 'company', externalId: '77' }]);
    expect(buffer.take(10)).toEqual([]);
  });

  it('survives serialisation (continue-as-new) unchanged', () => {
    const buffer = new ChangeBuffer([{ objectType: 'deal', externalId: 'd1', deleted: true }]);
    expect(new ChangeBuffer(JSON.parse(JSON.stringify(buffer)) as never).toJSON()).toEqual(buffer.toJSON());
  });
});

describe('SeenEventIds', () => {
  it('drops redeliveries and forgets the oldest ids past its capacity', () => {
    const seen = new SeenEventIds(3);
    expect(['a', 'b', 'a', 'c', 'd'].map((id) => seen.accept(id))).toEqual([true, true, false, true, true]);
    expect(seen.toJSON()).toEqual(['b', 'c', 'd']);
    const restored = new SeenEventIds(3, seen.toJSON());
    expect(restored.accept('c')).toBe(false);
    expect(restored.accept('a')).toBe(true);
  });
});

describe('massDeleteVerdict', () => {
  const guard = { maxShare: 0.1, minDeletions: 10, windowMs: 60 * 60_000 };

  it('lets a few deletions through even when they are a large share of a small connection', () => {
    expect(massDeleteVerdict({ deletions: 9, recentlyApplied: 0, syncedRecords: 20 }, guard)).toEqual({ hold: false });
  });

  it('lets many deletions through when they are a small share', () => {
    expect(massDeleteVerdict({ deletions: 50, recentlyApplied: 0, syncedRecords: 1000 }, guard)).toEqual({ hold: false });
  });

  it('holds deletions above the share, naming the numbers', () => {
    const verdict = massDeleteVerdict({ deletions: 150, recentlyApplied: 0, syncedRecords: 1000 }, guard);
    expect(verdict).toMatchObject({ hold: true, share: 0.15 });
    expect(verdict.hold && verdict.reason).toBe('150 of 1000 synced records deleted within 60 min (15.0% > 10.0%)');
  });

  it('counts what was applied within the window, so a mass delete in small batches is still held', () => {
    // 95 already applied (the connection is down to 905 synced records), 10 more arrive.
    expect(massDeleteVerdict({ deletions: 10, recentlyApplied: 95, syncedRecords: 905 }, guard)).toMatchObject({ hold: true, share: 0.105 });
    expect(massDeleteVerdict({ deletions: 10, recentlyApplied: 85, syncedRecords: 915 }, guard)).toEqual({ hold: false });
  });

  it('forgets deletions older than the window', () => {
    const log = [
      { at: 0, count: 40 },
      { at: 30 * 60_000, count: 5 },
      { at: 59 * 60_000, count: 2 },
    ];
    expect(countWithin(log, 61 * 60_000, guard.windowMs)).toBe(7);
    expect(countWithin(log, 59 * 60_000, guard.windowMs)).toBe(47);
  });
});

import { describe, expect, it } from 'vitest';
import { ChangeBuffer, objectConflictPoliciesSchema, resolveFields, SeenEventIds, type SyncSide, countWithin, massDeleteVerdict } from '../../src/model/sync';

const policies = (spec: unknown = {}) => objectConflictPoliciesSchema.parse(spec);
const side = (connectionId: string, fields: Record<string, unknown>, modifiedAt: string | null = null): SyncSide => ({ connectionId, fields, modifiedAt });

describe('resolveFields', () => {
  it('writes every field of a record the target does not have yet', () => {
    const result = resolveFields({ source: side('sf', { email: 'a@x.io', phone: null }), target: undefined, snapshot: undefined, policies: policies() });
    expect(result).toEqual({ write: { email: 'a@x.io', phone: null }, decisions: [], echo: false });
  });

  it('recognises our own write coming back as an echo: nothing to write, nothing decided', () => {
    const synced = { email: 'a@x.io', firstName: 'Ada', custom: { tier: 'gold' } };
    const result = resolveFields({ source: side('hs', synced), target: side('sf', synced), snapshot: synced, policies: policies() });
    expect(result).toEqual({ write: {}, decisions: [], echo: true });
  });

  it('writes only the fields the source changed since the snapshot (the delta)', () => {
    const snapshot = { email: 'a@x.io', firstName: 'Ada', custom: { tier: 'gold' } };
    const result = resolveFields({
      source: side('sf', { email: 'a@x.io', firstName: 'Ada L.', custom: { tier: 'platinum' } }),
      target: side('hs', snapshot),
      snapshot,
      policies: policies(),
    });
    expect(result).toEqual({ write: { firstName: 'Ada L.', custom: { tier: 'platinum' } }, decisions: [], echo: false });
  });

  describe('a field changed on both sides since the snapshot', () => {
    const snapshot = { phone: '+1 555 0100' };
    const source = side('sf', { phone: '+1 555 0111' }, '2026-11-20T10:05:00.000Z');
    const target = side('hs', { phone: '+1 555 0122' }, '2026-11-20T10:00:00.000Z');

    it('latest: the newer modification wins, and the decision is recorded', () => {
      const result = resolveFields({ source, target, snapshot, policies: policies({ default: { kind: 'latest' } }) });
      expect(result.write).toEqual({ phone: '+1 555 0111' });
      expect(result.decisions).toEqual([
        {
          field: 'phone',
          policy: 'latest',
          winnerConnectionId: 'sf',
          decidedValue: '+1 555 0111',
          candidates: [
            { connectionId: 'sf', value: '+1 555 0111', modifiedAt: '2026-11-20T10:05:00.000Z' },
            { connectionId: 'hs', value: '+1 555 0122', modifiedAt: '2026-11-20T10:00:00.000Z' },
          ],
        },
      ]);
      const older = resolveFields({ source: { ...source, modifiedAt: '2026-11-20T09:00:00.000Z' }, target, snapshot, policies: policies() });
      expect(older.write).toEqual({});
      expect(older.decisions[0]).toMatchObject({ winnerConnectionId: 'hs', decidedValue: '+1 555 0122' });
      expect(older.echo).toBe(false);
    });

    it('latest with equal times: priority decides, and without priority the target keeps its value', () => {
      const tied = { ...target, modifiedAt: source.modifiedAt };
      expect(resolveFields({ source, target: tied, snapshot, policies: policies({ default: { kind: 'latest', priority: ['sf', 'hs'] } }) }).write).toEqual({ phone: '+1 555 0111' });
      expect(resolveFields({ source, target: tied, snapshot, policies: policies({ default: { kind: 'latest', priority: ['hs', 'sf'] } }) }).write).toEqual({});
      expect(resolveFields({ source, target: tied, snapshot, policies: policies() }).write).toEqual({});
    });

    it('owner: the owning connection wins whatever the times; a third owner leaves the target as is', () => {
      expect(resolveFields({ source, target, snapshot, policies: policies({ fields: { phone: { kind: 'owner', connectionId: 'hs' } } }) }).write).toEqual({});
      expect(resolveFields({ source: { ...source, modifiedAt: '2020-01-01T00:00:00.000Z' }, target, snapshot, policies: policies({ fields: { phone: { kind: 'owner', connectionId: 'sf' } } }) }).write).toEqual({ phone: '+1 555 0111' });
      const third = resolveFields({ source, target, snapshot, policies: policies({ fields: { phone: { kind: 'owner', connectionId: 'dyn' } } }) });
      expect(third.write).toEqual({});
      expect(third.decisions[0]).toMatchObject({ policy: 'owner', winnerConnectionId: null, decidedValue: '+1 555 0122' });
    });

    it('fill-empty: never overwrites a value the target holds', () => {
      const result = resolveFields({ source, target, snapshot, policies: policies({ default: { kind: 'fill-empty' } }) });
      expect(result.write).toEqual({});
      expect(result.decisions[0]).toMatchObject({ policy: 'fill-empty', winnerConnectionId: 'hs' });
      const cleared = resolveFields({ source, target: side('hs', { phone: null }), snapshot, policies: policies({ default: { kind: 'fill-empty' } }) });
      expect(cleared.write).toEqual({ phone: '+1 555 0111' });
    });
  });

  it('owner and fill-empty also hold when only the source changed', () => {
    const snapshot = { title: 'CTO', phone: '1' };
    const result = resolveFields({
      source: side('sf', { title: 'CEO', phone: '2' }),
      target: side('hs', snapshot),
      snapshot,
      policies: policies({ fields: { title: { kind: 'owner', connectionId: 'hs' }, phone: { kind: 'fill-empty' } } }),
    });
    expect(result).toEqual({ write: {}, decisions: [], echo: false });
  });

  it('measures the source against its own snapshot: an unchanged source never overwrites the target', () => {
    // The other direction has not caught up: the target's snapshot holds the target's values,
    // the source's snapshot what the source held. The source changed nothing.
    const result = resolveFields({
      source: side('sf', { firstName: 'Sf', title: null }),
      target: side('hs', { firstName: 'Hs', title: 'Professor' }),
      snapshot: { firstName: 'Hs', title: 'Professor' },
      sourceSnapshot: { firstName: 'Sf', title: null },
      policies: policies(),
    });
    expect(result).toEqual({ write: {}, decisions: [], echo: true });
  });

  it('does not count the same edit made on both sides as a conflict', () => {
    const result = resolveFields({ source: side('sf', { title: 'CEO' }), target: side('hs', { title: 'CEO' }), snapshot: { title: 'CTO' }, policies: policies() });
    expect(result).toEqual({ write: {}, decisions: [], echo: true });
  });
});

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

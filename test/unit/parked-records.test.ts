import { describe, expect, it } from 'vitest';
import { ParkedRecords, parkedOverflowSchema } from '../../src/workflows/connection-sync/parked-records';
import { carriedStateSchema, ConnectionSyncState } from '../../src/workflows/connection-sync-state';

const error = { provider: 'hubspot' as const, errorClass: 'validation' as const, message: 'refused' };
const parkedAt = '2026-12-06T06:00:00.000Z';
const record = (id: string, target = 'hs') => ({ objectType: 'contact' as const, sourceExternalId: id, targetConnectionId: target, reason: 'failed' as const, error, parkedAt });

/** A store that takes flushes as ParkedRecordsRepository does (in memory): attempts added, unparks deleted. */
function flushInto(parked: ParkedRecords, store: Map<string, number>): void {
  for (let flush = parked.takeFlush(3); flush; flush = parked.takeFlush(3)) {
    for (const key of flush.unpark) store.delete(key);
    for (const row of flush.park) store.set(row.key, (store.get(row.key) ?? 0) + row.attempts);
    parked.flushed({ count: store.size, oldestParkedAt: store.size > 0 ? parkedAt : null });
  }
}

describe('parked records beyond the in-state window', () => {
  it('keeps the first few in state and sends the rest to the store, counting all of them', () => {
    const parked = new ParkedRecords([], parkedOverflowSchema.parse(undefined), 2);
    const store = new Map<string, number>();
    for (const id of ['a', 'b', 'c', 'd', 'e']) parked.park(record(id));
    expect(parked.inState().slice(0, 2).map((r) => r.sourceExternalId)).toEqual(['a', 'b']);
    flushInto(parked, store);
    expect(parked.inState().map((r) => r.sourceExternalId)).toEqual(['a', 'b']);
    expect([...store.keys()]).toEqual(['contact:c:hs', 'contact:d:hs', 'contact:e:hs']);
    expect(parked.size).toBe(5);
    expect(parked.inStore).toBe(3);
  });

  it('counts another failed attempt of a record in the store, and forgets it once it syncs', () => {
    const parked = new ParkedRecords([], parkedOverflowSchema.parse(undefined), 1);
    const store = new Map<string, number>();
    parked.park(record('a'));
    parked.park(record('b'));
    flushInto(parked, store);
    parked.park(record('b'));
    parked.park(record('b'));
    flushInto(parked, store);
    expect(store.get('contact:b:hs')).toBe(3);
    parked.unpark('contact:b:hs');
    parked.unpark('contact:a:hs');
    flushInto(parked, store);
    expect(store.size).toBe(0);
    expect(parked.size).toBe(0);
    // With nothing left in the store, the next record parks in state again.
    parked.park(record('c'));
    expect(parked.inState().map((r) => r.key)).toEqual(['contact:c:hs']);
    expect(parked.takeFlush(10)).toBeUndefined();
  });

  it('hands a failed flush back so nothing is lost, later changes of a key winning', () => {
    const parked = new ParkedRecords([], parkedOverflowSchema.parse(undefined), 0 + 1);
    parked.park(record('a'));
    parked.park(record('b'));
    const flush = parked.takeFlush(10)!;
    parked.park(record('b'));
    parked.flushFailed(flush);
    const again = parked.takeFlush(10)!;
    expect(again.park).toEqual([expect.objectContaining({ key: 'contact:b:hs', attempts: 2 })]);
    expect(again.sequence).toBe(flush.sequence + 1);
  });

  it('treats records of a flush on its way as stored: an unpark meanwhile removes them there too', () => {
    const parked = new ParkedRecords([], parkedOverflowSchema.parse(undefined), 1);
    parked.park(record('a'));
    parked.park(record('b'));
    const flush = parked.takeFlush(10)!;
    // A signal handled while the flush activity runs.
    expect(parked.skip(['contact:b:hs'])).toBe(1);
    parked.flushed({ count: 1, oldestParkedAt: parkedAt });
    expect(parked.takeFlush(10)).toMatchObject({ sequence: flush.sequence + 1, park: [], unpark: ['contact:b:hs'] });
  });

  it('retries what is in state at once and what is in the store page by page, by key', () => {
    const parked = new ParkedRecords([], parkedOverflowSchema.parse(undefined), 1);
    const store = new Map<string, number>();
    for (const id of ['a', 'b', 'c']) parked.park({ ...record(id), ...(id === 'c' ? { operation: 'delete' as const } : {}) });
    flushInto(parked, store);
    const { refs, count } = parked.retry();
    expect(refs).toEqual([{ objectType: 'contact', externalId: 'a' }]);
    expect(count).toBe(3);
    expect(parked.pendingRetry).toEqual({ afterKey: '', keys: null, classes: null });
    parked.retryPageQueued('contact:b:hs');
    expect(parked.pendingRetry).toEqual({ afterKey: 'contact:b:hs', keys: null, classes: null });
    parked.retryPageQueued(undefined);
    expect(parked.pendingRetry).toBeNull();
    // Named keys: those in state now, the others through the store.
    expect(parked.retry(['contact:a:hs', 'contact:c:hs'])).toEqual({ refs: [{ objectType: 'contact', externalId: 'a' }], count: 2 });
    expect(parked.pendingRetry).toEqual({ afterKey: '', keys: ['contact:c:hs'], classes: null });
  });
});

describe('what continue-as-new carries', () => {
  it('stays the same small size whatever the backlog: the window and counters, never the store', () => {
    const sizes = [10, 1000, 50_000].map((backlog) => {
      const state = new ConnectionSyncState('acme', 'acme-sf', undefined, 200);
      const store = new Map<string, number>();
      for (let i = 0; i < backlog; i += 1) {
        state.park(record(`0035g00000${String(i).padStart(8, '0')}`));
        if (i % 500 === 0) flushInto(state.parked, store);
      }
      flushInto(state.parked, store);
      expect(state.status().parked).toBe(backlog);
      return JSON.stringify(state.carry()).length;
    });
    expect(Math.max(...sizes)).toBeLessThan(256 * 1024);
    // Only the counters grow (digits), not the records.
    expect(sizes[2]! - sizes[1]!).toBeLessThan(64);
  });

  it('carries needs-reauth (defect: the next run forgot it and called the CRM again)', () => {
    const state = new ConnectionSyncState('acme', 'acme-sf');
    state.needsReauth = true;
    const next = new ConnectionSyncState('acme', 'acme-sf', carriedStateSchema.parse(state.carry()));
    expect(next.needsReauth).toBe(true);
    expect(next.syncState).toBe('needs-reauth');
    // Runs that continued as new before the patch replay as they ran.
    expect(new ConnectionSyncState('acme', 'acme-sf', carriedStateSchema.parse(state.carry({ withReauth: false }))).needsReauth).toBe(false);
  });

  it('carries a quota pause, which shows as quota-paused until it ends', () => {
    const state = new ConnectionSyncState('acme', 'acme-sf');
    state.quotaPausedUntil = new Date(Date.now() + 60_000).toISOString();
    const next = new ConnectionSyncState('acme', 'acme-sf', carriedStateSchema.parse(state.carry()));
    expect(next.syncState).toBe('quota-paused');
    expect(next.quotaPaused(Date.now() + 120_000)).toBe(false);
  });
});

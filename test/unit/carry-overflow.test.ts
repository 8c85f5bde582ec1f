import { describe, expect, it } from 'vitest';
import type { ChangeRef } from '../../src/model/sync';
import { ConnectionSyncState } from '../../src/workflows/connection-sync-state';

const noticed = (i: number): ChangeRef => ({ objectType: 'contact', externalId: `n-${i}`, eventId: `association-${i}` });
const retry = (i: number): ChangeRef => ({ objectType: 'contact', externalId: `retry-${i}` });

describe('the notices beyond the carry limit, taken out for the store', () => {
  it('takes out exactly what the hand-over would leave behind, and the hand-over then carries the rest whole', () => {
    const state = new ConnectionSyncState('acme', 'hs');
    state.notice(Array.from({ length: 6 }, (_, i) => noticed(i)));
    state.retryParked();
    for (const ref of [retry(0), retry(1)]) state.pending.add(ref);
    expect(state.carryOverflows(5)).toBe(true);
    const carriedWhole = state.carry({ withReauth: true, bounded: false }).pending;

    const overflow = state.takeCarryOverflow(5);
    // Those a poll cannot find again first (no event id), then the oldest noticed.
    expect(overflow).toEqual([noticed(3), noticed(4), noticed(5)]);
    expect(state.carryOverflows(5)).toBe(false);
    expect(state.takeCarryOverflow(5)).toEqual([]);
    const carried = state.carry({ withReauth: true, bounded: true });
    expect(carried.pending).toEqual([retry(0), retry(1), noticed(0), noticed(1), noticed(2)]);
    // Nothing dropped: what is carried and what goes to the store are every notice queued.
    expect(new Set([...carried.pending, ...overflow].map((ref) => ref.externalId))).toEqual(new Set(carriedWhole.map((ref) => ref.externalId)));
  });

  it('carries that notices wait in the store only while they do', () => {
    const state = new ConnectionSyncState('acme', 'hs');
    expect(state.carry({ withReauth: true, bounded: true })).not.toHaveProperty('noticesInStore');
    state.noticesInStore = true;
    const carried = state.carry({ withReauth: true, bounded: true });
    expect(carried.noticesInStore).toBe(true);
    expect(new ConnectionSyncState('acme', 'hs', carried).noticesInStore).toBe(true);
  });
});

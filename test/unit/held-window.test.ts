import { describe, expect, it } from 'vitest';
import { addToHold, heldCount } from '../../src/workflows/connection-sync/held-window';
import { ConnectionSyncState } from '../../src/workflows/connection-sync-state';

describe('held deletions beyond the in-state window', () => {
  it('keeps the first ids of a hold in state and queues the rest for the store, counting each once', () => {
    const held = { id: 'contact:1', objectType: 'contact' as const, externalIds: [] as string[], reason: 'mass delete', heldAt: '2026-12-06T06:00:00.000Z' };
    addToHold(held, ['a', 'b', 'c', 'a'], 2);
    expect(held).toMatchObject({ externalIds: ['a', 'b'], toStore: ['c'] });
    addToHold(held, ['b', 'c', 'd'], 2);
    expect(held).toMatchObject({ externalIds: ['a', 'b'], toStore: ['c', 'd'] });
    expect(heldCount(held)).toBe(4);
    // Flushed: the store answers how many it holds.
    delete (held as { toStore?: string[] }).toStore;
    expect(heldCount({ ...held, inStore: 2 })).toBe(4);
  });

  it('holds everything in state for runs from before the window (Infinity), as they ran', () => {
    const state = new ConnectionSyncState('t', 'sf', undefined, Infinity, Infinity);
    const ids = Array.from({ length: 500 }, (_, i) => `id-${i}`);
    const held = state.holdDeletions('contact', ids, 'mass delete', '2026-12-06T06:00:00.000Z');
    expect(held.externalIds).toEqual(ids);
    expect(held.toStore).toBeUndefined();
    expect(state.carry().heldDeletions[0]?.externalIds).toHaveLength(500);
  });

  it('carries only the window of a hold, and the whole count in its summary', () => {
    const state = new ConnectionSyncState('t', 'sf', undefined, Infinity, 3);
    state.holdDeletions('contact', ['a', 'b', 'c', 'd', 'e'], 'mass delete', '2026-12-06T06:00:00.000Z');
    expect(state.heldDeletionsSummary()).toMatchObject([{ count: 5, sample: ['a', 'b', 'c'], inStore: 0 }]);
    expect(state.carry().heldDeletions[0]?.externalIds).toEqual(['a', 'b', 'c']);
  });
});

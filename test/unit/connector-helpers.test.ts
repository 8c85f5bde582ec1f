import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/connectors/cursor';
import { ConnectorError } from '../../src/connectors/errors';
import { mapLimited } from '../../src/connectors/map-limited';

type ChangesCursor = { kind: 'changes'; objectType: 'contact'; high: number; seen: string[] };

describe('connector cursors', () => {
  it('round-trips the state as an opaque base64url string', () => {
    const state: ChangesCursor = { kind: 'changes', objectType: 'contact', high: 1_700_000_000_000, seen: ['a/b+c', 'é'] };
    const cursor = encodeCursor(state);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor<ChangesCursor>('zoho', cursor, 'changes')).toEqual(state);
  });

  it("refuses another verb's cursor and garbage with a validation error naming the provider", () => {
    const exportCursor = encodeCursor({ kind: 'export', objectType: 'contact' });
    for (const cursor of [exportCursor, 'not-base64-json', encodeCursor({ objectType: 'contact' } as unknown as { kind: string }), Buffer.from('null').toString('base64url')]) {
      let thrown: unknown;
      try {
        decodeCursor<ChangesCursor>('pipedrive', cursor, 'changes');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConnectorError);
      expect(thrown).toMatchObject({ provider: 'pipedrive', errorClass: 'validation', message: 'pipedrive validation: not a changes cursor of this connector' });
    }
  });
});

describe('mapLimited', () => {
  it('keeps at most `limit` calls in flight and answers in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const items = [50, 10, 30, 0, 20, 40, 5];
    const results = await mapLimited(items, 3, async (delay, index) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delay));
      inFlight -= 1;
      return `${index}:${delay}`;
    });
    expect(results).toEqual(items.map((delay, index) => `${index}:${delay}`));
    expect(most).toBe(3);
  });

  it('still runs one at a time when the limit is zero, and answers [] for no items', async () => {
    expect(await mapLimited([1, 2], 0, async (item) => item * 2)).toEqual([2, 4]);
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
  });
});

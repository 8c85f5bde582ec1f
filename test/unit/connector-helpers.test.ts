import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/connectors/cursor';
import { ConnectorError } from '../../src/connectors/errors';
import { mapLimited } from '../../src/connectors/map-limited';
import { changelogInstant, lastChangeTimes } from '../../src/connectors/pipedrive/field-history';
import { overwrittenChange } from '../../src/connectors/pipedrive/overwritten-edits';

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

describe('Pipedrive changelog times', () => {
  it('reads the changelog time as UTC to the second, and nothing from an unreadable one', () => {
    expect(changelogInstant('2026-12-05 23:20:24')).toBe('2026-12-05T23:20:24.000Z');
    expect(changelogInstant('yesterday')).toBeUndefined();
    expect(changelogInstant(undefined)).toBeUndefined();
  });

  it('gives each field the time of its latest change, whatever the order of the entries', () => {
    const entries = [
      { field_key: 'last_name', time: '2026-12-05 23:20:20', new_value: 'A' },
      { field_key: 'first_name', time: '2026-12-05 23:20:25', new_value: 'Kate' },
      { field_key: 'last_name', time: '2026-12-05 23:20:24', new_value: 'B' },
      { field_key: 'job_title', time: 'garbled', new_value: 'CTO' },
    ];
    const keys = new Map([
      ['lastName', 'last_name'],
      ['firstName', 'first_name'],
      ['title', 'job_title'],
      ['phone', 'phone'],
    ]);
    expect(lastChangeTimes(entries, keys)).toEqual({ lastName: '2026-12-05T23:20:24.000Z', firstName: '2026-12-05T23:20:25.000Z' });
  });
});

describe('Pipedrive: the edit our write replaced', () => {
  const read = Date.parse('2026-12-05T23:20:20.400Z');
  const written = Date.parse('2026-12-05T23:20:22.100Z');
  const ours = { field_key: 'last_name', new_value: 'King', change_source: 'api', time: '2026-12-05 23:20:22' };
  const person = (time: string, change_source = 'app') => ({ field_key: 'last_name', new_value: 'Lovelace', change_source, time });

  it('is the person\'s change just before ours, from the second of our read on', () => {
    expect(overwrittenChange([ours, person('2026-12-05 23:20:21')], 'last_name', written, read)).toEqual(person('2026-12-05 23:20:21'));
    // In the read's own second it may be one we read: put back all the same (a write, nothing lost).
    expect(overwrittenChange([person('2026-12-05 23:20:20'), ours], 'last_name', written, read)).toEqual(person('2026-12-05 23:20:20'));
  });

  it('is nothing when the change before ours was read, was an integration\'s, or someone wrote after us', () => {
    expect(overwrittenChange([ours, person('2026-12-05 23:20:19')], 'last_name', written, read)).toBeUndefined();
    expect(overwrittenChange([ours, person('2026-12-05 23:20:21', 'api')], 'last_name', written, read)).toBeUndefined();
    expect(overwrittenChange([person('2026-12-05 23:20:22'), ours, person('2026-12-05 23:20:21')], 'last_name', written, read)).toBeUndefined();
    expect(overwrittenChange([ours], 'last_name', written, read)).toBeUndefined();
    expect(overwrittenChange([ours, person('2026-12-05 23:20:21')], 'first_name', written, read)).toBeUndefined();
  });
});

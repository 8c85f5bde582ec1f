import { describe, expect, it } from 'vitest';
import { ExportReadAhead, type ExportPage } from '../../src/activities/export-read-ahead';

const page = (name: string): ExportPage => ({ records: [{ externalId: name, objectType: 'contact', syncId: null, fields: {}, references: {}, modifiedAt: '2026-11-23T00:00:00.000Z' }] });

function counter() {
  const reads: string[] = [];
  const reader = (name: string, outcome: 'ok' | 'fail' = 'ok') => async (): Promise<ExportPage> => {
    reads.push(name);
    if (outcome === 'fail') throw new Error(`read of ${name} failed`);
    return page(name);
  };
  return { reads, reader };
}

describe('ExportReadAhead', () => {
  it('hands the page read ahead to the next activity, which reads nothing itself, and only once', async () => {
    const { reads, reader } = counter();
    const ahead = new ExportReadAhead();
    ahead.prefetch('conn', 'c2', reader('ahead'));
    expect((await ahead.read('conn', 'c2', reader('fresh'))).records[0]?.externalId).toBe('ahead');
    expect(reads).toEqual(['ahead']);
    // Taken: a retried attempt of the same page reads it again.
    expect((await ahead.read('conn', 'c2', reader('fresh'))).records[0]?.externalId).toBe('fresh');
  });

  it('reads afresh when nothing was read ahead for that connection and cursor', async () => {
    const { reads, reader } = counter();
    const ahead = new ExportReadAhead();
    ahead.prefetch('conn', 'c2', reader('ahead'));
    await ahead.read('other', 'c2', reader('other-fresh'));
    await ahead.read('conn', 'c3', reader('c3-fresh'));
    expect(reads).toEqual(['ahead', 'other-fresh', 'c3-fresh']);
  });

  it('forgets a failed read-ahead: the activity reads the page itself, and the failure reaches nobody', async () => {
    const { reads, reader } = counter();
    const ahead = new ExportReadAhead();
    ahead.prefetch('conn', 'c2', reader('ahead', 'fail'));
    expect((await ahead.read('conn', 'c2', reader('fresh'))).records[0]?.externalId).toBe('fresh');
    expect(reads).toEqual(['ahead', 'fresh']);
  });

  it('drops a page nobody took within its time to live, and keeps at most `capacity` pages', async () => {
    let now = 0;
    const { reads, reader } = counter();
    const ahead = new ExportReadAhead(2, 1000, () => now);
    ahead.prefetch('conn', 'old', reader('old'));
    now = 1000;
    expect((await ahead.read('conn', 'old', reader('old-fresh'))).records[0]?.externalId).toBe('old-fresh');
    ahead.prefetch('a', 'c', reader('a'));
    ahead.prefetch('b', 'c', reader('b'));
    ahead.prefetch('c', 'c', reader('c')); // evicts the oldest, a
    expect((await ahead.read('a', 'c', reader('a-fresh'))).records[0]?.externalId).toBe('a-fresh');
    expect((await ahead.read('c', 'c', reader('c-fresh'))).records[0]?.externalId).toBe('c');
    expect(reads).toEqual(['old', 'old-fresh', 'a', 'b', 'c', 'a-fresh']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParkedRecordsRepository } from '../../src/store/parked-records-repository';
import type { ParkedRecord } from '../../src/workflows/connection-sync-state';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const record = (id: string, attempts = 1): ParkedRecord => ({
  key: `contact:${id}:hs`,
  objectType: 'contact',
  sourceExternalId: id,
  targetConnectionId: 'hs',
  reason: 'failed',
  ...(id.startsWith('d') ? { operation: 'delete' as const } : {}),
  // `d…` records failed to delete on a 503: they retry themselves (self-healing); the others were refused.
  error: id.startsWith('d') ? { provider: 'hubspot', errorClass: 'transient', message: 'unavailable' } : { provider: 'hubspot', errorClass: 'validation', message: 'refused' },
  parkedAt: '2026-12-06T06:00:00.000Z',
  attempts,
});

describe('parked records beyond a workflow window, in PostgreSQL', () => {
  let db: TestDatabase;
  let repository: ParkedRecordsRepository;
  beforeAll(async () => {
    db = await createTestDatabase();
    repository = new ParkedRecordsRepository(db.pool);
  });
  afterAll(async () => db?.drop());

  it('applies a flush once, however often the activity runs it', async () => {
    const first = { connectionId: 'sf', sequence: 1, park: [record('a'), record('b'), record('d1')], unpark: [] };
    expect(await repository.flush(first)).toEqual({ count: 3, oldestParkedAt: '2026-12-06T06:00:00.000Z', selfHealing: 1 });
    expect(await repository.flush(first)).toMatchObject({ count: 3 });
    const second = { connectionId: 'sf', sequence: 2, park: [record('a', 2)], unpark: ['contact:b:hs'] };
    await repository.flush(second);
    expect(await repository.flush(second)).toMatchObject({ count: 2 });
    expect(await repository.list('sf')).toEqual([record('a', 3), record('d1')]);
    // Another connection's rows are its own.
    expect(await repository.flush({ connectionId: 'other', sequence: 1, park: [record('a')], unpark: [] })).toMatchObject({ count: 1 });
  });

  it('pages in key order after a key, all or only named keys', async () => {
    expect((await repository.page('sf', { afterKey: 'contact:a:hs', limit: 10 })).map((r) => r.key)).toEqual(['contact:d1:hs']);
    expect((await repository.page('sf', { keys: ['contact:d1:hs', 'contact:zz:hs'], limit: 10 })).map((r) => r.key)).toEqual(['contact:d1:hs']);
    expect(await repository.list('sf', 1)).toHaveLength(2);
    // An automatic retry reads only the classes that retry themselves.
    expect((await repository.page('sf', { errorClasses: ['transient', 'rate-limited'], limit: 10 })).map((r) => r.key)).toEqual(['contact:d1:hs']);
    expect((await repository.page('sf', { errorClasses: ['validation'], limit: 10 })).map((r) => r.key)).toEqual(['contact:a:hs']);
  });
});

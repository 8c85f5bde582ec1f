import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarriedNoticesRepository } from '../../src/store/carried-notices-repository';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

describe('change notices beyond the carry limit, in PostgreSQL', () => {
  let db: TestDatabase;
  let repository: CarriedNoticesRepository;
  beforeAll(async () => {
    db = await createTestDatabase();
    repository = new CarriedNoticesRepository(db.pool);
  });
  afterAll(async () => db?.drop());

  it('keeps one notice per record however often it is stored, merged as the queue merges, oldest first', async () => {
    const a = { objectType: 'contact' as const, externalId: 'a', eventId: 'association-1' };
    const b = { objectType: 'contact' as const, externalId: 'b', modifiedAt: '2026-12-06T10:00:00.000Z', eventId: 'e-b1' };
    const c = { objectType: 'company' as const, externalId: 'c', modifiedAt: '2026-12-06T10:00:00.000Z', deleted: true };
    await repository.add('hs', [a, b, c, a]);
    // A retried activity: the same rows.
    await repository.add('hs', [a, b, c]);
    expect(await repository.oldest('hs', 10)).toEqual([a, b, c]);
    // A later notice of b (a newer stamp) and an older one of c: b takes the newer stamp, c keeps its verdict.
    await repository.add('hs', [
      { objectType: 'contact', externalId: 'b', modifiedAt: '2026-12-06T11:00:00.000Z' },
      { objectType: 'company', externalId: 'c', modifiedAt: '2026-12-06T09:00:00.000Z', deleted: false },
    ]);
    await repository.add('other', [a]);
    expect(await repository.oldest('hs', 2)).toEqual([a, { ...b, modifiedAt: '2026-12-06T11:00:00.000Z' }]);
    expect(await repository.oldest('hs', 10)).toContainEqual(c);

    // Removed by key once taken back; removing again is nothing.
    await repository.remove('hs', [a, { objectType: 'contact', externalId: 'b' }]);
    await repository.remove('hs', [a]);
    expect(await repository.oldest('hs', 10)).toEqual([c]);
    expect(await repository.count('other')).toBe(1);
  });

  it('forgets a connection\'s notices with the connection', async () => {
    await db.pool.query(`INSERT INTO tenants (id, name) VALUES ('gone', 'Gone')`);
    await db.pool.query(`INSERT INTO connections (id, tenant_id, provider, credentials, credentials_key_id) VALUES ('gone-hs', 'gone', 'hubspot', '\\x00', 'k')`);
    await repository.add('gone-hs', [{ objectType: 'contact', externalId: 'x', eventId: 'association-x' }]);
    expect(await repository.count('gone-hs')).toBe(1);
    await db.pool.query(`DELETE FROM connections WHERE id = 'gone-hs'`);
    expect(await repository.count('gone-hs')).toBe(0);
    expect(await repository.count('other')).toBe(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeldDeletionsRepository } from '../../src/store/held-deletions-repository';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

describe('held deletions beyond a workflow window, in PostgreSQL', () => {
  let db: TestDatabase;
  let repository: HeldDeletionsRepository;
  beforeAll(async () => {
    db = await createTestDatabase();
    repository = new HeldDeletionsRepository(db.pool);
  });
  afterAll(async () => db?.drop());

  it('holds each id once however often the activity writes it, pages in id order, and forgets a hold whole', async () => {
    const hold = { connectionId: 'sf', holdId: 'contact:1', objectType: 'contact' as const };
    expect(await repository.add({ ...hold, externalIds: ['c', 'a', 'b'] })).toBe(3);
    expect(await repository.add({ ...hold, externalIds: ['b', 'c', 'd'] })).toBe(4);
    expect(await repository.add({ ...hold, connectionId: 'other', externalIds: ['a'] })).toBe(1);
    expect(await repository.page({ connectionId: 'sf', holdId: 'contact:1', afterId: 'a', limit: 2 })).toEqual(['b', 'c']);
    expect(await repository.list('sf', 'contact:1', 3)).toEqual(['a', 'b', 'c', 'd']);
    expect((await repository.heldAmong('sf', 'contact', ['d', 'e', 'a'])).sort()).toEqual(['a', 'd']);
    await repository.forget({ connectionId: 'sf', holdId: 'contact:1' });
    expect(await repository.count('sf', 'contact:1')).toBe(0);
    expect(await repository.count('other', 'contact:1')).toBe(1);
  });
});

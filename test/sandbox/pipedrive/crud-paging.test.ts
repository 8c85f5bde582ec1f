import { afterEach, describe, expect, it } from 'vitest';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { call } from './support';

describe('Pipedrive sandbox: v2 records, paging, search, deletions', () => {
  let pd: PipedriveSandbox | undefined;
  afterEach(async () => pd?.stop());

  it('creates, reads, patches and deletes a person in the v2 envelope; deleted answers 404', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const created = await call(pd, 'POST', '/api/v2/persons', { name: 'Ada Lovelace', emails: [{ value: 'ada@acme.example', primary: true, label: 'work' }] });
    expect(created.status).toBe(200);
    const person = created.json.data as { id: number; update_time: string; emails: unknown[]; custom_fields: Record<string, unknown>; is_deleted: boolean };
    expect(created.json.success).toBe(true);
    expect(person).toMatchObject({ name: 'Ada Lovelace', emails: [{ value: 'ada@acme.example', primary: true, label: 'work' }], custom_fields: {}, is_deleted: false });
    expect(person.update_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    const patched = await call(pd, 'PATCH', `/api/v2/persons/${person.id}`, { job_title: 'CTO' });
    expect(patched.json.data).toMatchObject({ id: person.id, job_title: 'CTO', name: 'Ada Lovelace' });
    expect((await call(pd, 'GET', `/api/v2/persons/${person.id}`)).json.data).toMatchObject({ job_title: 'CTO' });

    expect((await call(pd, 'DELETE', `/api/v2/persons/${person.id}`)).json).toEqual({ success: true, data: { id: person.id } });
    const gone = await call(pd, 'GET', `/api/v2/persons/${person.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ success: false, error: 'Person not found', data: null });
    expect((await call(pd, 'DELETE', `/api/v2/persons/${person.id}`)).status).toBe(404);
    expect(pd.counters.snapshot().recordWrites).toEqual({ persons: 3 });
  });

  it('refuses unknown fields, unknown custom field keys and missing required fields with 400', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const unknown = await call(pd, 'POST', '/api/v2/organizations', { name: 'Acme', colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ success: false, error: expect.stringContaining('colour') as unknown });
    expect((await call(pd, 'POST', '/api/v2/deals', { value: 5 })).json.error).toContain("'title' is required");
    expect((await call(pd, 'POST', '/api/v2/deals', { title: 'x', custom_fields: { nope: 1 } })).status).toBe(400);
    expect((await call(pd, 'POST', '/api/v2/deals', { title: 'x', stage_id: 99 })).status).toBe(400);
  });

  it('lists by updated_since sorted by update_time through next_cursor; a record changed mid-scan comes again later', async () => {
    let skewMs = 0;
    pd = await startPipedriveSandbox({ limits: false, seed: { contacts: 7 }, now: () => Date.now() + skewMs });
    const since = new Date(Date.now() - 60_000).toISOString().slice(0, 19) + 'Z';
    const first = await call(pd, 'GET', `/api/v2/persons?updated_since=${since}&sort_by=update_time&sort_direction=asc&limit=3`);
    const firstIds = (first.json.data as { id: number }[]).map((person) => person.id);
    expect(firstIds).toHaveLength(3);
    const cursor = first.json.additional_data?.next_cursor;
    expect(typeof cursor).toBe('string');
    // The company's clock past the second of every seeded record: the change sorts after them all.
    skewMs += 1_050;
    pd.admin.changeAsUser('persons', firstIds[0] as number, { job_title: 'Moved' });
    const seen: number[] = [...firstIds];
    let next = cursor ?? null;
    while (next) {
      const pageAnswer = await call(pd, 'GET', `/api/v2/persons?updated_since=${since}&sort_by=update_time&sort_direction=asc&limit=3&cursor=${next}`);
      seen.push(...(pageAnswer.json.data as { id: number }[]).map((person) => person.id));
      next = pageAnswer.json.additional_data?.next_cursor ?? null;
    }
    expect(seen).toHaveLength(8);
    expect(seen[seen.length - 1]).toBe(firstIds[0]);
    expect(new Set(seen).size).toBe(7);
  });

  it('enforces limit <= 500, RFC 3339 times and filters by ids and updated_until', async () => {
    pd = await startPipedriveSandbox({ limits: false, seed: { companies: 3 } });
    expect((await call(pd, 'GET', '/api/v2/organizations?limit=501')).status).toBe(400);
    expect((await call(pd, 'GET', '/api/v2/organizations?limit=500')).status).toBe(200);
    expect((await call(pd, 'GET', '/api/v2/organizations?updated_since=yesterday')).status).toBe(400);
    expect((await call(pd, 'GET', '/api/v2/organizations?cursor=garbage')).status).toBe(400);
    const byIds = await call(pd, 'GET', '/api/v2/organizations?ids=1,3');
    expect((byIds.json.data as { id: number }[]).map((org) => org.id)).toEqual([1, 3]);
    const past = await call(pd, 'GET', '/api/v2/organizations?updated_until=2020-01-01T00:00:00Z');
    expect(past.json.data).toEqual([]);
  });

  it('searches persons by email exactly (case-insensitive) and by a custom field value', async () => {
    pd = await startPipedriveSandbox({ limits: false });
    const key = pd.admin.syncIdFieldKey('persons');
    await call(pd, 'POST', '/api/v2/persons', { name: 'Grace', emails: [{ value: 'grace@navy.example', primary: true }], custom_fields: { [key]: 'sync-123' } });
    await call(pd, 'POST', '/api/v2/persons', { name: 'Gracie', emails: [{ value: 'gracie@navy.example', primary: true }] });
    const byEmail = await call(pd, 'GET', '/api/v2/persons/search?term=GRACE%40navy.example&fields=email&exact_match=true');
    const items = (byEmail.json.data as { items: { result_score: number; item: Record<string, unknown> }[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]?.item).toMatchObject({ type: 'person', name: 'Grace', emails: ['grace@navy.example'] });
    const fuzzy = await call(pd, 'GET', '/api/v2/persons/search?term=navy.exa&fields=email');
    expect((fuzzy.json.data as { items: unknown[] }).items).toHaveLength(2);
    const byCustom = await call(pd, 'GET', '/api/v2/persons/search?term=sync-123&fields=custom_fields&exact_match=true');
    expect((byCustom.json.data as { items: { item: Record<string, unknown> }[] }).items.map((entry) => entry.item)).toEqual([expect.objectContaining({ name: 'Grace', custom_fields: ['sync-123'] })]);
    expect((await call(pd, 'GET', '/api/v2/persons/search?term=g&fields=email')).status).toBe(400);
    expect((await call(pd, 'GET', '/api/v2/activities/search?term=abc')).status).toBe(404);
  });

  it('lists deleted deals with status=deleted and other deleted records with is_deleted=true, for 30 days', async () => {
    let now = Date.now();
    pd = await startPipedriveSandbox({ limits: false, now: () => now, seed: { deals: 2, contacts: 2 } });
    await call(pd, 'DELETE', '/api/v2/deals/1');
    await call(pd, 'DELETE', '/api/v2/persons/2');
    const deals = await call(pd, 'GET', '/api/v2/deals?status=deleted');
    expect(deals.json.data).toEqual([expect.objectContaining({ id: 1, status: 'deleted', is_deleted: true })]);
    expect(((await call(pd, 'GET', '/api/v2/deals')).json.data as { id: number }[]).map((deal) => deal.id)).toEqual([2]);
    expect((await call(pd, 'GET', '/api/v2/persons?is_deleted=true')).json.data).toEqual([expect.objectContaining({ id: 2, is_deleted: true })]);
    now += 31 * 86_400_000;
    expect((await call(pd, 'GET', '/api/v2/deals?status=deleted')).json.data).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import { v1 } from 'pipedrive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipedriveConnector } from '../../../src/connectors/pipedrive';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';

/**
 * Pipedrive stamps the whole record, to the second, on every write: a person's edit of one field
 * followed by our write of another reads back under our write's stamp. The changelog keeps each
 * field's own time [P11]; the official client reads it here as referee of the sandbox's shape.
 */
describe('Pipedrive connector: field edit times from the changelog', () => {
  let pd: PipedriveSandbox;
  let connector: PipedriveConnector;
  // The company's clock: real time, moved on where a test needs a change in a later second.
  let skewMs = 0;
  const companyNow = (): number => Date.now() + skewMs;
  const second = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString();

  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false, now: companyNow });
    connector = await connectorFor(pd);
  });
  afterAll(async () => {
    await connector.close();
    await pd.stop();
  });

  /** A person created by us, edited by a person in the app, then written by us again a second later. */
  async function editedThenWritten(): Promise<{ id: number; editedAt: number; writtenAt: number }> {
    const syncId = randomUUID();
    const [created] = await connector.upsertRecords('contact', [{ syncId, fields: { firstName: 'Ada', lastName: 'Byron', email: `${syncId}@example.com` } }]);
    if (created?.status !== 'created') throw new Error('not created');
    const id = Number(created.externalId);
    skewMs += 1_000;
    const editedAt = companyNow();
    pd.admin.changeAsUser('persons', id, { last_name: 'Lovelace' });
    skewMs += 1_000;
    const writtenAt = companyNow();
    const [updated] = await connector.upsertRecords('contact', [{ syncId, externalId: String(id), fields: { firstName: 'Augusta' } }]);
    expect(updated).toMatchObject({ status: 'updated' });
    return { id, editedAt, writtenAt };
  }

  it('lists every field change with its own time and source, as the official client reads it', async () => {
    const { id, editedAt, writtenAt } = await editedThenWritten();
    const persons = new v1.PersonsApi(new v1.Configuration({ apiKey: pd.credentials.apiToken, basePath: `${pd.url}/v1` }));
    const answer = await persons.getPersonChangelog({ id });
    expect(answer.success).toBe(true);
    const changes = (answer.data ?? []).map(({ field_key, old_value, new_value, change_source, time }) => ({ field_key, old_value, new_value, change_source, time }));
    const at = (ms: number): string => second(ms).slice(0, 19).replace('T', ' ');
    expect(changes).toEqual([
      { field_key: 'first_name', old_value: 'Ada', new_value: 'Augusta', change_source: 'api', time: at(writtenAt) },
      { field_key: 'last_name', old_value: 'Byron', new_value: 'Lovelace', change_source: 'app', time: at(editedAt) },
    ]);
    // Paged by cursor, one entry a page.
    const first = await persons.getPersonChangelog({ id, limit: 1 });
    expect(first.data).toHaveLength(1);
    const next = await persons.getPersonChangelog({ id, limit: 1, cursor: first.additional_data?.next_cursor });
    expect(next.data?.[0]?.field_key).toBe('last_name');
    expect(next.additional_data?.next_cursor).toBeNull();
  });

  it('tells when a field changed, where the record stamp shows only our later write of another field', async () => {
    const { id, editedAt, writtenAt } = await editedThenWritten();
    const [read] = await connector.readRecords('contact', [String(id)]);
    expect(read?.modifiedAt).toBe(second(writtenAt));
    const times = await connector.fieldEditTimes('contact', [{ externalId: String(id), fields: ['lastName', 'firstName', 'title'] }]);
    // title never changed: nothing to tell, the record stamp stands for it.
    expect(times.get(String(id))).toEqual({ lastName: second(editedAt), firstName: second(writtenAt) });
  });

  it('puts back a person\'s edit that our write replaced, made between our read and our write, and says when it was made', async () => {
    const syncId = randomUUID();
    const [created] = await connector.upsertRecords('contact', [{ syncId, fields: { firstName: 'Ada', lastName: 'Byron', email: `${syncId}@example.com` } }]);
    const id = created?.status === 'created' ? created.externalId : '';
    skewMs += 1_000;
    const [read] = await connector.readRecords('contact', [id]);
    expect(read?.version).toBe(read?.modifiedAt);
    skewMs += 1_000;
    const editedAt = companyNow();
    pd.admin.changeAsUser('persons', Number(id), { last_name: 'Lovelace' });
    skewMs += 1_000;
    const [outcome] = await connector.upsertRecords('contact', [{ syncId, externalId: id, ifVersion: read?.version, fields: { lastName: 'King', title: 'Countess' } }]);
    expect(outcome).toEqual({ syncId, status: 'version-changed', fieldEditTimes: { lastName: second(editedAt) } });
    // The person's value is back; ours of the field nobody touched stays.
    expect(pd.admin.getRecord('persons', Number(id))).toMatchObject({ last_name: 'Lovelace', job_title: 'Countess' });

    // Written on top of what was read, nothing is put back.
    const [again] = await connector.readRecords('contact', [id]);
    skewMs += 1_000;
    const [clean] = await connector.upsertRecords('contact', [{ syncId, externalId: id, ifVersion: again?.version, fields: { lastName: 'King' } }]);
    expect(clean).toMatchObject({ status: 'updated' });
    expect(pd.admin.getRecord('persons', Number(id))).toMatchObject({ last_name: 'King' });
  });

  it('asks nothing for activities, which have no changelog, nor for a record deleted meanwhile', async () => {
    const gone = pd.admin.createAsUser('persons', { name: 'Gone Soon' }).id as number;
    pd.admin.deleteAsUser('persons', gone);
    const before = connector.requestCount;
    expect(await connector.fieldEditTimes('activity', [{ externalId: '1', fields: ['subject'] }])).toEqual(new Map());
    expect(connector.requestCount).toBe(before);
    expect(await connector.fieldEditTimes('contact', [{ externalId: String(gone), fields: ['lastName'] }])).toEqual(new Map());
  });
});

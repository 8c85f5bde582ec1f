import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZohoConnector } from '../../../src/connectors/zoho';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { accessToken, api } from '../../sandbox/zoho/support';
import { connectTo } from './support';

/**
 * Zoho stamps the whole record (Modified_Time, to the second) on every save: a value untouched
 * since the record was created reads under the stamp of a later edit of another field. The
 * record's timeline keeps each field's own change time, API and UI saves alike [Z64].
 */
describe('Zoho connector: field edit times from the record timeline', () => {
  let zoho: ZohoSandbox;
  let connector: ZohoConnector;
  let token: string;
  // The organisation's clock: real time, moved on where a test needs a change in a later second.
  let skewMs = 0;
  const orgNow = (): number => Date.now() + skewMs;
  const second = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString();

  beforeAll(async () => {
    zoho = await startZohoSandbox({ now: orgNow });
    connector = await connectTo(zoho);
    token = await accessToken(zoho);
  });
  afterAll(async () => {
    await connector.close();
    await zoho.stop();
  });

  /** A contact a person created with a first name, then edited (phone only) in a later second. */
  function createdThenEdited(): { id: string; createdAt: number; editedAt: number } {
    const created = zoho.admin.createAsUser('Contacts', { First_Name: 'Ada', Last_Name: 'Wilson', Email: `${randomUUID()}@initech.example` });
    skewMs += 2_000;
    const edited = zoho.admin.changeAsUser('Contacts', String(created.id), { Phone: '+1 555 90617' });
    return { id: String(created.id), createdAt: Date.parse(String(created.Created_Time)), editedAt: Date.parse(String(edited.Modified_Time)) };
  }

  it('lists each save with its audited time, source and changed fields, newest first unless asked otherwise', async () => {
    const { id, createdAt, editedAt } = createdThenEdited();
    const at = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
    const answer = await api(zoho, token, 'GET', `Contacts/${id}/__timeline?sort_by=audited_time&sort_order=asc`);
    expect(answer.status).toBe(200);
    const entries = (answer.body?.__timeline ?? []) as { action: string; source: string; audited_time: string; field_history: unknown; record: { id: string } }[];
    expect(entries.map(({ action, source, field_history, record }) => ({ action, source, field_history, record: record.id }))).toEqual([
      { action: 'added', source: 'crm_ui', field_history: null, record: id },
      { action: 'updated', source: 'crm_ui', field_history: [{ api_name: 'Phone', _value: { new: '+1 555 90617', old: null } }], record: id },
    ]);
    expect(entries.map((entry) => Date.parse(entry.audited_time))).toEqual([at(createdAt).getTime(), at(editedAt).getTime()]);
    // Zoho's date-time in the organisation's zone, like Modified_Time.
    expect(entries[0]?.audited_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+05:30$/);
    const newest = await api(zoho, token, 'GET', `Contacts/${id}/__timeline`);
    expect((newest.body?.__timeline as { action: string }[]).map((entry) => entry.action)).toEqual(['updated', 'added']);
    expect(newest.body?.info).toMatchObject({ count: 2, more_records: false, page: 1 });
    expect((await api(zoho, token, 'GET', `Contacts/5843104999999999999/__timeline`)).status).toBe(204);
    expect((await api(zoho, token, 'GET', `Contacts/${id}/__timeline?sort_by=Modified_Time`)).status).toBe(400);
  });

  it('tells that a value untouched since creation is as old as the record, where the record stamp shows a later edit of another field', async () => {
    const { id, createdAt, editedAt } = createdThenEdited();
    const [read] = await connector.readRecords('contact', [id]);
    expect(read?.modifiedAt).toBe(second(editedAt));
    expect(read?.fields.firstName).toBe('Ada');
    const times = await connector.fieldEditTimes('contact', [{ externalId: id, fields: ['firstName', 'phone', 'lastName'] }]);
    expect(times.get(id)).toEqual({ firstName: second(createdAt), phone: second(editedAt), lastName: second(createdAt) });
  });

  it('records our own writes too, and only the fields a write changed', async () => {
    const { id, createdAt } = createdThenEdited();
    skewMs += 2_000;
    const [written] = await connector.upsertRecords('contact', [{ syncId: randomUUID(), externalId: id, fields: { title: 'CFO', firstName: 'Ada' } }]);
    expect(written).toMatchObject({ status: 'updated' });
    const writtenAt = Date.parse(String(zoho.admin.getRecord('Contacts', id)?.Modified_Time));
    const times = await connector.fieldEditTimes('contact', [{ externalId: id, fields: ['title', 'firstName'] }]);
    expect(times.get(id)).toEqual({ title: second(writtenAt), firstName: second(createdAt) });
    const sources = ((await api(zoho, token, 'GET', `Contacts/${id}/__timeline`)).body?.__timeline as { source: string }[]).map((entry) => entry.source);
    expect(sources[0]).toBe('crm_api');
  });

  it('tells nothing about a record it cannot find (deleted meanwhile): the record stamp stands', async () => {
    const { id } = createdThenEdited();
    zoho.admin.deleteAsUser('Contacts', id);
    const times = await connector.fieldEditTimes('contact', [{ externalId: id, fields: ['firstName'] }]);
    expect(times.has(id)).toBe(false);
  });
});

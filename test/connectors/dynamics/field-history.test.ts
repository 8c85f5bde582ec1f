import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support';

/**
 * Dataverse stamps the whole record (modifiedon, read to the second) on every write: a value
 * untouched since the record was created reads under the stamp of a later edit of another column.
 * Where the organisation audits, the audit rows keep each change's time and the columns it
 * changed [D82][D84].
 */
describe('Dynamics connector: field edit times from the audit table', () => {
  let h: Harness;
  // The organisation's clock, moved on where a test needs a change in a later second.
  let clockMs = Date.parse('2026-03-02T10:00:00.000Z');
  const second = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString();

  beforeAll(async () => {
    h = await startHarness({ now: () => clockMs });
  });
  afterAll(async () => h?.stop());

  /** A contact a person created with a first name, then edited (phone only) in a later second. */
  function createdThenEdited(): { id: string; createdAt: number; editedAt: number } {
    const created = h.sandbox.admin.uiCreate('contacts', { firstname: 'Ada', lastname: 'Wilson', emailaddress1: `${randomUUID()}@initech.example` });
    clockMs += 2_000;
    const edited = h.sandbox.admin.uiUpdate('contacts', String(created.contactid), { telephone1: '+1 555 90617' });
    return { id: String(created.contactid), createdAt: Date.parse(String(created.createdon)), editedAt: Date.parse(String(edited.modifiedon)) };
  }

  it('tells that a value untouched since creation is as old as the record, where the record stamp shows a later edit of another column', async () => {
    const { id, createdAt, editedAt } = createdThenEdited();
    const [read] = await h.connector.readRecords('contact', [id]);
    expect(read?.modifiedAt).toBe(second(editedAt));
    expect(read?.fields.firstName).toBe('Ada');
    const queries = h.sandbox.admin.queryCount('audits');
    const times = await h.connector.fieldEditTimes('contact', [{ externalId: id, fields: ['firstName', 'phone', 'lastName'] }]);
    expect(times.get(id)).toEqual({ firstName: second(createdAt), phone: second(editedAt), lastName: second(createdAt) });
    // One audit-table query per record.
    expect(h.sandbox.admin.queryCount('audits') - queries).toBe(1);
  });

  it('counts our own writes too, and only the columns a write changed', async () => {
    const { id, createdAt } = createdThenEdited();
    clockMs += 2_000;
    const [written] = await h.connector.upsertRecords('contact', [{ syncId: randomUUID(), externalId: id, fields: { title: 'CFO', firstName: 'Ada' } }]);
    expect(written).toMatchObject({ status: 'updated' });
    const writtenAt = Date.parse(String(h.sandbox.admin.getRecord('contacts', id)?.modifiedon));
    const times = await h.connector.fieldEditTimes('contact', [{ externalId: id, fields: ['title', 'firstName'] }]);
    expect(times.get(id)).toEqual({ title: second(writtenAt), firstName: second(createdAt) });
  });

  it('gives nothing for a record the organisation did not audit: the record stamp stands', async () => {
    h.sandbox.admin.setAuditing(false);
    let id: string;
    try {
      id = createdThenEdited().id;
    } finally {
      h.sandbox.admin.setAuditing(true);
    }
    const times = await h.connector.fieldEditTimes('contact', [{ externalId: id, fields: ['firstName', 'phone'] }]);
    expect(times.has(id)).toBe(false);
  });

  it('leaves a column it cannot date to the record stamp when auditing began after the record was made', async () => {
    h.sandbox.admin.setAuditing(false);
    const created = h.sandbox.admin.uiCreate('contacts', { firstname: 'Grace', lastname: 'Hopper', emailaddress1: `${randomUUID()}@initech.example` });
    h.sandbox.admin.setAuditing(true);
    clockMs += 2_000;
    const edited = h.sandbox.admin.uiUpdate('contacts', String(created.contactid), { telephone1: '+1 555 0100' });
    const id = String(created.contactid);
    const times = await h.connector.fieldEditTimes('contact', [{ externalId: id, fields: ['firstName', 'phone'] }]);
    expect(times.get(id)).toEqual({ phone: second(Date.parse(String(edited.modifiedon))) });
  });
});

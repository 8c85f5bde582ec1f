import { describe, expect, it } from 'vitest';
import { lastChangeTimes } from '../../src/connectors/zoho/field-history';

describe('Zoho lastChangeTimes (record timeline -> field edit times)', () => {
  const keys = new Map([
    ['firstName', 'First_Name'],
    ['phone', 'Phone'],
    ['title', 'Title'],
  ]);
  const added = { audited_time: '2026-12-06T14:55:26+05:30', action: 'added', field_history: null };
  const phone = { audited_time: '2026-12-06T14:55:46+05:30', action: 'updated', field_history: [{ api_name: 'Phone', _value: { new: '+1 555', old: null } }] };
  const title = { audited_time: '2026-12-06T14:56:01+05:30', action: 'updated', field_history: [{ api_name: 'Title', _value: { new: 'CFO', old: null } }, { api_name: 'Phone', _value: { new: '+1 556', old: '+1 555' } }] };

  it('gives each field its newest change, and a field no save changed the creation time, in any order', () => {
    const expected = { firstName: '2026-12-06T09:25:26.000Z', phone: '2026-12-06T09:26:01.000Z', title: '2026-12-06T09:26:01.000Z' };
    expect(lastChangeTimes([title, phone, added], keys)).toEqual(expected);
    expect(lastChangeTimes([added, phone, title], keys)).toEqual(expected);
  });

  it('tells nothing of a field the entries read do not reach (no creation entry among them)', () => {
    expect(lastChangeTimes([title], keys)).toEqual({ phone: '2026-12-06T09:26:01.000Z', title: '2026-12-06T09:26:01.000Z' });
    expect(lastChangeTimes([{ action: 'updated', field_history: [{ api_name: 'Title' }] }], keys)).toEqual({});
  });
});

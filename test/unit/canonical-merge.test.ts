import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalWrites,
  changedUnderHeldStamp,
  compareEditTimes,
  emptyCanonicalRecord,
  fieldsLosingToRecordStamp,
  fieldsWinningByRecordStamp,
  mergeObservation,
  objectConflictPoliciesSchema,
  type CanonicalRecordState,
  stampPrecisionMs,
  withFieldEditTimes,
  type Observation,
} from '../../src/model/sync';

const policies = (spec: unknown = {}) => objectConflictPoliciesSchema.parse(spec);
const ms = (connectionId: string, at: string, fields: Record<string, unknown>, held?: Record<string, unknown>): Observation => ({ connectionId, at, precisionMs: 1, fields, held });
const seconds = (connectionId: string, at: string, fields: Record<string, unknown>, held?: Record<string, unknown>): Observation => ({ connectionId, at, precisionMs: 1000, fields, held });
const merge = (canonical: CanonicalRecordState, ...observations: Observation[]) =>
  observations.reduce((state, observation) => mergeObservation(state, observation, policies()).canonical, canonical);

describe('stampPrecisionMs', () => {
  it('takes the vendor clock, unless the stamp shows finer digits', () => {
    expect(stampPrecisionMs('dynamics', '2026-12-01T10:00:00.000Z')).toBe(1000);
    expect(stampPrecisionMs('salesforce', '2026-12-01T10:00:00.220Z')).toBe(1);
    expect(stampPrecisionMs('hubspot', '2026-12-01T10:00:00.000Z')).toBe(1);
  });
});

describe('compareEditTimes', () => {
  it('orders edits whose clock intervals do not overlap, and calls the rest a tie', () => {
    const dataverse = { connectionId: 'dyn', at: '2026-12-01T10:00:00.000Z', precisionMs: 1000 };
    expect(compareEditTimes({ connectionId: 'hs', at: '2026-12-01T10:00:00.700Z', precisionMs: 1 }, dataverse)).toBe(0);
    expect(compareEditTimes({ connectionId: 'hs', at: '2026-12-01T10:00:01.000Z', precisionMs: 1 }, dataverse)).toBe(1);
    expect(compareEditTimes({ connectionId: 'hs', at: '2026-12-01T09:59:59.999Z', precisionMs: 1 }, dataverse)).toBe(-1);
    expect(compareEditTimes({ connectionId: 'hs', at: null, precisionMs: 1 }, dataverse)).toBe(-1);
  });
});

describe('mergeObservation', () => {
  it('takes a first copy whole, except its empty values', () => {
    const result = mergeObservation(emptyCanonicalRecord(), ms('sf', '2026-12-01T10:00:00.000Z', { email: 'a@x.io', phone: null }), policies());
    expect(result.canonical.fields).toEqual({ email: 'a@x.io' });
    // The record's stamp, not the field's own edit time: marked so (FieldProvenance.recordStamp).
    expect(result.canonical.provenance.email).toEqual({ connectionId: 'sf', at: '2026-12-01T10:00:00.000Z', precisionMs: 1, recordStamp: true });
    expect(result.accepted).toEqual(['email']);
  });

  it('lets no empty value of a copy that never held the field erase one (first contact of a third CRM)', () => {
    const canonical = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T10:00:00.000Z', { email: 'a@x.io', phone: '+1 555', title: 'CTO' }));
    const dynamics = seconds('dyn', '2026-12-01T11:00:00.000Z', { email: 'a@x.io', phone: null, title: null });
    const result = mergeObservation(canonical, dynamics, policies());
    expect(result.canonical.fields).toEqual({ email: 'a@x.io', phone: '+1 555', title: 'CTO' });
    expect(result.accepted).toEqual([]);
  });

  it('accepts a person erasing a value the connection held', () => {
    const canonical = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T10:00:00.000Z', { phone: '+1 555' }));
    const result = mergeObservation(canonical, ms('hs', '2026-12-01T10:05:00.000Z', { phone: null }, { phone: '+1 555' }), policies());
    expect(result.canonical.fields).toEqual({ phone: null });
    expect(canonicalWrites(result.canonical, { current: { phone: '+1 555' }, held: undefined }, policies())).toEqual({ phone: null });
  });

  it('sees our own write coming back as nothing, whatever its modstamp', () => {
    const canonical = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T10:00:00.000Z', { firstName: 'Ada', custom: { tier: 'gold' } }));
    // HubSpot holds what we wrote there; its modstamp is our write's, later than the person's edit.
    const echo = mergeObservation(canonical, ms('hs', '2026-12-01T10:00:09.000Z', { firstName: 'Ada', custom: { tier: 'gold' } }, { firstName: 'Ada', custom: { tier: 'gold' } }), policies());
    expect(echo).toMatchObject({ accepted: [], refused: [], decisions: [] });
    expect(echo.canonical).toEqual(canonical);
  });

  it('keeps edits of different fields made in two CRMs at once: both stand', () => {
    const synced = { firstName: 'Ada', title: 'CTO' };
    const base = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T09:00:00.000Z', synced));
    const salesforce = ms('sf', '2026-12-01T10:00:02.000Z', { firstName: 'Ada L.', title: 'CTO' }, synced);
    const dynamics = seconds('dyn', '2026-12-01T10:00:01.000Z', { firstName: 'Ada', title: 'CEO' }, synced);
    expect(merge(base, salesforce, dynamics).fields).toEqual({ firstName: 'Ada L.', title: 'CEO' });
    expect(merge(base, dynamics, salesforce).fields).toEqual({ firstName: 'Ada L.', title: 'CEO' });
  });

  it('decides a true conflict by the later edit at each clock\u2019s precision, and records it', () => {
    const base = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T09:00:00.000Z', { phone: '0' }));
    const held = { phone: '0' };
    const hubspot = ms('hs', '2026-12-01T10:00:00.500Z', { phone: 'hs' }, held);
    const dynamics = seconds('dyn', '2026-12-01T10:00:01.000Z', { phone: 'dyn' }, held);
    const first = mergeObservation(base, hubspot, policies());
    const second = mergeObservation(first.canonical, dynamics, policies());
    expect(second.canonical.fields.phone).toBe('dyn');
    expect(second.decisions).toEqual([
      {
        field: 'phone',
        policy: 'latest',
        candidates: [
          { connectionId: 'dyn', value: 'dyn', modifiedAt: '2026-12-01T10:00:01.000Z' },
          { connectionId: 'hs', value: 'hs', modifiedAt: '2026-12-01T10:00:00.500Z' },
        ],
        winnerConnectionId: 'dyn',
        decidedValue: 'dyn',
      },
    ]);
    // The other order of arrival decides the same.
    expect(merge(base, dynamics, hubspot).fields.phone).toBe('dyn');
  });

  it('breaks a tie inside a whole-second stamp by priority, then by connection id, never by arrival', () => {
    const base = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T09:00:00.000Z', { phone: '0' }));
    const held = { phone: '0' };
    const hubspot = ms('hs', '2026-12-01T10:00:00.700Z', { phone: 'hs' }, held);
    const dynamics = seconds('dyn', '2026-12-01T10:00:00.000Z', { phone: 'dyn' }, held);
    const byPriority = policies({ default: { kind: 'latest', priority: ['hs', 'dyn'] } });
    for (const order of [[hubspot, dynamics], [dynamics, hubspot]]) {
      expect(order.reduce((state, observation) => mergeObservation(state, observation, byPriority).canonical, base).fields.phone).toBe('hs');
      expect(merge(base, ...order).fields.phone).toBe('dyn');
    }
  });

  it('owner: only the owning connection sets the field; fill-empty: written only where a connection has none', () => {
    const base = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T09:00:00.000Z', { title: 'CTO', phone: '1' }));
    const spec = policies({ fields: { title: { kind: 'owner', connectionId: 'sf' }, phone: { kind: 'fill-empty' } } });
    const result = mergeObservation(base, ms('hs', '2026-12-01T10:00:00.000Z', { title: 'CEO', phone: '2' }, { title: 'CTO', phone: '1' }), spec);
    expect(result.canonical.fields).toEqual({ title: 'CTO', phone: '2' });
    expect(result.refused).toEqual(['title']);
    expect(canonicalWrites(result.canonical, { current: { title: 'CEO', phone: '1' }, held: undefined }, spec)).toEqual({ title: 'CTO' });
    expect(canonicalWrites(result.canonical, { current: { title: 'CTO', phone: null }, held: undefined }, spec)).toEqual({ phone: '2' });
  });

  it('converges to the same record whatever the order the observations arrive in', () => {
    const connections = ['sf', 'hs', 'dyn'] as const;
    const observation = fc.record({
      connection: fc.constantFrom(...connections),
      second: fc.integer({ min: 0, max: 20 }),
      phone: fc.constantFrom('1', '2', '3', null),
      title: fc.constantFrom('CTO', 'CEO', null),
    });
    fc.assert(
      fc.property(fc.array(observation, { minLength: 1, maxLength: 5 }), fc.nat(), (edits, seed) => {
        const base = merge(emptyCanonicalRecord(), ms('sf', '2026-12-01T09:00:00.000Z', { phone: '0', title: 'X' }));
        const held = { phone: '0', title: 'X' };
        // One concurrent edit per connection (each made on top of the synced values).
        const byConnection = new Map(edits.map((edit) => [edit.connection, edit]));
        const observations = [...byConnection.values()].map((edit) =>
          seconds(edit.connection, `2026-12-01T10:00:${String(edit.second).padStart(2, '0')}.000Z`, { phone: edit.phone ?? '0', title: edit.title ?? 'X' }, held),
        );
        const shuffled = [...observations].sort((a, b) => ((a.connectionId.charCodeAt(0) * 31 + seed) % 7) - ((b.connectionId.charCodeAt(0) * 31 + seed) % 7));
        expect(merge(base, ...shuffled).fields).toEqual(merge(base, ...observations).fields);
      }),
    );
  });
});

describe('canonicalWrites', () => {
  const canonical: CanonicalRecordState = {
    fields: { email: 'a@x.io', phone: '+1 555', title: null, mobilePhone: null },
    provenance: { email: { connectionId: 'sf', at: null, precisionMs: 1 }, phone: { connectionId: 'sf', at: null, precisionMs: 1 }, title: { connectionId: 'hs', at: null, precisionMs: 1 } },
  };

  it('writes what the target lacks, erases only what a person erased, and nothing twice', () => {
    expect(canonicalWrites(canonical, { current: { email: 'a@x.io', phone: null, title: 'CTO', mobilePhone: '+1 777' }, held: undefined }, policies())).toEqual({ phone: '+1 555', title: null });
    expect(canonicalWrites(canonical, { current: undefined, held: undefined }, policies())).toEqual({ email: 'a@x.io', phone: '+1 555' });
    // A field the target does not read back (not mapped there) compares with what we last wrote.
    expect(canonicalWrites(canonical, { current: { email: 'a@x.io', title: null }, held: { phone: '+1 555' } }, policies())).toEqual({});
  });
});

describe('field edit times finer than the record stamp', () => {
  // Salesforce's edit at 24.659; a Pipedrive person's edit of the same field at 23 s, read under
  // the stamp (25 s) that our later write of another field gave the record.
  const salesforce = ms('sf', '2026-12-05T23:20:24.659Z', { lastName: 'Allen' }, { lastName: 'Lamarr' });
  const start = merge(emptyCanonicalRecord(), ms('sf', '2026-12-05T23:20:00.000Z', { lastName: 'Lamarr' }), seconds('pd', '2026-12-05T23:20:00.000Z', { lastName: 'Lamarr' }), salesforce);
  const pipedrive = (fieldAt?: Record<string, string>): Observation => ({
    ...seconds('pd', '2026-12-05T23:20:25.000Z', { lastName: 'Lamport', firstName: 'Kate' }, { lastName: 'Lamarr', firstName: 'Kate' }),
    fieldAt,
  });

  it('lets a field compete under its own edit time, not under the record stamp a later write gave it', () => {
    expect(mergeObservation(start, pipedrive(), policies()).canonical.fields.lastName).toBe('Lamport');
    const result = mergeObservation(start, pipedrive({ lastName: '2026-12-05T23:20:23.000Z' }), policies());
    expect(result.canonical.fields.lastName).toBe('Allen');
    expect(result.decisions).toEqual([
      expect.objectContaining({
        field: 'lastName',
        candidates: [
          { connectionId: 'pd', value: 'Lamport', modifiedAt: '2026-12-05T23:20:23.000Z' },
          { connectionId: 'sf', value: 'Allen', modifiedAt: '2026-12-05T23:20:24.659Z' },
        ],
        winnerConnectionId: 'sf',
      }),
    ]);
  });

  it('ignores a field time later than the record stamp (no edit is later than the stamp that covers it)', () => {
    expect(mergeObservation(start, pipedrive({ lastName: '2026-12-05T23:20:26.000Z' }), policies()).canonical.fields.lastName).toBe('Lamport');
  });

  it('asks for field times only where the read carries the held copy\'s stamp yet differs from it', () => {
    const held = { sourceModifiedAt: new Date('2026-12-05T23:20:25.000Z'), fields: { lastName: 'Lamarr', firstName: 'Kate', phone: null } };
    const read = { modifiedAt: '2026-12-05T23:20:25.000Z', fields: { lastName: 'Lamport', firstName: 'Kate', phone: null, title: 'CTO' } };
    expect(changedUnderHeldStamp(read, held)).toEqual(['lastName', 'title']);
    expect(changedUnderHeldStamp({ ...read, modifiedAt: '2026-12-05T23:20:26.000Z' }, held)).toEqual([]);
    expect(changedUnderHeldStamp(read, { ...held, sourceModifiedAt: null })).toEqual([]);
    expect(changedUnderHeldStamp(read, undefined)).toEqual([]);
  });
});

describe('fieldsWinningByRecordStamp', () => {
  // p0530 of the seed-2 convergence run: Salesforce's firstName edit is canonical; Zoho's copy,
  // created earlier with "Ada", is met at first contact under the stamp of a later phone edit.
  const canonical = merge(emptyCanonicalRecord(), ms('sf', '2026-12-06T09:25:37.069Z', { firstName: 'Barbara', lastName: 'Wilson', title: 'CFO' }));
  const zoho = (fields: Record<string, unknown>, held?: Record<string, unknown>) => seconds('zoho', '2026-12-06T09:25:46.000Z', fields, held);

  it('names the fields a copy met at first contact would take from a canonical value edited before its record stamp', () => {
    expect(fieldsWinningByRecordStamp(canonical, zoho({ firstName: 'Ada', lastName: 'Wilson', phone: '+1 555', title: null }), policies())).toEqual(['firstName']);
  });

  it('names none where the record stamp already loses, the value is the canonical one, or the change is a successor edit', () => {
    expect(fieldsWinningByRecordStamp(canonical, seconds('zoho', '2026-12-06T09:25:30.000Z', { firstName: 'Ada' }), policies())).toEqual([]);
    expect(fieldsWinningByRecordStamp(canonical, zoho({ firstName: 'Barbara' }), policies())).toEqual([]);
    // Zoho held the canonical value and a person there changed it: that edit stands, whatever its time.
    expect(fieldsWinningByRecordStamp(canonical, zoho({ firstName: 'Ada' }, { firstName: 'Barbara' }), policies())).toEqual([]);
    // A field the connection owns needs no time.
    expect(fieldsWinningByRecordStamp(canonical, zoho({ firstName: 'Ada' }), policies({ fields: { firstName: { kind: 'owner', connectionId: 'zoho' } } }))).toEqual([]);
  });

  it('under the field\'s own edit time, the untouched value loses to the later edit elsewhere', () => {
    const withStamp = mergeObservation(canonical, zoho({ firstName: 'Ada', phone: '+1 555' }), policies());
    expect(withStamp.canonical.fields.firstName).toBe('Ada');
    const withHistory = mergeObservation(canonical, { ...zoho({ firstName: 'Ada', phone: '+1 555' }), fieldAt: { firstName: '2026-12-06T09:25:26.000Z' } }, policies());
    expect(withHistory.canonical.fields.firstName).toBe('Barbara');
    expect(withHistory.canonical.fields.phone).toBe('+1 555');
    expect(withHistory.decisions.map((decision) => [decision.field, decision.winnerConnectionId])).toEqual([['firstName', 'sf']]);
  });
});

describe('fieldsLosingToRecordStamp and withFieldEditTimes', () => {
  // The reverse order of p0530: Zoho's copy ("Ada" since its creation at 20 s, phone edited at
  // 46 s) enters the empty canonical record first; Salesforce's copy, renamed Augusta at 37.069 s,
  // is met after it.
  const zohoFirst = merge(emptyCanonicalRecord(), seconds('zoho', '2026-12-06T09:25:46.000Z', { firstName: 'Ada', lastName: 'Wilson', phone: '+1 555' }));
  const salesforce = (fields: Record<string, unknown>, held?: Record<string, unknown>) => ms('sf', '2026-12-06T09:25:37.069Z', fields, held);
  const zohoHistory = { firstName: '2026-12-06T09:25:20.000Z', lastName: '2026-12-06T09:25:20.000Z', phone: '2026-12-06T09:25:46.000Z' };

  it('names, by the connection it came from, the canonical values a later edit loses to only by their record stamp', () => {
    const losing = fieldsLosingToRecordStamp(zohoFirst, salesforce({ firstName: 'Augusta', lastName: 'Wilson', phone: null }), policies());
    expect([...losing]).toEqual([['zoho', ['firstName']]]);
    // None where the later read wins anyway, holds the canonical value, or edits on top of it.
    expect(fieldsLosingToRecordStamp(zohoFirst, ms('sf', '2026-12-06T09:25:50.000Z', { firstName: 'Augusta' }), policies()).size).toBe(0);
    expect(fieldsLosingToRecordStamp(zohoFirst, salesforce({ firstName: 'Ada' }), policies()).size).toBe(0);
    expect(fieldsLosingToRecordStamp(zohoFirst, salesforce({ firstName: 'Augusta' }, { firstName: 'Ada' }), policies()).size).toBe(0);
    // Nor where the field's owner decides, or the canonical value's time is already its field's own.
    expect(fieldsLosingToRecordStamp(zohoFirst, salesforce({ firstName: 'Augusta' }), policies({ fields: { firstName: { kind: 'owner', connectionId: 'zoho' } } })).size).toBe(0);
    const timed = withFieldEditTimes(zohoFirst, 'zoho', ['firstName'], { firstName: '2026-12-06T09:25:40.000Z' });
    expect(fieldsLosingToRecordStamp(timed, salesforce({ firstName: 'Augusta' }), policies()).size).toBe(0);
  });

  it('puts the field\'s own edit time in place of the stamp, and the later edit elsewhere wins', () => {
    const timed = withFieldEditTimes(zohoFirst, 'zoho', ['firstName'], zohoHistory);
    expect(timed.provenance.firstName).toEqual({ connectionId: 'zoho', at: '2026-12-06T09:25:20.000Z', precisionMs: 1000 });
    // Only the fields asked; the others keep their stamp, still to be asked.
    expect(timed.provenance.lastName).toMatchObject({ at: '2026-12-06T09:25:46.000Z', recordStamp: true });
    const result = mergeObservation(timed, salesforce({ firstName: 'Augusta', lastName: 'Wilson' }), policies());
    expect(result.canonical.fields).toMatchObject({ firstName: 'Augusta', lastName: 'Wilson', phone: '+1 555' });
    expect(result.decisions).toEqual([
      expect.objectContaining({
        field: 'firstName',
        candidates: [
          { connectionId: 'sf', value: 'Augusta', modifiedAt: '2026-12-06T09:25:37.069Z' },
          { connectionId: 'zoho', value: 'Ada', modifiedAt: '2026-12-06T09:25:20.000Z' },
        ],
        winnerConnectionId: 'sf',
      }),
    ]);
  });

  it('keeps the stamp where the field changed there since it was read; stops asking where the history cannot tell', () => {
    const changedSince = withFieldEditTimes(zohoFirst, 'zoho', ['firstName'], { firstName: '2026-12-06T09:25:50.000Z' });
    expect(changedSince).toBe(zohoFirst);
    const untold = withFieldEditTimes(zohoFirst, 'zoho', ['firstName'], {});
    expect(untold.provenance.firstName).toEqual({ connectionId: 'zoho', at: '2026-12-06T09:25:46.000Z', precisionMs: 1000 });
    // Another connection's values, or times already a field's own, are left alone.
    expect(withFieldEditTimes(zohoFirst, 'hs', ['firstName'], zohoHistory)).toBe(zohoFirst);
  });

  it('decides alike in either order once the histories are asked', () => {
    const sfCopy = salesforce({ firstName: 'Augusta', lastName: 'Wilson' });
    const zohoCopy = seconds('zoho', '2026-12-06T09:25:46.000Z', { firstName: 'Ada', lastName: 'Wilson', phone: '+1 555' });
    // Salesforce first: Zoho's copy competes under its fields' own times (fieldsWinningByRecordStamp).
    const sfFirst = merge(emptyCanonicalRecord(), sfCopy);
    const asked = fieldsWinningByRecordStamp(sfFirst, zohoCopy, policies());
    const fieldAt = Object.fromEntries(asked.map((field) => [field, zohoHistory[field as keyof typeof zohoHistory]]));
    const a = mergeObservation(sfFirst, { ...zohoCopy, fieldAt }, policies()).canonical;
    // Zoho first: its record-stamped values are timed once Salesforce's copy would lose to them.
    let b = merge(emptyCanonicalRecord(), zohoCopy);
    for (const [connectionId, fields] of fieldsLosingToRecordStamp(b, sfCopy, policies())) b = withFieldEditTimes(b, connectionId, fields, zohoHistory);
    b = mergeObservation(b, sfCopy, policies()).canonical;
    expect(a.fields).toEqual(b.fields);
    expect(b.fields).toEqual({ firstName: 'Augusta', lastName: 'Wilson', phone: '+1 555' });
  });
});

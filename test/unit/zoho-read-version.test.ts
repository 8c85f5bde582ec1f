import { describe, expect, it } from 'vitest';
import { isUnsettled, readVersion, withReadVersions } from '../../src/connectors/zoho/read-version';

describe('the version a Zoho read gives a record (the If-Unmodified-Since its update carries)', () => {
  const answeredAt = Date.parse('2026-12-06T09:00:46.700Z');

  it('is the second before Zoho answered, for a record saved in an earlier second', () => {
    expect(readVersion('2026-12-06T14:30:40+05:30', answeredAt)).toBe('2026-12-06T09:00:45+00:00');
    expect(readVersion('2026-12-06T14:30:45+05:30', answeredAt)).toBe('2026-12-06T09:00:45+00:00');
  });

  it('is unsettled for a record saved in the second of the answer (a save after our read in that second could not be refused)', () => {
    const version = readVersion('2026-12-06T14:30:46+05:30', answeredAt);
    expect(version).toBeDefined();
    expect(isUnsettled(version as string)).toBe(true);
    expect(isUnsettled(readVersion('2026-12-06T14:30:45+05:30', answeredAt) as string)).toBe(false);
  });

  it("falls back to the record's own second without the answer's Date, and to none without a stamp", () => {
    expect(readVersion('2026-12-06T14:30:40+05:30', Number.NaN)).toBe('2026-12-06T09:00:40+00:00');
    expect(readVersion('', answeredAt)).toBeUndefined();
  });

  it("gives each record of one answer its version by that answer's Date (any module: activities too), and by its own stamp without one", () => {
    const records = [
      { externalId: 'Calls:1', modifiedAt: '2026-12-06T09:00:40.000Z' },
      { externalId: '2', modifiedAt: '2026-12-06T09:00:46.000Z' },
    ];
    const dated = withReadVersions(records, 'Sun, 06 Dec 2026 09:00:46 GMT');
    expect(dated.map((record) => record.externalId)).toEqual(['Calls:1', '2']);
    expect(dated[0]?.version).toBe('2026-12-06T09:00:45+00:00');
    expect(isUnsettled(dated[1]?.version as string)).toBe(true);
    expect(withReadVersions(records, undefined).map((record) => record.version)).toEqual(['2026-12-06T09:00:40+00:00', '2026-12-06T09:00:46+00:00']);
  });
});

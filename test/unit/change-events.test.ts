import { describe, expect, it } from 'vitest';
import { decodeFieldBitmap, FieldBitmapError, type RecordSchemaJson } from '../../src/connectors/salesforce/change-events/field-bitmap';
import { changeEventNotices, type DecodedChangeEvent } from '../../src/connectors/salesforce/change-events/notices';
import { encodeFieldBitmap, type LayoutField } from '../../src/sandbox/salesforce/pubsub/change-event-schema';

/** A schema shaped like a change event's: the header at 0, a compound Name at 2. */
const schema: RecordSchemaJson = {
  name: 'ContactChangeEvent',
  fields: [
    { name: 'ChangeEventHeader', type: { type: 'record', name: 'ChangeEventHeader', fields: [] } },
    { name: 'AccountId', type: ['null', 'string'] },
    { name: 'Name', type: ['null', { type: 'record', name: 'Name', fields: [{ name: 'Salutation', type: ['null', 'string'] }, { name: 'FirstName', type: ['null', 'string'] }, { name: 'LastName', type: ['null', 'string'] }] }] },
    { name: 'Email', type: ['null', 'string'] },
    { name: 'Title', type: ['null', 'string'] },
    { name: 'LastModifiedDate', type: ['null', 'long'] },
  ],
};

describe('change event field bitmaps (Pub/Sub API)', () => {
  it('reads bit i, least significant first, as top-level field i, and <i>-0x.. as the nested fields of compound field i', () => {
    // 0x32 = bits 1, 4, 5; 2-0x6 = Name's nested bits 1 and 2.
    expect(decodeFieldBitmap(schema, ['0x32', '2-0x6'])).toEqual(['AccountId', 'Title', 'LastModifiedDate', 'Name.FirstName', 'Name.LastName']);
    expect(decodeFieldBitmap(schema, [])).toEqual([]);
  });

  it('decodes a bitmap wider than 53 bits exactly (BigInt, not a float)', () => {
    const wide: RecordSchemaJson = { fields: Array.from({ length: 70 }, (_, i) => ({ name: `F${i}`, type: ['null', 'string'] })) };
    expect(decodeFieldBitmap(wide, [`0x${(1n << 69n | 1n << 54n | 1n).toString(16)}`])).toEqual(['F0', 'F54', 'F69']);
  });

  it('refuses a bitmap naming a field the schema lacks, or a nested entry on a plain field', () => {
    expect(() => decodeFieldBitmap(schema, ['0x80'])).toThrow(FieldBitmapError);
    expect(() => decodeFieldBitmap(schema, ['3-0x1'])).toThrow(/not a compound field/);
    expect(() => decodeFieldBitmap(schema, ['Email'])).toThrow(/not a field bitmap/);
  });

  it('reads what the sandbox encodes (the two ends agree)', () => {
    const layout: LayoutField[] = [
      { name: 'AccountId', source: 'AccountId', fieldType: 'reference' },
      { name: 'Name', compound: [{ name: 'Salutation', source: 'Salutation', fieldType: 'string' }, { name: 'FirstName', source: 'FirstName', fieldType: 'string' }, { name: 'LastName', source: 'LastName', fieldType: 'string' }] },
      { name: 'Email', source: 'Email', fieldType: 'email' },
      { name: 'Title', source: 'Title', fieldType: 'string' },
      { name: 'LastModifiedDate', source: 'LastModifiedDate', fieldType: 'datetime' },
    ];
    const encoded = encodeFieldBitmap(layout, ['Email', 'LastName', 'LastModifiedDate']);
    expect(encoded).toEqual(['0x28', '2-0x4']);
    expect(decodeFieldBitmap(schema, encoded)).toEqual(['Email', 'LastModifiedDate', 'Name.LastName']);
  });
});

const event = (overrides: Partial<DecodedChangeEvent>): DecodedChangeEvent => ({
  replayId: 'AAAAAAAAAAE=',
  entityName: 'Contact',
  recordIds: ['003000000000001AAA'],
  changeType: 'UPDATE',
  changeOrigin: '',
  commitTimestamp: Date.UTC(2026, 0, 2, 3, 4, 5),
  commitUser: '005000000000001AAA',
  transactionKey: 'tx',
  sequenceNumber: 1,
  changedFields: [],
  ...overrides,
});

describe('change events as the workflow\'s notices', () => {
  it('names every record of an event, marks deletions, and gives each record its own event id', () => {
    const { notices, pollObjects, ignored } = changeEventNotices(
      [event({ recordIds: ['003A', '003B'] }), event({ replayId: 'AAAAAAAAAAI=', entityName: 'Account', changeType: 'DELETE', recordIds: ['001A'] })],
      ['company', 'contact'],
    );
    expect(notices).toEqual([
      { objectType: 'contact', externalId: '003A', eventId: 'cdc:AAAAAAAAAAE=:0', modifiedAt: '2026-01-02T03:04:05.000Z' },
      { objectType: 'contact', externalId: '003B', eventId: 'cdc:AAAAAAAAAAE=:1', modifiedAt: '2026-01-02T03:04:05.000Z' },
      { objectType: 'company', externalId: '001A', eventId: 'cdc:AAAAAAAAAAI=:0', modifiedAt: '2026-01-02T03:04:05.000Z', deleted: true },
    ]);
    expect(pollObjects).toEqual([]);
    expect(ignored).toBe(0);
  });

  it('reads GAP_* records like any change (GAP_DELETE as a deletion the read confirms), polls the object of a GAP_OVERFLOW, and skips objects not synced', () => {
    const { notices, pollObjects, ignored } = changeEventNotices(
      [
        event({ changeType: 'GAP_UPDATE', recordIds: ['003A'] }),
        event({ changeType: 'GAP_DELETE', recordIds: ['003B'] }),
        event({ entityName: 'Opportunity', changeType: 'GAP_OVERFLOW', recordIds: [] }),
        event({ entityName: 'Lead', recordIds: ['00QA'] }),
      ],
      ['contact', 'deal'],
    );
    expect(notices.map((notice) => [notice.externalId, notice.deleted ?? false])).toEqual([['003A', false], ['003B', true]]);
    expect(pollObjects).toEqual(['deal']);
    expect(ignored).toBe(1);
  });
});

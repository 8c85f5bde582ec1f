import { describe, expect, it } from 'vitest';
import { journalNotices } from '../../src/connectors/hubspot/journal/notices';

const at = '2026-12-06T09:00:00.000Z';

describe('HubSpot webhooks journal events -> change notices', () => {
  it('names each record once (its newest event), spells activity ids by object, and marks deletions and merged-away records', () => {
    const { notices, received } = journalNotices(
      [
        {
          offset: 'o1',
          journalEvents: [
            { type: 'crmObject', portalId: 1, occurredAt: at, action: 'CREATE', objectTypeId: '0-1', objectId: 11 },
            { type: 'crmObject', portalId: 1, occurredAt: at, action: 'UPDATE', objectTypeId: '0-1', objectId: 11, propertyChanges: { firstname: 'A' } },
            { type: 'crmObject', portalId: 1, occurredAt: at, action: 'CREATE', objectTypeId: '0-48', objectId: 7 },
            { type: 'crmObject', portalId: 1, occurredAt: at, action: 'UPDATE', objectTypeId: '0-2', objectId: 21 },
          ],
        },
        {
          offset: 'o2',
          journalEvents: [
            { type: 'crmObject', portalId: 1, occurredAt: at, action: 'DELETE', objectTypeId: '0-3', objectId: 31 },
            { type: 'crmObject', portalId: 1, occurredAt: at, action: 'MERGE', objectTypeId: '0-1', objectId: 12, mergedObjectIds: [13] },
            { type: 'app_lifecycle_event', portalId: 1, occurredAt: at, action: 'APP_INSTALL' },
          ],
        },
      ],
      ['contact', 'deal', 'activity'],
    );
    expect(received).toBe(7);
    expect(notices).toEqual([
      { objectType: 'contact', externalId: '11', eventId: 'journal:o1:1', modifiedAt: at },
      { objectType: 'activity', externalId: 'calls:7', eventId: 'journal:o1:2', modifiedAt: at },
      { objectType: 'deal', externalId: '31', eventId: 'journal:o2:0', modifiedAt: at, deleted: true },
      { objectType: 'contact', externalId: '12', eventId: 'journal:o2:1', modifiedAt: at },
      { objectType: 'contact', externalId: '13', eventId: 'journal:o2:1', modifiedAt: at, deleted: true },
    ]);
  });

  it('names the record holding the slot for an association change, with no modstamp, and nothing for pairs no slot holds', () => {
    const association = (fromObjectTypeId: string, fromObjectId: number, toObjectTypeId: string, toObjectId: number) => ({
      type: 'association',
      portalId: 1,
      occurredAt: at,
      action: 'ASSOCIATION_ADDED',
      fromObjectTypeId,
      fromObjectId,
      toObjectTypeId,
      toObjectId,
    });
    const { notices } = journalNotices(
      [{ offset: 'o3', journalEvents: [association('0-2', 21, '0-1', 11), association('0-3', 31, '0-1', 12), association('0-2', 21, '0-2', 22), association('0-47', 5, '0-3', 31)] }],
      ['company', 'contact', 'deal', 'activity'],
    );
    expect(notices).toEqual([
      { objectType: 'contact', externalId: '11', eventId: 'journal:o3:0' },
      { objectType: 'deal', externalId: '31', eventId: 'journal:o3:1' },
      { objectType: 'activity', externalId: 'meetings:5', eventId: 'journal:o3:3' },
    ]);
  });
});

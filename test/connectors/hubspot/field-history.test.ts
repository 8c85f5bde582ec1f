import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

/**
 * HubSpot stamps the whole record on every write: a person's edit of one property followed by our
 * write of another reads back under our write's stamp. Each property's history keeps its own time.
 */
describe('HubSpot connector: field edit times from property histories', () => {
  let hs: HubSpotSandbox;
  let connector: HubSpotConnector;
  // The portal's clock: real time, moved on so that each write has a time of its own.
  let skewMs = 0;

  beforeAll(async () => {
    hs = await startHubSpotSandbox({ now: () => Date.now() + skewMs });
    connector = await createHubSpotConnector({ connectionId: `hs-history-${randomUUID()}`, basePath: hs.url, auth: { kind: 'private-app', accessToken: hs.credentials.accessToken }, rateLimits: false });
  });
  afterAll(async () => hs.stop());

  it('tells when a property changed, where the record stamp shows only our later write of another one', async () => {
    const syncId = randomUUID();
    const [created] = await connector.upsertRecords('contact', [{ syncId, fields: { firstName: 'Ada', lastName: 'Byron', email: `${syncId}@example.com` } }]);
    const id = created?.status === 'created' ? created.externalId : '';
    skewMs += 5_000;
    const edited = hs.admin.changeAsUser('contacts', id, { lastname: 'Lovelace' });
    skewMs += 5_000;
    const [written] = await connector.upsertRecords('contact', [{ syncId, externalId: id, fields: { firstName: 'Augusta' } }]);
    const [read] = await connector.readRecords('contact', [id]);
    expect(read?.modifiedAt).toBe(written?.status === 'updated' ? written.modifiedAt : 'not updated');

    const times = await connector.fieldEditTimes('contact', [{ externalId: id, fields: ['lastName', 'firstName'] }, { externalId: '999999999', fields: ['lastName'] }]);
    expect(times.get(id)).toEqual({ lastName: new Date(edited.updatedAt).toISOString(), firstName: read?.modifiedAt });
    // A record HubSpot does not find tells nothing.
    expect(times.has('999999999')).toBe(false);
  });
});

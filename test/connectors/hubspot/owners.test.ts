import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotConnector, type HubSpotConnector } from '../../../src/connectors/hubspot';
import { SANDBOX_SALES_USERS } from '../../../src/sandbox/core/users';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';
import { landed, type Landed } from '../../support/landed';

const [ada, grace, alan, former] = SANDBOX_SALES_USERS.map((user) => user.email) as [string, string, string, string];

interface Owner {
  id: string;
  email: string;
  userId: number;
  archived: boolean;
}

/** HubSpot's activity ids may carry their object (`calls:123`); the record id is the last part. */
const recordId = (externalId: string): string => externalId.split(':').pop() ?? externalId;

describe('HubSpot: owners (/crm/v3/owners) and hubspot_owner_id', () => {
  let hs: HubSpotSandbox;
  const owners = new Map<string, Owner>();
  const call = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(`${hs.url}${path}`, { ...init, headers: { authorization: `Bearer ${hs.credentials.accessToken}`, 'content-type': 'application/json' } });
    return { status: response.status, body: await response.json() };
  };
  const connect = (mappingOverride?: unknown): Promise<HubSpotConnector> =>
    createHubSpotConnector({ connectionId: `hs-owners-${randomUUID()}`, basePath: hs.url, auth: { kind: 'private-app', accessToken: hs.credentials.accessToken }, mappingOverride });

  beforeAll(async () => {
    hs = await startHubSpotSandbox();
    for (const archived of [false, true]) {
      const { body } = await call(`/crm/v3/owners?archived=${archived}`);
      for (const owner of (body as { results: Owner[] }).results) owners.set(owner.email, owner);
    }
  });
  afterAll(async () => hs.stop());
  const ownerId = (email: string): string => owners.get(email)?.id ?? '';

  it('lists owners, finds one by email, keeps a deactivated user archived, and refuses an unknown, archived or user id as owner', async () => {
    expect(owners.get(former)?.archived).toBe(true);
    expect([ada, grace, alan].map((email) => owners.get(email)?.archived)).toEqual([false, false, false]);
    const byEmail = await call(`/crm/v3/owners?email=${encodeURIComponent(grace)}`);
    expect((byEmail.body as { results: Owner[] }).results.map((owner) => owner.id)).toEqual([ownerId(grace)]);
    expect((await call(`/crm/v3/owners/${owners.get(ada)?.userId}?idProperty=userId`)).body).toMatchObject({ id: ownerId(ada) });

    const created = await call('/crm/v3/objects/deals', { method: 'POST', body: JSON.stringify({ properties: { dealname: 'No owner given' } }) });
    expect(created.status).toBe(201);
    // HubSpot gives an API-created record no owner (there is no API user to default to).
    expect((created.body as { properties: Record<string, unknown> }).properties.hubspot_owner_id ?? null).toBeNull();

    for (const bad of ['99999999', ownerId(former), String(owners.get(ada)?.userId)]) {
      const refused = await call('/crm/v3/objects/deals', { method: 'POST', body: JSON.stringify({ properties: { dealname: 'Bad owner', hubspot_owner_id: bad } }) });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toContain('INVALID_OPTION');
    }
  });

  it('the connector writes and reads owners on contacts, companies, deals and every engagement through the owner map', async () => {
    const connector = await connect({ owners: { [ownerId(ada)]: ada, [ownerId(grace)]: grace } });
    const deal = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Owned', owner: ada } }]))[0]);
    expect(hs.admin.getRecord('deals', deal.externalId)?.properties.hubspot_owner_id).toBe(ownerId(ada));
    const contact = landed((await connector.upsertRecords('contact', [{ syncId: randomUUID(), fields: { lastName: 'Owned', owner: grace } }]))[0]);
    expect(hs.admin.getRecord('contacts', contact.externalId)?.properties.hubspot_owner_id).toBe(ownerId(grace));
    const company = landed((await connector.bulk.upsert('company', [{ syncId: randomUUID(), fields: { name: 'Owned Inc', owner: grace } }]))[0]);
    expect(hs.admin.getRecord('companies', company.externalId)?.properties.hubspot_owner_id).toBe(ownerId(grace));
    const activities = await connector.upsertRecords('activity', [
      { syncId: randomUUID(), fields: { subject: 'Task', kind: 'task', dueAt: '2026-12-01T10:00:00.000Z', owner: ada } },
      { syncId: randomUUID(), fields: { subject: 'Call', kind: 'call', dueAt: '2026-12-01T10:00:00.000Z', owner: grace } },
    ]);
    const [task, callActivity] = activities.map(landed) as [Landed, Landed];
    expect(hs.admin.getRecord('tasks', recordId(task.externalId))?.properties.hubspot_owner_id).toBe(ownerId(ada));
    expect(hs.admin.getRecord('calls', recordId(callActivity.externalId))?.properties.hubspot_owner_id).toBe(ownerId(grace));

    const read = await connector.readRecords('activity', [task.externalId, callActivity.externalId]);
    expect(read.map((record) => record.fields.owner)).toEqual([ada, grace]);
    const [readDeal] = await connector.readRecords('deal', [deal.externalId]);
    expect(readDeal?.fields.owner).toBe(ada);
    const changes = await connector.listChanges('contact', { since: new Date(Date.now() - 60_000).toISOString() });
    expect(changes.records.find((record) => record.externalId === contact.externalId)?.fields.owner).toBe(grace);

    // Moved in HubSpot to another mapped owner: read as that owner; to an unmapped one: not read.
    hs.admin.changeAsUser('deals', deal.externalId, { hubspot_owner_id: ownerId(grace) });
    expect((await connector.readRecords('deal', [deal.externalId]))[0]?.fields.owner).toBe(grace);
    hs.admin.changeAsUser('deals', deal.externalId, { hubspot_owner_id: ownerId(alan) });
    expect((await connector.readRecords('deal', [deal.externalId]))[0]?.fields).not.toHaveProperty('owner');

    // An owner with no id in the map is left out and said; HubSpot keeps the record's owner.
    const kept = landed((await connector.upsertRecords('deal', [{ syncId: readDeal?.syncId ?? '', externalId: deal.externalId, fields: { name: 'Renamed', owner: former } }]))[0]);
    expect(kept.adjusted).toEqual([expect.stringMatching(/^skipped: owner/)]);
    expect(hs.admin.getRecord('deals', deal.externalId)?.properties).toMatchObject({ dealname: 'Renamed', hubspot_owner_id: ownerId(alan) });
  });

  it('without an owner map the connector neither reads nor writes hubspot_owner_id', async () => {
    const connector = await connect();
    const deal = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Unmapped', owner: ada } }]))[0]);
    expect(deal.adjusted).toBeUndefined();
    expect(hs.admin.getRecord('deals', deal.externalId)?.properties.hubspot_owner_id ?? null).toBeNull();
    hs.admin.changeAsUser('deals', deal.externalId, { hubspot_owner_id: ownerId(ada) });
    expect((await connector.readRecords('deal', [deal.externalId]))[0]?.fields).not.toHaveProperty('owner');
  });
});

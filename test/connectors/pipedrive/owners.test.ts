import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_SALES_USERS } from '../../../src/sandbox/core/users';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';
import { landed } from '../../support/landed';

const [ada, grace, alan, former] = SANDBOX_SALES_USERS.map((user) => user.email) as [string, string, string, string];

describe('Pipedrive: users (/v1/users) and owner_id', () => {
  let pd: PipedriveSandbox;
  const users = new Map<string, { id: number; active_flag: boolean }>();
  const call = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(`${pd.url}${path}`, { ...init, headers: { 'x-api-token': pd.credentials.apiToken, 'content-type': 'application/json' } });
    return { status: response.status, body: await response.json() };
  };
  beforeAll(async () => {
    pd = await startPipedriveSandbox();
    const listed = await call('/v1/users');
    for (const user of (listed.body as { data: { id: number; email: string; active_flag: boolean }[] }).data) users.set(user.email, user);
  });
  afterAll(async () => pd.stop());
  const id = (email: string): number => users.get(email)?.id ?? 0;

  it('lists users, gives the API user new records, and refuses an unknown or inactive owner', async () => {
    expect(users.get(former)?.active_flag).toBe(false);
    const created = await call('/api/v2/deals', { method: 'POST', body: JSON.stringify({ title: 'Default owner' }) });
    expect(created.status).toBe(200);
    expect((created.body as { data: { owner_id: number } }).data.owner_id).toBe(1);
    for (const bad of [999_999, id(former)]) {
      const refused = await call('/api/v2/deals', { method: 'POST', body: JSON.stringify({ title: 'Bad owner', owner_id: bad }) });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toContain('owner_id');
    }
  });

  it('the connector writes and reads owner_id through the owner map, leaving unmapped owners alone', async () => {
    const connector = await connectorFor(pd, { mappingOverride: { owners: { [String(id(ada))]: ada, [String(id(grace))]: grace } } });
    const deal = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Owned', owner: ada } }]))[0]);
    expect(pd.admin.getRecord('deals', Number(deal.externalId))?.owner_id).toBe(id(ada));
    const activity = landed((await connector.upsertRecords('activity', [{ syncId: randomUUID(), fields: { subject: 'Call', kind: 'call', owner: grace } }]))[0]);
    expect(pd.admin.getRecord('activities', Number(activity.externalId))?.owner_id).toBe(id(grace));
    expect((await connector.readRecords('activity', [activity.externalId]))[0]?.fields.owner).toBe(grace);
    const exported = (await connector.bulk.readExportPage(await connector.bulk.startExport('deal'))).records.find((record) => record.externalId === deal.externalId);
    expect(exported?.fields.owner).toBe(ada);

    const kept = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), externalId: deal.externalId, fields: { owner: alan } }]))[0]);
    expect(kept.adjusted).toEqual([expect.stringMatching(/^skipped: owner/)]);
    expect(pd.admin.getRecord('deals', Number(deal.externalId))?.owner_id).toBe(id(ada));
    await call(`/api/v2/deals/${deal.externalId}`, { method: 'PATCH', body: JSON.stringify({ owner_id: id(alan) }) });
    expect((await connector.readRecords('deal', [deal.externalId]))[0]?.fields).not.toHaveProperty('owner');
  });
});

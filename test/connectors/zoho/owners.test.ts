import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_SALES_USERS } from '../../../src/sandbox/core/users';
import { startZohoSandbox, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { accessToken, api } from '../../sandbox/zoho/support';
import { connectTo } from './support';
import { landed } from '../../support/landed';

const [ada, grace, alan, former] = SANDBOX_SALES_USERS.map((user) => user.email) as [string, string, string, string];

describe('Zoho: users (/crm/v6/users) and Owner', () => {
  let zoho: ZohoSandbox;
  let token: string;
  const users = new Map<string, { id: string; status: string }>();
  beforeAll(async () => {
    zoho = await startZohoSandbox();
    token = await accessToken(zoho);
    const listed = await api(zoho, token, 'GET', 'users?type=AllUsers');
    for (const user of (listed.body as { users: { id: string; email: string; status: string }[] }).users) users.set(user.email, user);
  });
  afterAll(async () => zoho.stop());
  const id = (email: string): string => users.get(email)?.id ?? '';

  it('lists users by type, gives the API user new records, and refuses an unknown or inactive owner', async () => {
    expect(users.get(former)?.status).toBe('disabled');
    const active = await api(zoho, token, 'GET', 'users?type=ActiveUsers');
    expect((active.body as { users: { email: string }[] }).users.map((user) => user.email)).not.toContain(former);
    expect((await api(zoho, token, 'GET', 'users?type=Everyone')).status).toBe(400);

    const created = await api(zoho, token, 'POST', 'Deals', { body: { data: [{ Deal_Name: 'Default owner', Stage: 'Qualification' }] } });
    const dealId = ((created.body as { data: { details: { id: string } }[] }).data[0]?.details.id) ?? '';
    expect(zoho.admin.getRecord('Deals', dealId)?.Owner).toEqual({ name: 'crm-sync integration', id: '5843104000000397001', email: 'integration@crm-sync.sandbox' });
    for (const bad of ['5843104000000999999', id(former)]) {
      const refused = await api(zoho, token, 'POST', 'Deals', { body: { data: [{ Deal_Name: 'Bad owner', Stage: 'Qualification', Owner: { id: bad } }] } });
      const entry = (refused.body as { data: { status: string; code: string; details: { api_name?: string } }[] }).data[0];
      expect(entry).toMatchObject({ status: 'error', code: 'INVALID_DATA', details: { api_name: 'Owner' } });
    }
  });

  it('the connector writes and reads Owner through the owner map, leaving unmapped owners alone', async () => {
    const connector = await connectTo(zoho, { mappingOverride: { owners: { [id(ada)]: ada, [id(grace)]: grace } } });
    const deal = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Owned', stage: 'prospecting', owner: ada } }]))[0]);
    expect((zoho.admin.getRecord('Deals', deal.externalId)?.Owner as { id: string }).id).toBe(id(ada));
    const call = landed((await connector.upsertRecords('activity', [{ syncId: randomUUID(), fields: { subject: 'Call', kind: 'call', dueAt: '2027-01-20T10:00:00.000Z', owner: grace } }]))[0]);
    const callRow = zoho.admin.getRecord('Calls', call.externalId.replace(/^Calls:/, ''));
    expect((callRow?.Owner as { id: string }).id).toBe(id(grace));
    expect((await connector.readRecords('activity', [call.externalId]))[0]?.fields.owner).toBe(grace);
    const exported = (await connector.bulk.readExportPage(await connector.bulk.startExport('deal'))).records.find((record) => record.externalId === deal.externalId);
    expect(exported?.fields.owner).toBe(ada);

    // Alan has no id in this connection's map: the owner is not written, and the outcome says so.
    const kept = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), externalId: deal.externalId, fields: { owner: alan } }]))[0]);
    expect(kept.adjusted).toEqual([expect.stringMatching(/^skipped: owner/)]);
    expect((zoho.admin.getRecord('Deals', deal.externalId)?.Owner as { id: string }).id).toBe(id(ada));
    // Someone gives the deal to Alan in Zoho: a user outside the map is not read (nothing to erase elsewhere).
    zoho.admin.changeAsUser('Deals', deal.externalId, { Owner: { id: id(alan) } });
    expect((await connector.readRecords('deal', [deal.externalId]))[0]?.fields).not.toHaveProperty('owner');
  });

  it('without an owner map, the connector neither reads nor writes Owner', async () => {
    const connector = await connectTo(zoho);
    const deal = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Unmapped', stage: 'prospecting', owner: ada } }]))[0]);
    expect((zoho.admin.getRecord('Deals', deal.externalId)?.Owner as { id: string }).id).toBe('5843104000000397001');
    expect((await connector.readRecords('deal', [deal.externalId]))[0]?.fields).not.toHaveProperty('owner');
  });
});

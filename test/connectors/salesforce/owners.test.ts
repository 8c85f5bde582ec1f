import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExternalRecord } from '../../../src/connectors/connector';
import { SANDBOX_SALES_USERS } from '../../../src/sandbox/core/users';
import type { SalesforceSandbox } from '../../../src/sandbox/salesforce/index';
import { startHarness, stopAll } from './sandbox-connector';
import { landed } from '../../support/landed';

afterEach(stopAll);

const [ada, grace, alan, former] = SANDBOX_SALES_USERS.map((user) => user.email) as [string, string, string, string];

interface OrgUser {
  Id: string;
  Email: string;
  IsActive: boolean;
}

/** The org's users as an operator finds them: SOQL on User over REST. */
async function orgUsers(sandbox: SalesforceSandbox): Promise<Map<string, OrgUser>> {
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  const response = await fetch(`${instanceUrl}/services/data/v${version}/query?q=${encodeURIComponent('SELECT Id, Email, IsActive FROM User')}`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { records: OrgUser[] };
  return new Map(body.records.map((user) => [user.Email, user]));
}

async function restWrite(sandbox: SalesforceSandbox, type: string, body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const { instanceUrl, accessToken, version } = sandbox.credentials;
  const response = await fetch(`${instanceUrl}/services/data/v${version}/sobjects/${type}`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

describe('Salesforce sandbox: users and OwnerId', () => {
  it('lists its users by SOQL, defaults a new record to the API user, and refuses an unknown or inactive owner as Salesforce does', async () => {
    const { sandbox } = await startHarness();
    const users = await orgUsers(sandbox);
    expect([...users.keys()]).toEqual(expect.arrayContaining([ada, grace, alan, former, sandbox.credentials.username]));
    expect(users.get(former)?.IsActive).toBe(false);

    const created = await restWrite(sandbox, 'Account', { Name: 'Default owner' });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect(sandbox.admin.getRecord('Account', id)?.OwnerId).toBe(users.get(sandbox.credentials.username)?.Id);

    const unknown = await restWrite(sandbox, 'Account', { Name: 'Nobody', OwnerId: '005000000000000AAA' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual([expect.objectContaining({ errorCode: 'INVALID_CROSS_REFERENCE_KEY', fields: ['OwnerId'] })]);

    const inactive = await restWrite(sandbox, 'Opportunity', { Name: 'Left', StageName: 'Prospecting', CloseDate: '2026-12-31', OwnerId: users.get(former)?.Id });
    expect(inactive.status).toBe(400);
    expect(inactive.body).toEqual([expect.objectContaining({ errorCode: 'INACTIVE_OWNER_OR_USER' })]);

    const notAUser = await restWrite(sandbox, 'Account', { Name: 'Account owner', OwnerId: id });
    expect(notAUser.body).toEqual([expect.objectContaining({ errorCode: 'FIELD_INTEGRITY_EXCEPTION' })]);
  });
});

describe('Salesforce connector: owners through the connection owner map', () => {
  async function mappedHarness() {
    const harness = await startHarness();
    const users = await orgUsers(harness.sandbox);
    const id = (email: string): string => users.get(email)?.Id ?? '';
    // Alan is deliberately not in the map.
    const connector = await harness.connect({ mappingOverride: { owners: { [id(ada)]: ada.toUpperCase(), [id(grace)]: grace } } });
    return { ...harness, connector, id };
  }

  it('writes the mapped user as OwnerId, reads it back as the email on every read path, and changes it', async () => {
    const { sandbox, connector, id } = await mappedHarness();
    const since = new Date(Date.now() - 60_000).toISOString();
    const deal = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Owned', stage: 'prospecting', closeDate: '2026-12-31', owner: ada } }]))[0]);
    const task = landed((await connector.upsertRecords('activity', [{ syncId: randomUUID(), fields: { subject: 'Call back', kind: 'task', owner: grace } }]))[0]);
    const meeting = landed((await connector.upsertRecords('activity', [{ syncId: randomUUID(), fields: { subject: 'Demo', kind: 'meeting', dueAt: '2026-12-01T10:00:00.000Z', owner: ada } }]))[0]);
    expect(sandbox.admin.getRecord('Opportunity', deal.externalId)?.OwnerId).toBe(id(ada));
    expect(sandbox.admin.getRecord('Task', task.externalId)?.OwnerId).toBe(id(grace));
    expect(sandbox.admin.getRecord('Event', meeting.externalId)?.OwnerId).toBe(id(ada));

    const [read] = await connector.readRecords('deal', [deal.externalId]);
    expect(read?.fields.owner).toBe(ada);
    const activities = await connector.readRecords('activity', [task.externalId, meeting.externalId]);
    expect(Object.fromEntries(activities.map((record) => [record.externalId, record.fields.owner]))).toEqual({ [task.externalId]: grace, [meeting.externalId]: ada });
    const changed = await connector.listChanges('deal', { since });
    expect(changed.records.find((record) => record.externalId === deal.externalId)?.fields.owner).toBe(ada);
    const exported: ExternalRecord[] = [];
    let cursor: string | undefined = await connector.bulk.startExport('deal');
    while (cursor) {
      const page = await connector.bulk.readExportPage(cursor);
      exported.push(...page.records);
      cursor = page.nextCursor;
    }
    expect(exported.find((record) => record.externalId === deal.externalId)?.fields.owner).toBe(ada);

    const [moved] = await connector.upsertRecords('deal', [{ syncId: read?.syncId ?? '', externalId: deal.externalId, fields: { owner: grace } }]);
    expect(moved?.status).toBe('updated');
    expect(sandbox.admin.getRecord('Opportunity', deal.externalId)?.OwnerId).toBe(id(grace));
    // Bulk writes carry the owner too.
    const [bulkWritten] = await connector.bulk.upsert('company', [{ syncId: randomUUID(), fields: { name: 'Bulk owned', owner: grace } }]);
    expect(sandbox.admin.getRecord('Account', landed(bulkWritten).externalId)?.OwnerId).toBe(id(grace));
  });

  it('leaves an owner it cannot map alone: an unmapped id is not read, an unmapped email is not written and the outcome says so', async () => {
    const { sandbox, connector, id } = await mappedHarness();
    const apiUser = sandbox.admin.getRecord('Account', landed((await connector.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'Probe' } }]))[0]).externalId)?.OwnerId;

    const [created] = await connector.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'Turing Ltd', owner: alan } }]);
    const company = landed(created);
    expect(company.status).toBe('created');
    expect(company.adjusted).toEqual([expect.stringMatching(/^skipped: owner/)]);
    expect(company.written).toEqual({ name: 'Turing Ltd' });
    expect(sandbox.admin.getRecord('Account', company.externalId)?.OwnerId).toBe(apiUser);

    sandbox.admin.editAsUser('Account', company.externalId, { OwnerId: id(alan) });
    const [read] = await connector.readRecords('company', [company.externalId]);
    expect(read?.fields.name).toBe('Turing Ltd');
    expect(read?.fields).not.toHaveProperty('owner');

    const [kept] = await connector.upsertRecords('company', [{ syncId: read?.syncId ?? '', externalId: company.externalId, fields: { name: 'Turing plc', owner: alan } }]);
    expect(landed(kept).adjusted).toEqual([expect.stringMatching(/^skipped: owner/)]);
    expect(sandbox.admin.getRecord('Account', company.externalId)).toMatchObject({ Name: 'Turing plc', OwnerId: id(alan) });
  });

  it('without an owner map reads and writes no owner at all (as before owners existed)', async () => {
    const { sandbox, connector } = await startHarness();
    const users = await orgUsers(sandbox);
    const [created] = await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Unowned', stage: 'prospecting', closeDate: '2026-12-31', owner: ada } }]);
    const deal = landed(created);
    expect(deal.adjusted).toBeUndefined();
    expect(sandbox.admin.getRecord('Opportunity', deal.externalId)?.OwnerId).toBe(users.get(sandbox.credentials.username)?.Id);
    const [read] = await connector.readRecords('deal', [deal.externalId]);
    expect(read?.fields).not.toHaveProperty('owner');
  });
});

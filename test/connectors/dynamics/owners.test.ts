import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExternalRecord } from '../../../src/connectors/connector';
import { SANDBOX_SALES_USERS } from '../../../src/sandbox/core/users';
import { json, startClient, type Client } from '../../sandbox/dynamics/support';
import { startHarness, type Harness } from './support';
import { landed, type Landed } from '../../support/landed';

const [ada, grace, alan, former] = SANDBOX_SALES_USERS.map((user) => user.email) as [string, string, string, string];

describe('Dataverse sandbox: systemusers and ownerid', () => {
  let client: Client;
  beforeAll(async () => {
    client = await startClient();
  });
  afterAll(async () => client.sandbox.stop());

  it('lists its users, makes the caller owner by default, and refuses an unknown or disabled owner as Dataverse does', async () => {
    const listed = await json(await client.api('systemusers?$select=systemuserid,internalemailaddress,isdisabled'));
    const users = new Map((listed.value as { systemuserid: string; internalemailaddress: string; isdisabled: boolean }[]).map((user) => [user.internalemailaddress, user]));
    expect([ada, grace, alan, former].every((email) => users.has(email))).toBe(true);
    expect(users.get(former)?.isdisabled).toBe(true);

    const created = await client.api('accounts', { method: 'POST', body: JSON.stringify({ name: 'Default owner' }), headers: { prefer: 'return=representation' } });
    expect(created.status).toBe(201);
    expect((await json(created))._ownerid_value).toBe(client.sandbox.users.applicationUserId);

    const assigned = await client.api('accounts', { method: 'POST', body: JSON.stringify({ name: 'Ada owns', 'ownerid@odata.bind': `/systemusers(${users.get(ada)?.systemuserid})` }), headers: { prefer: 'return=representation' } });
    expect((await json(assigned))._ownerid_value).toBe(users.get(ada)?.systemuserid);

    const unknown = await client.api('accounts', { method: 'POST', body: JSON.stringify({ name: 'Nobody owns', 'ownerid@odata.bind': `/systemusers(${randomUUID()})` }) });
    expect(unknown.status).toBe(404);
    expect(((await json(unknown)).error as { code: string }).code).toBe('0x80040217');
    const disabled = await client.api('opportunities', { method: 'POST', body: JSON.stringify({ name: 'Left', 'ownerid@odata.bind': `/systemusers(${users.get(former)?.systemuserid})` }) });
    expect(disabled.status).toBe(400);
    expect(((await json(disabled)).error as { message: string }).message).toMatch(/is disabled/);
  });
});

describe('Dynamics connector: owners through the owner map', () => {
  let harness: Harness;
  const ids = new Map<string, string>();
  beforeAll(async () => {
    harness = await startHarness();
    for (const row of harness.sandbox.admin.listRecords('systemusers')) ids.set(String(row.internalemailaddress), String(row.systemuserid));
  });
  afterAll(async () => harness.stop());
  const id = (email: string): string => ids.get(email) ?? '';

  it('writes ownerid@odata.bind and reads _ownerid_value as the email on records and every activity table', async () => {
    const connector = await harness.connect({ mappingOverride: { owners: { [id(ada)]: ada, [id(grace)]: grace } } });
    const deal = landed((await connector.upsertRecords('deal', [{ syncId: randomUUID(), fields: { name: 'Owned', owner: ada } }]))[0]);
    expect(harness.sandbox.admin.getRecord('opportunities', deal.externalId)?._ownerid_value).toBe(id(ada));
    const [task, meeting] = (await connector.upsertRecords('activity', [
      { syncId: randomUUID(), fields: { subject: 'Task', kind: 'task', owner: grace } },
      { syncId: randomUUID(), fields: { subject: 'Meeting', kind: 'meeting', dueAt: '2026-12-01T10:00:00.000Z', owner: ada } },
    ])).map(landed) as [Landed, Landed];
    const read = await connector.readRecords('activity', [task.externalId, meeting.externalId]);
    expect(read.map((record) => record.fields.owner)).toEqual([grace, ada]);
    const changed: ExternalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await connector.listChanges('deal', { since: new Date(Date.now() - 60_000).toISOString(), cursor });
      changed.push(...page.records);
      cursor = page.nextCursor;
    } while (cursor);
    expect(changed.find((record) => record.externalId === deal.externalId)?.fields.owner).toBe(ada);

    const [contact] = await connector.bulk.upsert('contact', [{ syncId: randomUUID(), fields: { lastName: 'Owned', owner: grace } }]);
    expect(harness.sandbox.admin.getRecord('contacts', landed(contact).externalId)?._ownerid_value).toBe(id(grace));

    const [moved] = await connector.upsertRecords('deal', [{ syncId: randomUUID(), externalId: deal.externalId, fields: { owner: grace } }]);
    expect(landed(moved).status).toBe('updated');
    expect(harness.sandbox.admin.getRecord('opportunities', deal.externalId)?._ownerid_value).toBe(id(grace));
  });

  it('an unmapped owner is neither read nor written; without a map nothing about owners changes', async () => {
    const connector = await harness.connect({ mappingOverride: { owners: { [id(ada)]: ada } } });
    const company = landed((await connector.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'Kept', owner: grace } }]))[0]);
    expect(company.adjusted).toEqual([expect.stringMatching(/^skipped: owner/)]);
    expect(harness.sandbox.admin.getRecord('accounts', company.externalId)?._ownerid_value).toBe(harness.sandbox.users.applicationUserId);
    harness.sandbox.admin.uiUpdate('accounts', company.externalId, { _ownerid_value: id(alan) });
    expect((await connector.readRecords('company', [company.externalId]))[0]?.fields).not.toHaveProperty('owner');

    const plain = await harness.connect();
    const other = landed((await plain.upsertRecords('company', [{ syncId: randomUUID(), fields: { name: 'No map', owner: ada } }]))[0]);
    expect(other.adjusted).toBeUndefined();
    expect(harness.sandbox.admin.getRecord('accounts', other.externalId)?._ownerid_value).toBe(harness.sandbox.users.applicationUserId);
    expect((await plain.readRecords('company', [company.externalId]))[0]?.fields).not.toHaveProperty('owner');
  });
});

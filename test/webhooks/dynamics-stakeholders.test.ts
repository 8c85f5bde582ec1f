import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamicsSandbox, type DynamicsSandbox } from '../../src/sandbox/dynamics';
import { parseDynamics } from '../../src/webhooks/parse-dynamics';

/**
 * A stakeholder is a connection row: added, its Create step's Target names the deal as
 * `record1id`; removed, the row is gone and no poll can find it, but the Delete step's pre-image
 * still names the deal. Both become a notice for the deal; a connection of anything else, none.
 */
describe('Dynamics stakeholder changes by webhook', () => {
  let sandbox: DynamicsSandbox;
  let receiver: http.Server;
  const deliveries: Record<string, unknown>[] = [];

  beforeAll(async () => {
    receiver = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        deliveries.push(JSON.parse(body) as Record<string, unknown>);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    sandbox = await startDynamicsSandbox({ webhooks: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` } });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('notices the deal when a stakeholder is added and when one is removed, and nothing for a connection between two contacts', async () => {
    const admin = sandbox.admin;
    const role = String(admin.listRecords('connectionroles').find((row) => row.name === 'Stakeholder')?.connectionroleid);
    const contact = String(admin.uiCreate('contacts', { lastname: 'Stake' }).contactid);
    const other = String(admin.uiCreate('contacts', { lastname: 'Friend' }).contactid);
    const deal = String(admin.uiCreate('opportunities', { name: 'Hooked deal' }).opportunityid);
    const link = String(
      admin.uiCreate('connections', { 'record1id_opportunity@odata.bind': `/opportunities(${deal})`, 'record2id_contact@odata.bind': `/contacts(${contact})`, 'record2roleid@odata.bind': `/connectionroles(${role})` }).connectionid,
    );
    admin.uiCreate('connections', { 'record1id_contact@odata.bind': `/contacts(${contact})`, 'record2id_contact@odata.bind': `/contacts(${other})` });
    admin.uiDelete('connections', link);

    const ofConnections = () => deliveries.filter((delivery) => delivery.PrimaryEntityName === 'connection' && delivery.PrimaryEntityId !== undefined);
    await expect.poll(() => ofConnections().filter((delivery) => delivery.MessageName === 'Delete').length, { timeout: 30_000 }).toBeGreaterThan(0);
    const notices = ofConnections().map((delivery) => ({ message: delivery.MessageName, parsed: parseDynamics(delivery, { headers: {} }) }));
    const forDeal = notices.filter((notice) => 'events' in notice.parsed && notice.parsed.events.some((event) => event.objectType === 'deal' && event.externalId === deal));
    // Our side of the added link and its removal (Dataverse's automatic reverse rows name the contact first: not ours).
    expect(forDeal.map((notice) => notice.message).sort()).toEqual(['Create', 'Delete']);
    for (const notice of forDeal) expect('events' in notice.parsed && notice.parsed.events.every((event) => !event.deleted)).toBe(true);
    expect(notices.filter((notice) => 'events' in notice.parsed && notice.parsed.events.length > 0)).toHaveLength(2);
  });
});

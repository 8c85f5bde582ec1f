import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startZohoSandbox, type ZohoCallback, type ZohoSandbox } from '../../../src/sandbox/zoho';
import { accessToken, api } from './support';

async function receiver(): Promise<{ url: string; bodies: ZohoCallback[]; server: Server }> {
  const bodies: ZohoCallback[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      bodies.push(JSON.parse(text) as ZohoCallback);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hook?tenant=t1`, bodies, server };
}

describe('Zoho sandbox: notifications (actions/watch)', () => {
  let zoho: ZohoSandbox | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await zoho?.stop();
    server?.close();
  });

  it('subscribes a channel and calls back per write call with the echoed token and channel_id, ids and operation', async () => {
    const hook = await receiver();
    server = hook.server;
    zoho = await startZohoSandbox({ limits: false });
    const token = await accessToken(zoho);
    const watch = await api(zoho, token, 'POST', 'actions/watch', {
      body: { watch: [{ channel_id: '1000000068001', events: ['Contacts.all', 'Deals.edit'], notify_url: hook.url, token: 'TOKEN_FOR_VERIFICATION', channel_expiry: new Date(Date.now() + 86_400_000).toISOString() }] },
    });
    expect(watch.status).toBe(200);
    expect((watch.body?.watch as Record<string, unknown>[])[0]).toMatchObject({ code: 'SUCCESS', status: 'success', details: { events: [{ channel_id: '1000000068001', resource_name: 'Contacts' }, { resource_name: 'Deals' }] } });

    const created = await api(zoho, token, 'POST', 'Contacts', { body: { data: [{ Last_Name: 'A' }, { Last_Name: 'B' }] } });
    const ids = ((created.body?.data ?? []) as { details: { id: string } }[]).map((entry) => entry.details.id);
    zoho.admin.changeAsUser('Contacts', ids[0] as string, { Title: 'CEO' });
    await api(zoho, token, 'DELETE', `Contacts?ids=${ids[1]}`);
    // A deal created is not watched (Deals.edit only).
    zoho.admin.createAsUser('Deals', { Deal_Name: 'D' });
    await zoho.admin.flushWebhooks();

    expect(hook.bodies.map((body) => [body.operation, body.ids])).toEqual([
      ['insert', ids],
      ['update', [ids[0]]],
      ['delete', [ids[1]]],
    ]);
    for (const body of hook.bodies) expect(body).toMatchObject({ channel_id: '1000000068001', token: 'TOKEN_FOR_VERIFICATION', module: 'Contacts', query_params: { tenant: 't1' } });
    expect(hook.bodies[1]?.affected_fields).toEqual([{ [ids[0] as string]: ['Title'] }]);
  });

  it('delivers at least once: with duplicateRate 1 every callback arrives twice', async () => {
    const hook = await receiver();
    server = hook.server;
    zoho = await startZohoSandbox({ limits: false, webhooks: { chaos: { duplicateRate: 1 } } });
    const token = await accessToken(zoho);
    await api(zoho, token, 'POST', 'actions/watch', { body: { watch: [{ channel_id: 7, events: ['Accounts.create'], notify_url: hook.url, token: 't' }] } });
    zoho.admin.createAsUser('Accounts', { Account_Name: 'Zylker' });
    await zoho.admin.flushWebhooks();
    expect(hook.bodies).toHaveLength(2);
    expect(hook.bodies[0]).toEqual(hook.bodies[1]);
    expect(zoho.counters.snapshot().webhooks).toMatchObject({ delivered: 2, duplicated: 1 });
  });

  it('refuses a token over 50 characters, an expiry more than a week ahead and unknown modules, per channel', async () => {
    zoho = await startZohoSandbox({ limits: false });
    const token = await accessToken(zoho);
    const answer = await api(zoho, token, 'POST', 'actions/watch', {
      body: {
        watch: [
          { channel_id: '1', events: ['Contacts.all'], notify_url: 'http://127.0.0.1:9/x', token: 'x'.repeat(51) },
          { channel_id: '2', events: ['Contacts.all'], notify_url: 'http://127.0.0.1:9/x', channel_expiry: new Date(Date.now() + 8 * 86_400_000).toISOString() },
          { channel_id: '3', events: ['Leads.all'], notify_url: 'http://127.0.0.1:9/x' },
        ],
      },
    });
    expect((answer.body?.watch as { code: string; details: { api_name: string } }[]).map((entry) => [entry.code, entry.details.api_name])).toEqual([
      ['INVALID_DATA', 'token'],
      ['INVALID_DATA', 'channel_expiry'],
      ['INVALID_DATA', 'events'],
    ]);
    expect(zoho.admin.channels()).toEqual([]);
  });

  it('lists live channels (GET), renews one with PATCH, and a channel past its expiry on the sandbox clock neither delivers nor lists; DELETE ends one', async () => {
    const hook = await receiver();
    server = hook.server;
    let clock = Date.parse('2026-01-05T10:00:00Z');
    zoho = await startZohoSandbox({ limits: false, now: () => clock });
    const token = await accessToken(zoho);
    const enable = (channelId: string, expiresInMs: number) =>
      api(zoho!, token, 'POST', 'actions/watch', { body: { watch: [{ channel_id: channelId, events: ['Contacts.all'], notify_url: hook.url, token: `t-${channelId}`, channel_expiry: new Date(clock + expiresInMs).toISOString() }] } });
    await enable('11', 60_000);
    await enable('22', 60_000);
    const listed = await api(zoho, token, 'GET', 'actions/watch');
    expect((listed.body?.watch as { channel_id: string; notify_url: string }[]).map((entry) => [entry.channel_id, entry.notify_url])).toEqual([
      ['11', hook.url],
      ['22', hook.url],
    ]);

    // Renewed: channel 11 now lasts an hour from the sandbox's now; channel 22 is left to lapse.
    const renewed = await api(zoho, token, 'PATCH', 'actions/watch', { body: { watch: [{ channel_id: '11', channel_expiry: new Date(clock + 3_600_000).toISOString() }] } });
    expect((renewed.body?.watch as { status: string; details: { events: { channel_expiry: string }[] } }[])[0]).toMatchObject({ status: 'success', details: { events: [{ channel_expiry: new Date(clock + 3_600_000).toISOString() }] } });
    clock += 120_000;
    zoho.admin.createAsUser('Contacts', { Last_Name: 'After' });
    await zoho.admin.flushWebhooks();
    expect(hook.bodies.map((body) => [body.channel_id, body.token])).toEqual([['11', 't-11']]);
    expect((((await api(zoho, token, 'GET', 'actions/watch')).body?.watch ?? []) as { channel_id: string }[]).map((entry) => entry.channel_id)).toEqual(['11']);
    // A lapsed channel is no longer there to renew.
    const late = await api(zoho, token, 'PATCH', 'actions/watch', { body: { watch: [{ channel_id: '22', channel_expiry: new Date(clock + 60_000).toISOString() }] } });
    expect((late.body?.watch as { code: string; details: { api_name: string } }[])[0]).toMatchObject({ code: 'INVALID_DATA', details: { api_name: 'channel_id' } });

    const disabled = await api(zoho, token, 'DELETE', 'actions/watch?channel_ids=11');
    expect(disabled.status).toBe(200);
    expect((disabled.body?.watch as Record<string, unknown>[])[0]).toMatchObject({ code: 'SUCCESS', message: 'Successfully un-subscribed from actions-watch', details: { channel_id: '11' } });
    expect((await api(zoho, token, 'GET', 'actions/watch')).status).toBe(204);
    expect((await api(zoho, token, 'DELETE', 'actions/watch?channel_ids=11')).status).toBe(400);
  });
});

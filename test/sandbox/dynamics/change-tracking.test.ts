import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startClient, type Client } from './support';

describe('Dynamics sandbox: change tracking', () => {
  let client: Client;
  beforeAll(async () => {
    client = await startClient({ seed: { contacts: 6 } });
  });
  afterAll(async () => client.sandbox.stop());

  const track = (url: string): Promise<Response> => fetch(url, { headers: { authorization: `Bearer ${client.token}`, prefer: 'odata.track-changes' } });

  it('returns a deltaLink, then changed rows and removed ones as $deletedEntity', async () => {
    const initial = await track(`${client.sandbox.serviceRoot}/contacts?$select=firstname,lastname`);
    expect(initial.status).toBe(200);
    expect(initial.headers.get('preference-applied')).toBe('odata.track-changes');
    const first = await json(initial);
    expect((first.value as unknown[]).length).toBe(6);
    const deltaLink = first['@odata.deltaLink'] as string;
    expect(deltaLink).toMatch(/\?\$select=firstname,lastname&\$deltatoken=\d+%21\d{2}%2f\d{2}%2f\d{4}%20\d{2}%3a\d{2}%3a\d{2}$/);

    const [changed, removed] = client.sandbox.admin.listRecords('contacts');
    const changedId = changed!.contactid as string;
    const removedId = removed!.contactid as string;
    await client.api(`contacts(${changedId})`, { method: 'PATCH', body: JSON.stringify({ firstname: 'Changed' }) });
    await client.api(`contacts(${removedId})`, { method: 'DELETE' });

    const delta = await json(await track(deltaLink));
    expect(delta['@odata.context']).toBe(`${client.sandbox.serviceRoot}/$metadata#contacts(firstname,lastname)/$delta`);
    expect(delta.value).toEqual([
      expect.objectContaining({ contactid: changedId, firstname: 'Changed' }),
      { '@odata.context': `${client.sandbox.serviceRoot}/$metadata#contacts/$deletedEntity`, id: removedId, reason: 'deleted' },
    ]);
    const quiet = await json(await track(delta['@odata.deltaLink'] as string));
    expect(quiet.value).toEqual([]);
  });

  it('rejects $filter, $orderby and $top in tracking mode', async () => {
    for (const option of ['$filter=firstname eq \'a\'', '$orderby=firstname', '$top=1']) {
      const response = await track(`${client.sandbox.serviceRoot}/contacts?${option}`);
      expect(response.status).toBe(400);
      expect(((await json(response)).error as { code: string }).code).toBe('0x80060888');
    }
  });

  it('answers an expired or unknown delta token with the real fault', async () => {
    const link = (await json(await track(`${client.sandbox.serviceRoot}/contacts?$select=firstname`)))['@odata.deltaLink'] as string;
    client.sandbox.admin.expireDeltaTokens();
    for (const url of [link, `${client.sandbox.serviceRoot}/contacts?$deltatoken=garbage`]) {
      const response = await track(url);
      expect(response.status).toBe(400);
      expect(await json(response)).toEqual({ error: { code: '0x80044352', message: 'Version stamp associated with the client has expired. Please perform a full sync.' } });
    }
  });
});

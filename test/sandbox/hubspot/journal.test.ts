import { Client } from '@hubspot/api-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

const SCOPES = 'developer.webhooks_journal.read developer.webhooks_journal.subscriptions.read developer.webhooks_journal.subscriptions.write';

/** The webhooks journal (v4) and its subscription API, over HTTP as an app sees them (vendor-facts §2b). */
describe('HubSpot sandbox: webhooks journal', () => {
  let hs: HubSpotSandbox;
  let clockMs = 0;
  let token: string;

  const call = async (method: string, path: string, body?: unknown, bearer = token) => {
    const response = await fetch(`${hs.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const file = async (url: string) => (await (await fetch(url)).json()) as { offset: string; journalEvents: Record<string, unknown>[]; publishedAt: string };
  const subscribeContacts = () =>
    call('POST', '/webhooks-journal/subscriptions/2026-03', { subscriptionType: 'OBJECT', portalId: hs.portalId, objectTypeId: '0-1', actions: ['CREATE', 'UPDATE', 'DELETE'], properties: ['firstname', 'lastname'], objectIds: [] });

  beforeEach(async () => {
    clockMs = 0;
    hs = await startHubSpotSandbox({ now: () => Date.now() + clockMs, limits: { tenSecondly: { max: 1, intervalMs: 10_000 } } });
    const grant = await fetch(`${hs.url}/oauth/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: hs.credentials.clientId, client_secret: hs.credentials.clientSecret, scope: SCOPES }).toString(),
    });
    const answer = (await grant.json()) as { access_token: string; expires_in: number; refresh_token?: string };
    expect(answer.expires_in).toBe(1800);
    expect(answer.refresh_token).toBeUndefined();
    token = answer.access_token;
  });
  afterEach(async () => {
    await hs.stop();
  });

  it('creates (upserts) subscriptions and lists them; a bad body is a 400 naming the field', async () => {
    const created = await subscribeContacts();
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ subscriptionType: 'OBJECT', objectTypeId: '0-1', portalId: hs.portalId, appId: Number(hs.credentials.publicAppId), actions: ['CREATE', 'UPDATE', 'DELETE'] });
    const again = await subscribeContacts();
    expect(again.body?.id).toBe(created.body?.id);
    expect((await call('GET', '/webhooks-journal/subscriptions/2026-03')).body?.results).toHaveLength(1);
    const bad = await call('POST', '/webhooks-journal/subscriptions/2026-03', { subscriptionType: 'OBJECT', portalId: hs.portalId, objectTypeId: 'contacts', actions: [], properties: [], objectIds: [] });
    expect(bad.status).toBe(400);
    expect(String(bad.body?.message)).toMatch(/objectTypeId/);
    expect((await call('DELETE', `/webhooks-journal/subscriptions/2026-03/${String(created.body?.id)}`)).status).toBe(204);
    expect((await call('GET', '/webhooks-journal/subscriptions/2026-03')).body?.results).toHaveLength(0);
  });

  it('records what is subscribed, user edits and API writes alike, and reads by offset', async () => {
    expect((await call('GET', '/webhooks-journal/journal/2026-03/earliest')).status).toBe(204);
    await subscribeContacts();
    const person = hs.admin.createAsUser('contacts', { firstname: 'Ada', email: 'ada@journal.example' });
    hs.admin.changeAsUser('contacts', person.id, { jobtitle: 'not subscribed' });
    const api = new Client({ accessToken: hs.credentials.accessToken, basePath: hs.url, numberOfApiCallRetries: 0 });
    await api.crm.contacts.basicApi.update(person.id, { properties: { lastname: 'Lovelace' } });

    const first = await call('GET', '/webhooks-journal/journal/2026-03/earliest');
    expect(first.status).toBe(200);
    expect(String(first.body?.currentOffset)).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(first.body?.expiresAt))).toBeGreaterThan(Date.now());
    const entry = await file(String(first.body?.url));
    expect(entry.offset).toBe(first.body?.currentOffset);
    expect(entry.journalEvents.map((event) => [event.action, event.objectId, event.propertyChanges])).toEqual([
      ['CREATE', Number(person.id), { firstname: 'Ada' }],
      ['UPDATE', Number(person.id), { lastname: 'Lovelace' }],
    ]);
    expect(entry.journalEvents[0]).toMatchObject({ type: 'crmObject', portalId: hs.portalId, objectTypeId: '0-1' });
    expect(Number.isNaN(Date.parse(String(entry.journalEvents[0]?.occurredAt)))).toBe(false);
    // Nothing newer: 204; the local journal holds this portal's events.
    expect((await call('GET', `/webhooks-journal/journal/2026-03/offset/${entry.offset}/next`)).status).toBe(204);
    expect((await call('GET', `/webhooks-journal/journal-local/2026-03/latest?installPortalId=${hs.portalId}`)).body?.currentOffset).toBe(entry.offset);

    clockMs += 5_000;
    hs.admin.changeAsUser('contacts', person.id, { firstname: 'Augusta' });
    const next = await call('GET', `/webhooks-journal/journal/2026-03/batch/${entry.offset}/next/10`);
    expect(next.body?.status).toBe('COMPLETE');
    expect(next.body?.results).toHaveLength(1);
    const later = await file(String((next.body?.results as { url: string }[])[0]?.url));
    expect(later.journalEvents).toMatchObject([{ action: 'UPDATE', propertyChanges: { firstname: 'Augusta' } }]);
  });

  it('is exempt from the ten-secondly limit, and needs a client-credentials token with the scope', async () => {
    await subscribeContacts();
    for (let i = 0; i < 5; i += 1) expect((await call('GET', '/webhooks-journal/journal/2026-03/latest')).status).toBe(204);
    const privateApp = await call('GET', '/webhooks-journal/journal/2026-03/latest', undefined, hs.credentials.accessToken);
    expect(privateApp.status).toBe(403);
    expect(privateApp.body).toMatchObject({ category: 'MISSING_SCOPES' });
  });

  it('forgets entries after three days: the offset is then a 404, and an old file URL has expired', async () => {
    await subscribeContacts();
    hs.admin.createAsUser('contacts', { firstname: 'Old', email: 'old@journal.example' });
    const old = await call('GET', '/webhooks-journal/journal/2026-03/latest');
    const offset = String(old.body?.currentOffset);
    clockMs += 72 * 60 * 60_000 + 60_000;
    hs.admin.createAsUser('contacts', { firstname: 'New', email: 'new@journal.example' });
    const expired = await fetch(`${hs.url}/webhooks-journal/journal/2026-03/offset/${offset}/next`, { headers: { authorization: `Bearer ${token}` } });
    // The token itself lived 30 minutes: the journal answers 401 first, as every API does.
    expect(expired.status).toBe(401);
    const grant = await fetch(`${hs.url}/oauth/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: hs.credentials.clientId, client_secret: hs.credentials.clientSecret, scope: SCOPES }).toString(),
    });
    token = ((await grant.json()) as { access_token: string }).access_token;
    const gone = await call('GET', `/webhooks-journal/journal/2026-03/offset/${offset}/next`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND' });
    expect((await fetch(String(old.body?.url))).status).toBe(403);
    const earliest = await file(String((await call('GET', '/webhooks-journal/journal/2026-03/earliest')).body?.url));
    expect(earliest.journalEvents).toMatchObject([{ action: 'CREATE', propertyChanges: { firstname: 'New' } }]);
  });
});

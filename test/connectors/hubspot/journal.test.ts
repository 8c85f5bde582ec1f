import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeEventFeed, ChangeEventRead } from '../../../src/connectors/connector';
import { createHubSpotConnector } from '../../../src/connectors/hubspot';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../src/sandbox/hubspot';

/** The connector's journal feed against the sandbox over HTTP: what a workflow's reads get. */
describe('HubSpot connector: the webhooks journal as a change feed', () => {
  let hs: HubSpotSandbox | undefined;
  let skewMs = 0;
  afterEach(async () => {
    await hs?.stop();
    skewMs = 0;
  });

  async function start(): Promise<{ sandbox: HubSpotSandbox; feed: ChangeEventFeed }> {
    hs = await startHubSpotSandbox({ now: () => Date.now() + skewMs, limits: false });
    const connector = await createHubSpotConnector({
      connectionId: `hs-journal-${randomUUID()}`,
      basePath: hs.url,
      auth: { kind: 'oauth', clientId: hs.credentials.clientId, clientSecret: hs.credentials.clientSecret, refreshToken: hs.credentials.refreshToken },
      journal: { portalId: hs.portalId },
    });
    return { sandbox: hs, feed: connector.changeEvents! };
  }
  const events = (read: ChangeEventRead) => {
    if (read.kind !== 'events') throw new Error(`expected events, got ${read.kind}: ${read.message}`);
    return read;
  };

  it('subscribes on start, names the record holding the slot for an association change, and moves its offset', async () => {
    const { sandbox, feed } = await start();
    const objects = ['company', 'contact'] as const;
    const first = events(await feed.read({ from: 'LATEST', maxEvents: 100, waitMs: 0, objects: [...objects] }));
    // An empty journal: the position is its start, as of now.
    expect(first.replayId).toMatch(/^start@/);
    const subscriptions = sandbox.journal.listSubscriptions(Number(sandbox.credentials.publicAppId));
    expect(subscriptions.map((s) => `${s.subscriptionType} ${s.objectTypeId} ${s.associatedObjectTypeIds.join(',')}`).sort()).toEqual(['ASSOCIATION 0-1 0-2', 'OBJECT 0-1 ', 'OBJECT 0-2 ']);

    const company = sandbox.admin.createAsUser('companies', { name: 'Analytical Engines', domain: 'engines.example' });
    const contact = sandbox.admin.createAsUser('contacts', { firstname: 'Ada', email: 'ada@engines.example' });
    sandbox.admin.associateAsUser('contacts', contact.id, 'companies', company.id);
    const second = events(await feed.read({ from: { replayId: first.replayId! }, maxEvents: 100, waitMs: 5_000, objects: [...objects] }));
    expect(second.received).toBe(3);
    // The contact's creation and its new company are one notice (the association moves no stamp, the creation's is kept).
    expect(second.notices.map((n) => [n.objectType, n.externalId])).toEqual([
      ['company', company.id],
      ['contact', contact.id],
    ]);
    expect(second.replayId).toMatch(/^[0-9a-f-]{36}$/);

    // An association change alone: the contact (its `company` slot), with no modstamp to wait for.
    sandbox.admin.dissociateAsUser('contacts', contact.id, 'companies', company.id);
    const third = events(await feed.read({ from: { replayId: second.replayId! }, maxEvents: 100, waitMs: 5_000, objects: [...objects] }));
    expect(third.notices).toEqual([{ objectType: 'contact', externalId: contact.id, eventId: expect.stringMatching(/^journal:/) as unknown }]);

    // Nothing new: the read waits (asking again) and answers with none, keeping the position.
    const idle = events(await feed.read({ from: { replayId: third.replayId! }, maxEvents: 100, waitMs: 1_500, objects: [...objects] }));
    expect(idle).toMatchObject({ notices: [], received: 0, replayId: third.replayId });
  });

  it('answers replay-invalid for an offset past the 3-day retention', async () => {
    const { sandbox, feed } = await start();
    const first = events(await feed.read({ from: 'LATEST', maxEvents: 100, waitMs: 0, objects: ['contact'] }));
    sandbox.admin.createAsUser('contacts', { firstname: 'Old', email: 'old@journal.example' });
    const read = events(await feed.read({ from: { replayId: first.replayId! }, maxEvents: 100, waitMs: 5_000, objects: ['contact'] }));
    expect(read.received).toBe(1);
    skewMs = 73 * 60 * 60_000;
    const refused = await feed.read({ from: { replayId: read.replayId! }, maxEvents: 100, waitMs: 0, objects: ['contact'] });
    expect(refused).toMatchObject({ kind: 'replay-invalid' });
    expect(refused.kind === 'replay-invalid' ? refused.message : '').toMatch(/journal offset \S+ refused: .*expired/);
  });
});

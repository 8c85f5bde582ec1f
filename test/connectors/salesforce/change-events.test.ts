import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEventRead } from '../../../src/connectors/connector';
import { ConnectorError } from '../../../src/connectors/errors';
import type { SalesforceConnector } from '../../../src/connectors/salesforce/index';
import { startHarness, stopAll, type Harness } from './sandbox-connector';

/** The connector's change feed against the sandbox's Pub/Sub API, over real gRPC. */
describe('Salesforce connector: Change Data Capture feed', () => {
  let h: Harness;
  let connector: SalesforceConnector;
  let clockOffsetMs = 0;
  const objects = ['company', 'contact'] as const;
  const events = (read: ChangeEventRead) => {
    if (read.kind !== 'events') throw new Error(`expected events, got ${read.kind}: ${read.message}`);
    return read;
  };

  beforeAll(async () => {
    h = await startHarness({ now: () => Date.now() + clockOffsetMs });
    connector = await h.connect({ pubSub: { endpoint: h.sandbox.credentials.pubSubEndpoint, tls: false } });
  });
  afterAll(stopAll);

  it('reads from LATEST (a position, no events), then what changed after it, as notices, and resumes after the last one', async () => {
    const start = events(await connector.changeEvents!.read({ from: 'LATEST', maxEvents: 10, waitMs: 2_000, objects: [...objects] }));
    expect(start.notices).toEqual([]);
    expect(start.replayId).toBeDefined();

    const account = h.sandbox.admin.createAsUser('Account', { Name: 'Analytical Engines' });
    const contact = h.sandbox.admin.createAsUser('Contact', { LastName: 'Babbage', AccountId: account.Id });
    h.sandbox.admin.deleteRecord('Contact', String(contact.Id));
    const read = events(await connector.changeEvents!.read({ from: { replayId: start.replayId! }, maxEvents: 10, waitMs: 10_000, objects: [...objects] }));
    expect(read.notices.map(({ objectType, externalId, deleted }) => ({ objectType, externalId, deleted }))).toEqual([
      { objectType: 'company', externalId: account.Id, deleted: undefined },
      { objectType: 'contact', externalId: contact.Id, deleted: undefined },
      { objectType: 'contact', externalId: contact.Id, deleted: true },
    ]);
    expect(read.received).toBe(3);

    // Nothing new after the last one: the same position comes back, with no notices.
    const again = events(await connector.changeEvents!.read({ from: { replayId: read.replayId! }, maxEvents: 10, waitMs: 1_000, objects: [...objects] }));
    expect(again.notices).toEqual([]);
    expect(again.replayId).toBe(read.replayId);
  });

  it('stops at maxEvents and gives the position of the last event it returned', async () => {
    const start = events(await connector.changeEvents!.read({ from: 'LATEST', maxEvents: 1, waitMs: 1_000, objects: [...objects] }));
    for (let i = 0; i < 5; i += 1) h.sandbox.admin.createAsUser('Contact', { LastName: `Batch ${i}` });
    const first = events(await connector.changeEvents!.read({ from: { replayId: start.replayId! }, maxEvents: 2, waitMs: 10_000, objects: [...objects] }));
    const rest = events(await connector.changeEvents!.read({ from: { replayId: first.replayId! }, maxEvents: 10, waitMs: 10_000, objects: [...objects] }));
    expect(first.notices).toHaveLength(2);
    expect(rest.notices).toHaveLength(3);
    expect(new Set([...first.notices, ...rest.notices].map((notice) => notice.externalId)).size).toBe(5);
  });

  it('renews a refused access token once and reads on', async () => {
    const start = events(await connector.changeEvents!.read({ from: 'LATEST', maxEvents: 1, waitMs: 500, objects: [...objects] }));
    h.sandbox.admin.expireTokens();
    const refreshes = connector.tokenRefreshes;
    h.sandbox.admin.createAsUser('Contact', { LastName: 'After expiry' });
    const read = events(await connector.changeEvents!.read({ from: { replayId: start.replayId! }, maxEvents: 1, waitMs: 10_000, objects: [...objects] }));
    expect(read.notices).toHaveLength(1);
    expect(connector.tokenRefreshes).toBe(refreshes + 1);
  });

  it('answers replay-invalid (a result, not a failure) for a position past the 72-hour retention', async () => {
    const start = events(await connector.changeEvents!.read({ from: 'LATEST', maxEvents: 1, waitMs: 500, objects: [...objects] }));
    h.sandbox.admin.createAsUser('Contact', { LastName: 'Forgotten' });
    clockOffsetMs += 73 * 60 * 60_000;
    h.sandbox.admin.createAsUser('Contact', { LastName: 'Later' });
    const read = await connector.changeEvents!.read({ from: { replayId: start.replayId! }, maxEvents: 10, waitMs: 2_000, objects: [...objects] });
    expect(read).toMatchObject({ kind: 'replay-invalid', message: expect.stringMatching(/Replay ID validation failed/) as unknown });
  });

  it('classifies an unreachable endpoint as transient', async () => {
    const offline = await h.connect({ pubSub: { endpoint: '127.0.0.1:1', tls: false } });
    const failure = await offline.changeEvents!.read({ from: 'LATEST', maxEvents: 1, waitMs: 5_000, objects: [...objects] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConnectorError);
    expect((failure as ConnectorError).errorClass).toBe('transient');
  });

  it('has no change feed unless the connection names a Pub/Sub endpoint', async () => {
    expect(h.connector.changeEvents).toBeUndefined();
  });
});

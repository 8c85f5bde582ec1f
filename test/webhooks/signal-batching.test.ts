import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShimApp } from '../../src/webhooks/app';
import { temporalSignalConnection, type SignalConnection } from '../../src/webhooks/signal';
import type { ChangeNotices } from '../../src/workflows/messages';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { isAck, outboundMessage, startWebhookFixture, type WebhookFixture } from './support';

const CONTACTS = 200;
const REDELIVERED = 20;

interface Answer {
  status: number;
  retryAfter: string | null;
  /** A SOAP Ack (Salesforce's acceptance). */
  acked: boolean;
  /** A JSON refusal. */
  body: { code?: string };
}

async function post(url: string, delivery: { body: string; headers: Record<string, string> }): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, retryAfter: response.headers.get('retry-after'), acked: isAck(text), body: json ? (JSON.parse(text) as Answer['body']) : {} };
}

/** An Outbound Message with one Notification (id `eventId`) for a contact. */
const contactMessage = (organizationId: string, eventId: string, recordId = '0035g0000000004AAA'): { body: string; headers: Record<string, string> } =>
  outboundMessage(organizationId, [{ id: eventId, type: 'Contact', recordId }]);

/**
 * Many deliveries to one connection at once, through the real shim, Temporal, worker and
 * sandboxes: each gets its SOAP Ack, each event lands in the workflow's history exactly as often as it
 * was delivered and is applied once, and the deliveries that arrived while a signal was in flight
 * shared the next signal (history has far fewer signals than deliveries).
 */
describe('webhook signals coalesced per connection', () => {
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  const within = { timeout: 90_000, interval: 250 };

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], shim: true, sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    sf = h.salesforce!;
    hs = h.hubspot!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** The change notices of every signal in the connection workflow's history, decoded with the worker's codec. */
  async function signalsOf(connectionId: string): Promise<ChangeNotices[]> {
    const history = await h.client.workflow.getHandle(h.syncWorkflowId(connectionId)).fetchHistory();
    const payloads = (history.events ?? []).flatMap((event) => {
      const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
      return payload ? [payload] : [];
    });
    const decoded = await h.payloadCodec.decode(payloads.map((payload) => ({ metadata: payload.metadata ?? {}, data: payload.data ?? new Uint8Array() })));
    return decoded.map((payload) => JSON.parse(Buffer.from(payload.data!).toString('utf8')) as ChangeNotices);
  }

  it(`${CONTACTS + REDELIVERED} concurrent deliveries (${REDELIVERED} of them redeliveries): all acked, each event in history as often as delivered and applied once, far fewer signals than deliveries`, async () => {
    // The workflow's first poll, before the contacts exist: from then on only webhooks announce them.
    await h.notify(sf.id);
    await expect.poll(async () => (await h.syncStatus(sf.id)).watermarks.contact !== undefined, within).toBe(true);
    const signalsBefore = (await signalsOf(sf.id)).length;
    const statsBefore = (await h.syncStatus(sf.id)).stats;
    const writesBefore = recordWrites(hs.sandbox, 'contacts');
    const ids = sf.sandbox.admin.seed({ contacts: CONTACTS }).Contact ?? [];
    expect(ids).toHaveLength(CONTACTS);

    const organizationId = sf.sandbox.credentials.organizationId;
    const url = `${h.shimUrl!}/webhooks/salesforce/${sf.id}`;
    const deliveries = ids.map((id, index) => ({ eventId: `batching-${index}`, ...contactMessage(organizationId, `batching-${index}`, id) }));
    // The vendor's at-least-once: some of them come twice, byte for byte.
    const all = [...deliveries, ...deliveries.slice(0, REDELIVERED)];
    // Open the connections first, as a vendor's delivery pool holds them: the deliveries then
    // arrive together instead of one TCP handshake apart.
    await Promise.all(all.map(() => fetch(`${h.shimUrl!}/healthz`).then((response) => response.text())));
    const answers = await Promise.all(all.map((delivery) => post(url, delivery)));

    expect(answers.filter((answer) => answer.status !== 200 || !answer.acked)).toEqual([]);

    // Each event in history as often as it was delivered. (A signal that arrives during a workflow
    // task is durably buffered by the server and appended when the task completes, hence the poll.)
    let signals: ChangeNotices[] = [];
    await expect
      .poll(async () => {
        signals = (await signalsOf(sf.id)).slice(signalsBefore);
        return signals.reduce((sum, notices) => sum + notices.events.length, 0);
      }, within)
      .toBe(all.length);
    const seen = new Map<string, number>();
    for (const notices of signals) for (const event of notices.events) seen.set(event.eventId!, (seen.get(event.eventId!) ?? 0) + 1);
    expect(seen.size).toBe(CONTACTS);
    for (const [index, delivery] of deliveries.entries()) expect(seen.get(delivery.eventId), delivery.eventId).toBe(index < REDELIVERED ? 2 : 1);
    console.log(`[signal batching] ${all.length} deliveries became ${signals.length} signals (largest ${Math.max(...signals.map((notices) => notices.events.length))} events)`);
    // One signal per delivery before coalescing; here 2 to a few (the first delivery alone, the rest behind it).
    expect(signals.length).toBeLessThanOrEqual(all.length / 10);

    // Applied once each: every contact reached HubSpot with one write, the redeliveries were dropped by id.
    await expect.poll(() => recordWrites(hs.sandbox, 'contacts') - writesBefore, within).toBe(CONTACTS);
    await expect.poll(async () => (await h.syncStatus(sf.id)).pending, within).toBe(0);
    const statsAfter = (await h.syncStatus(sf.id)).stats;
    expect(statsAfter.duplicatesDropped - statsBefore.duplicatesDropped).toBe(REDELIVERED);
    expect(recordWrites(hs.sandbox, 'contacts') - writesBefore).toBe(CONTACTS);
    expect(hs.sandbox.admin.listRecords('contacts')).toHaveLength(CONTACTS);
  });
});

/**
 * A coalesced signal that Temporal does not accept: every delivery whose events it carried gets
 * 503 + Retry-After and none of their events is in history; the deliveries of the signals before
 * and after it get their Ack and are. The signal is the real signalWithStart with one call failed on
 * purpose, as an outage would fail it.
 */
describe('a failed coalesced signal', () => {
  let f: WebhookFixture;
  let app: FastifyInstance;
  let url: string;
  const calls: ChangeNotices[] = [];
  let releaseFirst!: () => void;
  const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
  let firstEntered!: () => void;
  /** Deliveries that reached the route handler (body read). */
  let handled = 0;
  const firstEntering = new Promise<void>((resolve) => (firstEntered = resolve));

  beforeAll(async () => {
    f = await startWebhookFixture();
    const real = temporalSignalConnection({ client: f.client, taskQueue: f.taskQueue });
    const signal: SignalConnection = async (target, notices) => {
      calls.push(notices);
      if (calls.length === 1) {
        // Held, so the next deliveries queue behind it.
        firstEntered();
        await firstReleased;
      }
      if (calls.length === 2) throw new Error('injected: Temporal did not accept the signal');
      await real(target, notices);
    };
    app = buildShimApp({ readiness: {}, webhooks: { connections: f.connections, signal } });
    app.addHook('preHandler', (_request, _reply, done) => {
      handled += 1;
      done();
    });
    url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/webhooks/salesforce/${f.ids.salesforce}`;
  });
  afterAll(async () => {
    await app?.close();
    await f?.stop();
  });

  const delivery = (eventId: string): { body: string; headers: Record<string, string> } => contactMessage(f.secrets.salesforce, eventId);

  it('answers 503 + Retry-After to every delivery of the failed batch, an Ack to the others, and history holds exactly the acknowledged events', async () => {
    const first = post(url, delivery('first'));
    await firstEntering;
    const queued = Array.from({ length: 10 }, (_, index) => post(url, delivery(`queued-${index}`)));
    // Every queued delivery in the handler; from there verification (secret cached by the first)
    // and queueing take no I/O, a moment covers them.
    await expect.poll(() => handled, { timeout: 10_000, interval: 20 }).toBe(11);
    await new Promise((resolve) => setTimeout(resolve, 200));
    releaseFirst();

    expect(await first).toMatchObject({ status: 200, acked: true });
    const refused = await Promise.all(queued);
    expect(refused).toEqual(refused.map(() => ({ status: 503, retryAfter: '5', acked: false, body: expect.objectContaining({ code: 'temporal_unavailable' }) as unknown })));
    // They were one signal: the one that failed.
    expect(calls.map((notices) => notices.events.length)).toEqual([1, 10]);

    // The next delivery gets its own signal, accepted.
    expect(await post(url, delivery('after'))).toMatchObject({ status: 200, acked: true });
    const history = await f.signals(f.ids.salesforce);
    expect(history.map((notices) => notices.events.map((event) => event.eventId))).toEqual([['first'], ['after']]);
  });
});

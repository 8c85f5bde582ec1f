import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShimApp } from '../../src/webhooks/app';
import { temporalSignalConnection, type SignalConnection } from '../../src/webhooks/signal';
import { isAck, outboundMessage, startWebhookFixture, type WebhookFixture } from './support';

/** Resolves when something connects to `port`, rejects with the socket error otherwise. */
function connectOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/**
 * What `npm run shim` does on SIGTERM (`app.close()`): a delivery already inside its
 * signalWithStart still gets its acknowledgement (Salesforce's SOAP Ack) and its signal, while the port stops taking connections.
 */
describe('shim graceful shutdown', () => {
  let f: WebhookFixture;
  beforeAll(async () => {
    f = await startWebhookFixture();
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('finishes an in-flight delivery (acked, signal sent) and refuses new connections while closing', async () => {
    const realSignal = temporalSignalConnection({ client: f.client, taskQueue: f.taskQueue });
    let signalEntered!: () => void;
    const entered = new Promise<void>((resolve) => (signalEntered = resolve));
    let releaseSignal!: () => void;
    const released = new Promise<void>((resolve) => (releaseSignal = resolve));
    // The real signalWithStart, held until the test lets it go: a Temporal answer that is slow.
    const slowSignal: SignalConnection = async (target, notices) => {
      signalEntered();
      await released;
      await realSignal(target, notices);
    };
    const app = buildShimApp({ readiness: {}, webhooks: { connections: f.connections, signal: slowSignal } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(url).port);

    const eventId = 'in-flight-1';
    const signed = outboundMessage(f.secrets.salesforce, [{ id: eventId }]);
    const inFlight = fetch(`${url}/webhooks/salesforce/${f.ids.salesforce}`, { method: 'POST', headers: signed.headers, body: signed.body });
    await entered;

    let closed = false;
    const closing = app.close().then(() => void (closed = true));
    // The listening socket goes first: a new connection is refused while the delivery is still inside.
    await expect.poll(() => connectOnce(port).then(() => 'accepted', (error: NodeJS.ErrnoException) => error.code), { timeout: 10_000, interval: 50 }).toBe('ECONNREFUSED');
    expect(closed).toBe(false);
    expect(await f.signalled(f.ids.salesforce)).toBe(false);

    releaseSignal();
    const response = await inFlight;
    expect(response.status).toBe(200);
    // Its keep-alive connection ends with it, so close() need not wait for the client to hang up.
    expect(response.headers.get('connection')).toBe('close');
    expect(isAck(await response.text())).toBe(true);
    await closing;
    expect(closed).toBe(true);
    const notices = await f.signals(f.ids.salesforce);
    expect(notices.map((notice) => notice.events.map((event) => event.eventId))).toEqual([[eventId]]);
  });
});

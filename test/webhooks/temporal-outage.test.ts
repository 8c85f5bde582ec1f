import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { codecDataConverter } from '../../src/codec/data-converter';
import { findFreePort, startDevServer, type RunningDevServer } from '../../src/devserver/dev-server';
import { buildShimApp } from '../../src/webhooks/app';
import { recordWrites } from '../support/sandbox-counters';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { isAck } from './support';

/** One delivery attempt as the vendor made it and the answer the shim gave. */
interface Exchange {
  url: string;
  headers: Record<string, string>;
  body: string;
  status: number;
  retryAfter: string | null;
  /** A JSON refusal's fields, or `acked` for a SOAP Ack. */
  answer: { code?: string; message?: string; acked?: boolean };
}

/** The notification ids of an Outbound Message, in order. */
function notificationIds(envelope: string): string[] {
  return [...envelope.matchAll(/<Notification><Id>([^<]+)<\/Id>/g)].map((match) => match[1]!);
}

/**
 * Past any retry timer a shim call can leave: a call lives at most its 3 s deadline, and its last
 * failed attempt schedules the next at most 5 s plus 20 % jitter later.
 */
const RETRY_TIMERS_DUE_MS = 10_000;

/**
 * A plain HTTP hop between a sandbox and the shim that records every attempt and answer, so the
 * test sees what the vendor saw (status, Retry-After, code) while the vendor's own retry loop runs.
 */
async function startRecordingHop(target: () => string): Promise<{ url: string; exchanges: Exchange[]; close(): Promise<void> }> {
  const exchanges: Exchange[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name === 'content-type' || name === 'soapaction').map(([name, value]) => [name, String(value)]));
      void fetch(`${target()}${request.url ?? ''}`, { method: 'POST', headers, body })
        .then(async (answer) => {
          const text = await answer.text();
          const contentType = answer.headers.get('content-type') ?? 'application/json';
          const parsed = contentType.startsWith('application/json') ? (JSON.parse(text) as Exchange['answer']) : { acked: isAck(text) };
          exchanges.push({ url: request.url ?? '', headers, body, status: answer.status, retryAfter: answer.headers.get('retry-after'), answer: parsed });
          response.writeHead(answer.status, { 'content-type': contentType, ...(answer.headers.get('retry-after') ? { 'retry-after': answer.headers.get('retry-after')! } : {}) });
          response.end(text);
        })
        .catch(() => {
          response.writeHead(502);
          response.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}


/**
 * Temporal stopped while a CRM delivers: the shim answers 503 + Retry-After (and /readyz says
 * not-ready), the vendor retries, and after Temporal is back (same database file) the change is
 * applied exactly once, also when the vendor delivers it yet again. A private dev server with
 * file persistence, so this file can stop it without touching the shared one.
 */
describe('Temporal outage during webhook delivery', () => {
  let dataDir: string;
  let port: number;
  let server: RunningDevServer | undefined;
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let temporal: Connection;
  let shim: FastifyInstance;
  let shimUrl: string;
  let hop: Awaited<ReturnType<typeof startRecordingHop>>;
  const within = { timeout: 45_000, interval: 250 };

  const startServer = async (): Promise<RunningDevServer> => startDevServer({ cliPath: inject('temporalCliPath'), port, dataDir });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'crm-sync-outage-'));
    port = await findFreePort();
    server = await startServer();
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      temporalAddress: server.address,
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 },
      // Salesforce keeps a refused Outbound Message queued; the test resends it (Setup's "Retry")
      // once Temporal is back, instead of waiting for a backoff interval to pass.
      salesforce: { outboundMessages: { autoRetry: false } },
    });
    sf = h.salesforce!;
    hs = h.hubspot!;
    // Wired as src/webhooks/server.ts wires it: a lazy connection, so the shim runs while Temporal is down.
    temporal = Connection.lazy({ address: server.address, connectTimeout: 2000 });
    shim = buildShimApp({
      readiness: { temporal: async () => void (await temporal.healthService.check({})) },
      webhooks: { connections: h.connectionsRepository, signal: { client: new Client({ connection: temporal, namespace: 'default', dataConverter: codecDataConverter(h.payloadCodec) }), taskQueue: h.taskQueue } },
    });
    shimUrl = await shim.listen({ host: '127.0.0.1', port: 0 });
    hop = await startRecordingHop(() => shimUrl);
    sf.sandbox.webhooks.setTarget(`${hop.url}/webhooks/salesforce/${sf.id}`);
    hs.sandbox.webhooks.setTarget(`${shimUrl}/webhooks/hubspot/${hs.id}`);
  });
  afterAll(async () => {
    // The harness terminates its workflows through the server: make sure one is running.
    if (server && server.process.exitCode !== null) server = await startServer().catch(() => undefined);
    sf?.sandbox.webhooks.setTarget(undefined);
    hs?.sandbox.webhooks.setTarget(undefined);
    await h?.stop();
    await shim?.close();
    await hop?.close();
    // @temporalio/client retries an UNAVAILABLE call on a timer even after its connection is
    // closed, and the retry then throws "Channel has been shut down" from the timer, outside any
    // test. No new call starts now (deliveries off, shim closed); a timer an earlier call left is
    // due before this one (timers fire in due order, whatever the load), on a channel still open.
    await new Promise((resolve) => setTimeout(resolve, RETRY_TIMERS_DUE_MS));
    await temporal?.close().catch(() => undefined);
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const readiness = async (): Promise<{ status: number; body: { status: string; checks: Record<string, { ok: boolean; error?: string }> } }> => {
    const response = await fetch(`${shimUrl}/readyz`);
    return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> } };
  };

  async function settle(): Promise<void> {
    await Promise.all([sf.sandbox.webhooks.idle(), hs.sandbox.webhooks.idle()]);
    for (const id of [sf.id, hs.id]) await expect.poll(async () => (await h.syncStatus(id)).pending, within).toBe(0);
  }

  it('answers 503 + Retry-After while Temporal is down; the vendor retry after the restart is applied once', async () => {
    // Both connection workflows run before the outage (they must survive it in the database file).
    await h.notify(sf.id);
    await h.notify(hs.id);
    await settle();
    expect(await readiness()).toEqual({ status: 200, body: { status: 'ready', checks: { temporal: { ok: true } } } });
    const before = { hubspot: recordWrites(hs.sandbox, 'contacts'), salesforce: recordWrites(sf.sandbox, 'Contact') };

    await server!.stop();
    const down = await readiness();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not-ready');
    expect(down.body.checks.temporal?.ok).toBe(false);
    expect(down.body.checks.temporal?.error).toEqual(expect.any(String));

    // A user creates a contact in Salesforce; its Outbound Message arrives while Temporal is down.
    const created = sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Outage', LastName: 'Survivor', Email: 'outage.survivor@example.com' });
    await expect.poll(() => hop.exchanges.length, within).toBeGreaterThanOrEqual(1);
    const refused = hop.exchanges[0]!;
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('5');
    expect(refused.answer.code).toBe('temporal_unavailable');
    expect(refused.answer.message).toMatch(/unreachable; retry later/);
    expect(refused.body).toContain(`<sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>${String(created.Id)}</sf:Id>`);
    // The queue counts the attempt once the answer is back (the proxy saw the request a moment before).
    await expect.poll(() => sf.sandbox.outboundMessages.list(), within).toEqual([expect.objectContaining({ recordIds: [created.Id], attempts: 1 })]);

    // Temporal comes back on the same port with the same database file.
    server = await startServer();
    expect((await readiness()).status).toBe(200);

    // Salesforce's resend (same notification id) is acked and leaves its queue.
    expect(await sf.sandbox.outboundMessages.retryAll()).toEqual({ attempted: 1, delivered: 1, queued: 0 });
    const accepted = hop.exchanges.at(-1)!;
    expect(accepted.status).toBe(200);
    expect(accepted.answer).toEqual({ acked: true });
    const refusals = hop.exchanges.slice(0, -1);
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.every((exchange) => exchange.status === 503 && exchange.answer.code === 'temporal_unavailable' && exchange.retryAfter === '5')).toBe(true);
    expect(sf.sandbox.counters.snapshot().webhooks).toMatchObject({ delivered: 1, failedAttempts: refusals.length });
    console.log(`[temporal outage] ${refusals.length} attempts answered 503 while Temporal was down; attempt ${refusals.length} (0-based) accepted after the restart`);
    expect(notificationIds(accepted.body)).toEqual(notificationIds(refused.body));
    expect(notificationIds(accepted.body)).toHaveLength(1);

    await expect.poll(() => hs.sandbox.admin.listRecords('contacts').filter((record) => record.properties.email === 'outage.survivor@example.com').length, within).toBe(1);
    await settle();
    expect(recordWrites(hs.sandbox, 'contacts') - before.hubspot).toBe(1);

    // Salesforce delivers the acked message once more (at-least-once): acked, dropped as a duplicate.
    const duplicatesBefore = (await h.syncStatus(sf.id)).stats.duplicatesDropped;
    const again = await fetch(`${hop.url}${accepted.url}`, { method: 'POST', headers: accepted.headers, body: accepted.body });
    expect(again.status).toBe(200);
    expect(isAck(await again.text())).toBe(true);
    await expect.poll(async () => (await h.syncStatus(sf.id)).stats.duplicatesDropped, within).toBe(duplicatesBefore + 1);
    await settle();
    expect(recordWrites(hs.sandbox, 'contacts') - before.hubspot).toBe(1);
    expect(hs.sandbox.admin.listRecords('contacts').filter((record) => record.properties.email === 'outage.survivor@example.com')).toHaveLength(1);
    // Nothing was written back to Salesforce (the user's own create is its only write).
    expect(recordWrites(sf.sandbox, 'Contact') - before.salesforce).toBe(1);
  });
});

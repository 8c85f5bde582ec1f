import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backfillProgressQuery, startBackfill, type BackfillProgress } from '../../src/client/backfill';
import { findFreePort, startDevServer, type RunningDevServer } from '../../src/devserver/dev-server';
import type { FaultConfig } from '../../src/sandbox/core/faults';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { chaosCount, chaosLarge, fieldChecksum, hubspotContactLine, salesforceContactLine } from './chaos-size';

const REDUCED = 1_000;
const CONTACTS = chaosCount('BACKFILL_CONTACTS', REDUCED, 100_000);
/** Bulk export pages: 10 at the reduced size, 20 from 2,000 contacts up (5,000 per page at the full size). */
const PAGE_SIZE = Math.max(100, Math.ceil(CONTACTS / 20));
const PAGES = Math.ceil(CONTACTS / PAGE_SIZE);
const large = chaosLarge(CONTACTS, REDUCED);
/** Issue #7: 10% 5xx, 5% 429, 1% requests that never answer (the client's timeout must fire). */
const FAULTS: FaultConfig = { serverErrorRate: 0.1, rateLimitRate: 0.05, timeoutRate: 0.01 };
/**
 * Salesforce has no 429: its refusal is 403 REQUEST_LIMIT_EXCEEDED, which also means "the daily
 * allocation is spent" and is rightly answered by a 15-minute pause (connectors/salesforce/spec.ts).
 * Injected at 5% it would only measure that pause, so the source gets the 5xx and hangs only.
 */
const SALESFORCE_FAULTS: FaultConfig = { serverErrorRate: 0.1, timeoutRate: 0.01 };

/**
 * Chaos 1 (issue #7): a Salesforce -> HubSpot contact backfill through the real connectors while
 * both sandboxes inject faults on every request (OAuth included), the worker crashes three times
 * and the Temporal dev server (a private one, persisted to a file) is stopped and started again
 * on the same port. Afterwards HubSpot holds every contact exactly once with the same fields.
 */
describe('chaos: backfill under faults, worker crashes and a Temporal restart', () => {
  let dataDir: string;
  let port: number;
  let server: RunningDevServer | undefined;
  let h: SyncHarness;

  const startServer = async (): Promise<RunningDevServer> => startDevServer({ cliPath: inject('temporalCliPath'), port, dataDir });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'crm-sync-chaos-backfill-'));
    port = await findFreePort();
    server = await startServer();
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      temporalAddress: server.address,
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000 },
      salesforce: { faults: { ...SALESFORCE_FAULTS, seed: 7 } },
      hubspot: { faults: { ...FAULTS, seed: 11 } },
      // A hung request is given up after 3 s (the default 15 s would only make the test slower).
      connectorDefaults: { requestTimeoutMs: 3_000 },
      providerConnectorOptions: { salesforce: { bulk: { exportPageSize: PAGE_SIZE, pollIntervalMs: 50 } } },
      workerOptions: { maxHeartbeatThrottleInterval: '200ms' },
    });
  });
  afterAll(async () => {
    // The harness terminates its workflows through the server: make sure one is running.
    if (server && server.process.exitCode !== null) server = await startServer().catch(() => undefined);
    await h?.stop();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(`loads ${CONTACTS.toLocaleString('en')} contacts exactly once, with equal field checksums`, async () => {
    const started = Date.now();
    const sf = h.salesforce!;
    const hs = h.hubspot!;
    sf.sandbox.admin.seed({ contacts: CONTACTS });
    const source = sf.sandbox.admin.listRecords('Contact');
    expect(source).toHaveLength(CONTACTS);

    const handle = await startBackfill(h.client, h.taskQueue, {
      tenantId: h.tenantId,
      connectionId: sf.id,
      objectType: 'contact',
      pagesPerRun: 4,
      chunkSize: 100,
      heartbeatTimeout: '10s',
    });
    const progress = async (): Promise<BackfillProgress | undefined> => handle.query(backfillProgressQuery).catch(() => undefined);
    const waitForPages = async (pages: number): Promise<void> => {
      await expect.poll(async () => (await progress())?.pagesDone ?? 0, { timeout: large ? 3_600_000 : 600_000, interval: 250 }).toBeGreaterThanOrEqual(pages);
    };

    // Crashes and the restart spread over the run: crash, crash, restart Temporal, crash.
    const events: string[] = [];
    const at = (share: number): number => Math.max(1, Math.floor(PAGES * share));
    for (const [share, disruption] of [
      [0.15, 'kill'],
      [0.35, 'kill'],
      [0.55, 'temporal-restart'],
      [0.75, 'kill'],
    ] as const) {
      await waitForPages(at(share));
      const pagesDone = (await progress())?.pagesDone;
      if (disruption === 'kill') {
        await h.killWorker();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await h.startWorker();
      } else {
        // The worker goes with it (a crash of the whole host): Temporal stops, comes back on the same port and file.
        await h.killWorker();
        await server!.stop();
        server = await startServer();
        await h.startWorker();
      }
      events.push(`${disruption}@page${pagesDone}+${Math.round((Date.now() - started) / 1000)}s`);
    }

    const result = await handle.result();
    const target = hs.sandbox.admin.listRecords('contacts');
    const faults = { salesforce: sf.sandbox.counters.snapshot().injectedFaults, hubspot: hs.sandbox.counters.snapshot().injectedFaults };
    console.log(
      `[chaos backfill] ${CONTACTS} contacts in ${Date.now() - started} ms; ${events.join(', ')}; injected faults ${JSON.stringify(faults)}; resumed mid-page ${result.resumedMidPage}; runs ${result.run}`,
    );

    expect(events).toHaveLength(4);
    // The faults really happened on both sides (at 16% of requests, dozens at the reduced size).
    expect(faults.salesforce).toBeGreaterThan(0);
    expect(faults.hubspot).toBeGreaterThan(0);
    expect(result).toMatchObject({ state: 'completed', recordsRead: CONTACTS, written: { [hs.id]: CONTACTS }, failed: { [hs.id]: 0 }, failures: [] });

    // Exactly once: as many records as the source, no two with one email or one sync id.
    expect(target).toHaveLength(CONTACTS);
    expect(new Set(target.map((record) => record.properties.email?.toLowerCase())).size).toBe(CONTACTS);
    expect(new Set(target.map((record) => record.properties.crm_sync_id)).size).toBe(CONTACTS);
    // The same synced fields on both sides, compared as one checksum over every record.
    expect(fieldChecksum(target.map(hubspotContactLine))).toBe(fieldChecksum(source.map(salesforceContactLine)));

    // Every source record is linked, to exactly one HubSpot record.
    const links = await h.db.pool.query<{ connection_id: string; links: string; canonical: string }>(
      `SELECT connection_id, count(*) AS links, count(DISTINCT canonical_id) AS canonical FROM record_links GROUP BY connection_id ORDER BY connection_id`,
    );
    expect(links.rows.map((row) => ({ connection_id: row.connection_id, links: Number(row.links), canonical: Number(row.canonical) }))).toEqual(
      [sf.id, hs.id].sort().map((connection_id) => ({ connection_id, links: CONTACTS, canonical: CONTACTS })),
    );
    // Bounds, not expectations: the run's length is the faults' (10 s per injected 429, a backoff
    // after each attempt that got nowhere: 80-150 s alone, twice that beside the rest of the
    // suite, and once over 300 s on a busy machine).
  }, large ? 4 * 3_600_000 : 900_000);
});

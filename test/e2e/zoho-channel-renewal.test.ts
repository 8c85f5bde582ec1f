import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHistoryPayloads } from '../../src/codec/history';
import { storedWebhookRegistration } from '../../src/lifecycle/webhook-registration';
import { ConnectionTokensRepository } from '../../src/store/connection-tokens-repository';
import { CredentialCipher } from '../../src/store/credential-cipher';
import { WebhookSubscriptionsRepository } from '../../src/store/webhook-subscriptions-repository';
import { cliEnvironment, runCli } from '../cli/support';
import { accessToken, api } from '../sandbox/zoho/support';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

/** Each channel (and each renewal) lasts 30 s of the connector's time; the workflow renews halfway. */
const CHANNEL_LIFETIME_MS = 30_000;

/**
 * Issue #15, acceptance 4: a Zoho notification channel registered by the product with a short
 * expiry is renewed by the connection workflow's own timer, across continue-as-new, so a change
 * made after the original expiry (on the sandbox's own clock, which only this test moves) still
 * arrives by webhook; then `connection disable` leaves no channel behind on the sandbox's own
 * `GET /actions/watch`. Nothing here asserts how many seconds pass: the sandbox clock stands
 * still until the test moves it, and every wait is on a condition.
 */
describe('Zoho channel renewal by the connection workflow', { timeout: 360_000 }, () => {
  const key = randomBytes(32);
  let h: SyncHarness;
  let tokens: ConnectionTokensRepository;
  /** The Zoho sandbox's clock: still, except where the test moves it. */
  let zohoClock = Date.now();
  let zohoId: string;

  const liveChannels = async (): Promise<{ channel_id: string; notify_url: string; channel_expiry: string }[]> => {
    const zoho = h.zoho!.sandbox;
    const answer = await api(zoho, await accessToken(zoho), 'GET', 'actions/watch');
    return answer.status === 204 ? [] : (answer.body?.watch as { channel_id: string; notify_url: string; channel_expiry: string }[]);
  };

  /** Record ids in the change notices the Zoho connection's workflow was signalled with, over all its runs. */
  const signalledRecordIds = async (): Promise<string[]> => {
    const ids: string[] = [];
    for await (const run of h.client.workflow.list({ query: `WorkflowId = "${h.syncWorkflowId(zohoId)}"` })) {
      const history = await decodeHistoryPayloads(await h.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(), h.payloadCodec);
      for (const event of history.events ?? []) {
        const signal = event.workflowExecutionSignaledEventAttributes;
        if (signal?.signalName !== 'changeNotices') continue;
        for (const payload of signal.input?.payloads ?? []) {
          const notices = JSON.parse(Buffer.from(payload.data ?? []).toString()) as { events?: { externalId: string }[] };
          ids.push(...(notices.events ?? []).map((notice) => notice.externalId));
        }
      }
    }
    return ids;
  };

  beforeAll(async () => {
    h = await startSyncHarness({
      crms: ['zoho', 'hubspot'],
      shim: true,
      encryptionKey: { id: 'k1', key },
      zoho: { now: () => zohoClock },
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 },
    });
    zohoId = h.zoho!.id;
    const stored = (await h.connectionsRepository.getConnection(zohoId))!;
    await h.connectionsRepository.updateSettings(zohoId, { ...stored.settings, webhookChannelLifetimeMs: CHANNEL_LIFETIME_MS });
    tokens = new ConnectionTokensRepository(h.db.pool, new CredentialCipher(new Map([['k1', key]]), 'k1'), { lockPoolSize: 1 });
  }, 180_000);

  afterAll(async () => {
    await tokens?.close();
    await h?.stop();
  });

  it('renews the channel before it lapses, across continue-as-new; a change after the original expiry reaches HubSpot by webhook; disable leaves no channel', async () => {
    const registration = storedWebhookRegistration({ pool: h.db.pool, connections: h.connectionsRepository, tokens, publicUrl: h.shimUrl });
    const outcome = await registration.subscribe(zohoId);
    expect(outcome).toMatchObject({ kind: 'registered', subscriptions: [{ kind: 'zoho-channel', objectType: null }] });
    const callbackUrl = `${h.shimUrl}/webhooks/zoho/${zohoId}`;
    const [opened] = await liveChannels();
    expect(opened).toMatchObject({ notify_url: callbackUrl });
    const originalExpiry = Date.parse(opened!.channel_expiry);
    // The channel's token is the delivery secret sealed in the connection, which the shim verifies.
    expect(((await h.connectionsRepository.loadCredentials(zohoId)) as { webhook: { token: string } }).webhook.token).toMatch(/^[\w-]{32}$/);

    // The workflow continues as new every 60 events; each renewal adds about a dozen.
    await h.notify(zohoId, { events: [] }, { continueAsNewAfterEvents: 60 });
    await h.notify(h.hubspot!.id);
    for (const id of [zohoId, h.hubspot!.id]) await expect.poll(async () => (await h.syncStatus(id)).watermarks.contact !== undefined, { timeout: 90_000, interval: 250 }).toBe(true);
    const firstRunId = (await h.client.workflow.getHandle(h.syncWorkflowId(zohoId)).describe()).runId;

    // Wait for a run after the first, then for a renewal by that run (the first run has ended).
    await expect.poll(async () => (await h.client.workflow.getHandle(h.syncWorkflowId(zohoId)).describe()).runId, { timeout: 240_000, interval: 500 }).not.toBe(firstRunId);
    const expiryAtHandOver = Date.parse((await liveChannels())[0]!.channel_expiry);
    await expect.poll(async () => Date.parse((await liveChannels())[0]?.channel_expiry ?? '0'), { timeout: 120_000, interval: 500 }).toBeGreaterThan(expiryAtHandOver);
    const subscriptions = await new WebhookSubscriptionsRepository(h.db.pool).subscriptions(zohoId);
    expect(Date.parse(subscriptions[0]!.expiresAt!)).toBeGreaterThan(originalExpiry);

    // Past the original expiry on the sandbox's clock: only a renewed channel still delivers.
    zohoClock = originalExpiry + 1000;
    expect((await liveChannels()).map((channel) => channel.channel_id)).toEqual([subscriptions[0]!.id]);
    const delivered = h.zoho!.sandbox.counters.snapshot().webhooks.delivered;
    const created = String(h.zoho!.sandbox.admin.createAsUser('Contacts', { First_Name: 'Annie', Last_Name: 'Easley', Email: 'annie@renewal.example' }).id);
    await expect.poll(() => h.hubspot!.sandbox.admin.listRecords('contacts').map((contact) => String(contact.properties.email)), { timeout: 60_000, interval: 250 }).toContain('annie@renewal.example');
    // Heard through the channel: the sandbox delivered, and the shim signalled the workflow with
    // that record (a new run also polls once at its start, so the poll alone proves nothing).
    expect(h.zoho!.sandbox.counters.snapshot().webhooks.delivered).toBeGreaterThan(delivered);
    expect(await signalledRecordIds()).toContain(created);

    if (process.env.RECORD_HISTORIES === '1') {
      const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'histories', 'product');
      const first = await h.client.workflow.getHandle(h.syncWorkflowId(zohoId), firstRunId).fetchHistory();
      await writeFile(path.join(dir, 'connection-sync-webhook-renewal.json'), historyToJSON(await decodeHistoryPayloads(first, h.payloadCodec)));
    }

    // Disabled through the CLI: the sandbox's own list shows no channel left behind.
    const env = cliEnvironment({ schema: h.db.schema, taskQueue: h.taskQueue, keys: `k1:${key.toString('base64')}` }, { SHIM_PUBLIC_URL: h.shimUrl });
    const disabled = await runCli(['connection', 'disable', zohoId, '--yes'], env);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toMatch(new RegExp(`^connection ${zohoId} disabled: 1 webhook subscription\\(s\\) removed, workflow stopped`));
    expect(await liveChannels()).toEqual([]);
    expect(h.zoho!.sandbox.admin.channels()).toEqual([]);
  });
});

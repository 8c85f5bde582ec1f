import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type proto from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { decodeHistoryPayloads, historyBytes } from '../../src/codec/history';
import { isEncrypted } from '../../src/codec/encryption-codec';
import { payloadFromJson, payloadToJson } from '../../src/codec/json-payloads';
import { buildShimApp } from '../../src/webhooks/app';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';

type History = proto.temporal.api.history.v1.IHistory;

/**
 * Acceptance 5 (codec half), on the real dev server: a real Salesforce -> HubSpot sync carries a
 * contact with distinctive values; read without the codec, no history of the sync (the connection
 * workflows and anything on their task queue) contains them; decoded with the codec, or through
 * the shim's codec endpoint with the operator token, they are there.
 */
describe('record data in Temporal history is encrypted by the payload codec', () => {
  const marker = `Qzcodec${randomBytes(5).toString('hex')}`;
  const email = `${marker.toLowerCase()}@codec-secret.example`;
  const token = randomBytes(32).toString('base64url');
  let h: SyncHarness;
  let shim: FastifyInstance;
  let shimUrl: string;
  let histories: { workflowId: string; history: History }[];

  beforeAll(async () => {
    h = await startSyncHarness({ crms: ['salesforce', 'hubspot'], sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 } });
    shim = buildShimApp({ readiness: {}, codec: { codec: h.payloadCodec, operatorToken: token, corsOrigins: ['http://localhost:8233'] } });
    shimUrl = await shim.listen({ host: '127.0.0.1', port: 0 });

    const sf = h.salesforce!;
    const hs = h.hubspot!;
    const created = sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: marker, Email: email });
    await h.notify(sf.id, { events: [{ objectType: 'contact', externalId: String(created.Id), eventId: `codec-${marker}` }] });
    // (expect.poll is only allowed inside a test.)
    const deadline = Date.now() + 30_000;
    while (!hs.sandbox.admin.listRecords('contacts').some((record) => record.properties.email === email)) {
      if (Date.now() > deadline) throw new Error('the contact did not reach HubSpot within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    // Every execution on the harness's task queue (the connection workflow, anything it started),
    // fetched by a client that has no codec: the bytes anyone with history access gets.
    const plain = new Client({ connection: h.client.connection, namespace: inject('temporalNamespace') });
    histories = [];
    for await (const execution of plain.workflow.list({ query: `TaskQueue = "${h.taskQueue}"` })) {
      histories.push({ workflowId: execution.workflowId, history: await plain.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory() });
    }
  }, 120_000);

  afterAll(async () => {
    await shim?.close();
    await h?.stop();
  });

  it('leaves no plaintext record value in any raw history, while the decoded histories hold them', async () => {
    expect(histories.map(({ workflowId }) => workflowId)).toContain(h.syncWorkflowId(h.salesforce!.id));
    for (const { workflowId, history } of histories) {
      const raw = historyBytes(history);
      expect(raw.includes(marker), `${workflowId} holds the last name in plaintext`).toBe(false);
      expect(raw.includes(email), `${workflowId} holds the email in plaintext`).toBe(false);
    }
    // The codec is what hides them: the record did pass through history, sealed.
    const decoded = await Promise.all(histories.map(async ({ history }) => historyBytes(await decodeHistoryPayloads(history, h.payloadCodec))));
    expect(decoded.some((bytes) => bytes.includes(marker) && bytes.includes(email))).toBe(true);
  });

  it('decodes a real history payload through the shim\'s codec endpoint for the operator token only', async () => {
    // The activity result that carried the record, as the Web UI would send it.
    const sealed = histories
      .flatMap(({ history }) => history.events ?? [])
      .flatMap((event) => event.activityTaskCompletedEventAttributes?.result?.payloads ?? []);
    expect(sealed.length).toBeGreaterThan(0);
    expect(sealed.every((payload) => isEncrypted(payload))).toBe(true);
    const body = JSON.stringify({ payloads: sealed.map((payload) => payloadToJson(payload)) });
    const send = (authorization?: string) =>
      fetch(`${shimUrl}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': inject('temporalNamespace'), ...(authorization ? { authorization } : {}) }, body });

    const refused = await send();
    const refusedText = await refused.text();
    expect(refused.status).toBe(401);
    expect(refusedText).not.toContain(marker);
    expect(JSON.parse(refusedText)).toMatchObject({ code: 'token_missing' });
    expect((await send('Bearer not-the-operator-token')).status).toBe(401);

    const granted = await send(`Bearer ${token}`);
    expect(granted.status).toBe(200);
    const { payloads } = (await granted.json()) as { payloads: Parameters<typeof payloadFromJson>[0][] };
    const values = payloads.map((payload) => JSON.stringify(defaultPayloadConverter.fromPayload(payloadFromJson(payload))));
    expect(values.some((value) => value.includes(marker) && value.includes(email))).toBe(true);
  });
});

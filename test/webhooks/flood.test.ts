import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hubspotSignatureV3 } from '../../src/webhooks/verify-hubspot';
import { outboundMessage, salesforceOrgId, useWebhookDrivenSync } from './support';

const FORGED = 1_000;
const IN_FLIGHT = 50;
const SIX_MINUTES_MS = 6 * 60_000;

/** One forged delivery and the refusal it must get. */
interface Forgery {
  kind: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
  code: string;
}

interface Answer {
  status: number;
  code: unknown;
  message: unknown;
  retryAfter: string | null;
}

/** What must not move under a flood: the workflow's history and its own view of the sync. */
interface WorkflowFootprint {
  historyLength: number;
  signals: number;
  pending: number;
  parked: number;
  state: string;
  stats: Record<string, number>;
  watermarks: Record<string, string>;
  lastSyncedAt: string | null;
}

/**
 * 1,000 forged webhook deliveries, 50 in flight, against the real shim on a real port in front of
 * running connection workflows: every one is refused with the right status and code, and not one
 * reaches a workflow (history, signals, pending work and stats unchanged). A real sandbox change
 * afterwards still goes through, so the comparison can see a signal when there is one.
 */
describe('a flood of forged webhooks', () => {
  const sync = useWebhookDrivenSync();
  const within = { timeout: 30_000, interval: 200 };

  async function footprint(connectionId: string): Promise<WorkflowFootprint> {
    const handle = sync.h.client.workflow.getHandle(sync.h.syncWorkflowId(connectionId));
    const events = (await handle.fetchHistory()).events ?? [];
    const status = await sync.h.syncStatus(connectionId);
    return {
      historyLength: events.length,
      signals: events.filter((event) => event.workflowExecutionSignaledEventAttributes).length,
      pending: status.pending,
      parked: status.parked,
      state: status.state,
      stats: { ...status.stats },
      watermarks: { ...status.watermarks },
      lastSyncedAt: status.lastSyncedAt,
    };
  }

  /**
   * Waits until a workflow is idle: its first poll done (a contact watermark), no activity or
   * workflow task outstanding, and two readings in a row agree.
   */
  async function settledFootprint(connectionId: string): Promise<WorkflowFootprint> {
    const handle = sync.h.client.workflow.getHandle(sync.h.syncWorkflowId(connectionId));
    let previous: WorkflowFootprint | undefined;
    let current: WorkflowFootprint | undefined;
    await expect
      .poll(
        async () => {
          const { raw } = await handle.describe();
          const busy = (raw.pendingActivities?.length ?? 0) > 0 || raw.pendingWorkflowTask != null;
          previous = current;
          current = await footprint(connectionId);
          return !busy && current.pending === 0 && current.watermarks.contact !== undefined && JSON.stringify(previous) === JSON.stringify(current);
        },
        within,
      )
      .toBe(true);
    return current!;
  }

  function forgeries(): Forgery[] {
    const base = sync.h.shimUrl!;
    const sfPath = `/webhooks/salesforce/${sync.sf.id}`;
    const hsPath = `/webhooks/hubspot/${sync.hs.id}`;
    const dynPath = `/webhooks/dynamics/${sync.dyn.id}`;
    const sfOrg = sync.sf.sandbox.credentials.organizationId;
    const hsSecret = sync.hs.sandbox.credentials.webhookClientSecret;
    const dynKey = sync.dyn.sandbox.credentials.webhookKey!;

    const sfMessage = (organizationId: string): { body: string; headers: Record<string, string> } =>
      outboundMessage(organizationId, [{ type: 'Contact', recordId: '0035g0000000004AAA', fields: { Email: 'mallory@example.com' } }]);
    const hsBody = (): string => JSON.stringify([{ eventId: Math.floor(Math.random() * 1e9), subscriptionId: 1, portalId: 1, appId: 2, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 101, propertyName: 'email', propertyValue: 'mallory@example.com' }]);
    const hsSigned = (secret: string, timestamp: number, path = hsPath, body = hsBody()): { body: string; headers: Record<string, string> } => ({
      body,
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-v3': hubspotSignatureV3(secret, 'POST', `${base}${path}`, body, String(timestamp)).toString('base64'),
        'x-hubspot-request-timestamp': String(timestamp),
      },
    });
    const dynBody = (): string => JSON.stringify({ MessageName: 'Update', PrimaryEntityName: 'contact', PrimaryEntityId: randomUUID(), OperationId: randomUUID(), InputParameters: [] });
    const json = { 'content-type': 'application/json' };

    const kinds: (() => Forgery)[] = [
      () => ({ kind: 'salesforce: another org', path: sfPath, ...sfMessage(salesforceOrgId()), status: 401, code: 'organization_mismatch' }),
      () => ({ kind: 'salesforce: the org id with another checksum', path: sfPath, ...sfMessage(`${sfOrg.slice(0, 15)}ZZZ`), status: 401, code: 'organization_mismatch' }),
      () => ({ kind: 'salesforce: the right org, truncated XML', path: sfPath, ...sfMessage(sfOrg), body: sfMessage(sfOrg).body.slice(0, -40), status: 400, code: 'malformed_xml' }),
      () => ({ kind: 'salesforce: entity expansion (DOCTYPE)', path: sfPath, ...sfMessage(sfOrg), body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>${sfMessage(sfOrg).body.replace(/^<\?xml[^>]*>/, '').replace('mallory@example.com', '&b;')}`, status: 400, code: 'malformed_xml' }),
      () => ({ kind: 'salesforce: a JSON callout', path: sfPath, body: JSON.stringify({ organizationId: sfOrg, events: [] }), headers: json, status: 415, code: 'unsupported_media_type' }),
      () => ({ kind: 'salesforce: unknown connection', path: `/webhooks/salesforce/${sync.sf.id}-forged`, ...sfMessage(sfOrg), status: 404, code: 'unknown_connection' }),
      () => ({ kind: 'hubspot: random signature', path: hsPath, body: hsBody(), headers: { ...json, 'x-hubspot-signature-v3': Buffer.from(randomUUID()).toString('base64'), 'x-hubspot-request-timestamp': String(Date.now()) }, status: 401, code: 'signature_invalid' }),
      () => ({ kind: 'hubspot: signed with a wrong secret', path: hsPath, ...hsSigned(randomUUID(), Date.now()), status: 401, code: 'signature_invalid' }),
      () => ({ kind: 'hubspot: correctly signed, 6 minutes old', path: hsPath, ...hsSigned(hsSecret, Date.now() - SIX_MINUTES_MS), status: 401, code: 'signature_expired' }),
      () => ({ kind: 'hubspot: signed for another URL', path: hsPath, ...hsSigned(hsSecret, Date.now(), `/webhooks/hubspot/${sync.hs.id}-other`), status: 401, code: 'signature_invalid' }),
      () => ({ kind: 'hubspot: unknown connection', path: `/webhooks/hubspot/${sync.hs.id}-forged`, ...hsSigned(hsSecret, Date.now(), `/webhooks/hubspot/${sync.hs.id}-forged`), status: 404, code: 'unknown_connection' }),
      () => ({ kind: 'hubspot route, salesforce connection', path: `/webhooks/hubspot/${sync.sf.id}`, ...hsSigned(hsSecret, Date.now(), `/webhooks/hubspot/${sync.sf.id}`), status: 404, code: 'unknown_connection' }),
      () => ({ kind: 'dynamics: wrong key', path: `${dynPath}?code=${encodeURIComponent(`${dynKey}x`)}`, body: dynBody(), headers: json, status: 401, code: 'signature_invalid' }),
      () => ({ kind: 'dynamics: no key', path: dynPath, body: dynBody(), headers: json, status: 401, code: 'signature_missing' }),
      () => ({ kind: 'dynamics: unknown connection', path: `/webhooks/dynamics/${sync.dyn.id}-forged?code=${encodeURIComponent(dynKey)}`, body: dynBody(), headers: json, status: 404, code: 'unknown_connection' }),
      () => ({ kind: 'dynamics route, hubspot connection', path: `/webhooks/dynamics/${sync.hs.id}?code=${encodeURIComponent(dynKey)}`, body: dynBody(), headers: json, status: 404, code: 'unknown_connection' }),
    ];
    return Array.from({ length: FORGED }, (_, index) => kinds[index % kinds.length]!());
  }

  async function deliver(forgery: Forgery): Promise<Answer> {
    const response = await fetch(`${sync.h.shimUrl!}${forgery.path}`, { method: 'POST', headers: forgery.headers, body: forgery.body });
    const body = (await response.json()) as { code?: unknown; message?: unknown };
    return { status: response.status, code: body.code, message: body.message, retryAfter: response.headers.get('retry-after') };
  }

  /** Runs `task` over `items` with at most `limit` in flight; answers in input order. */
  async function withConcurrency<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array<R>(items.length);
    let next = 0;
    let inFlight = 0;
    let peak = 0;
    const lanes = Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        try {
          results[index] = await task(items[index]!);
        } finally {
          inFlight -= 1;
        }
      }
    });
    await Promise.all(lanes);
    expect(peak).toBe(limit);
    return results;
  }

  it(`refuses ${FORGED.toLocaleString('en')} forged deliveries (${IN_FLIGHT} in flight) and leaves every connection workflow untouched`, async () => {
    const connections = [sync.sf.id, sync.hs.id, sync.dyn.id];
    for (const id of connections) await sync.h.notify(id);
    const before = await Promise.all(connections.map((id) => settledFootprint(id)));
    const writesBefore = [sync.sf, sync.hs, sync.dyn].map((target) => target.sandbox.counters.snapshot().recordWrites);

    const flood = forgeries();
    const answers = await withConcurrency(flood, IN_FLIGHT, deliver);

    // Every answer exactly as specified: one list of the misfits, so a failure names them.
    const misfits = flood.flatMap((forgery, index) => {
      const answer = answers[index]!;
      const fits = answer.status === forgery.status && answer.code === forgery.code && typeof answer.message === 'string' && answer.message.length > 0 && answer.retryAfter === null;
      return fits ? [] : [{ kind: forgery.kind, expected: `${forgery.status} ${forgery.code}`, got: answer }];
    });
    expect(misfits.slice(0, 5)).toEqual([]);
    const byCode = answers.reduce<Record<string, number>>((tally, answer) => ({ ...tally, [`${answer.status} ${String(answer.code)}`]: (tally[`${answer.status} ${String(answer.code)}`] ?? 0) + 1 }), {});
    const expectedByCode = flood.reduce<Record<string, number>>((tally, forgery) => ({ ...tally, [`${forgery.status} ${forgery.code}`]: (tally[`${forgery.status} ${forgery.code}`] ?? 0) + 1 }), {});
    expect(byCode).toEqual(expectedByCode);
    expect(Object.keys(byCode).sort()).toEqual(['400 malformed_xml', '401 organization_mismatch', '401 signature_expired', '401 signature_invalid', '401 signature_missing', '404 unknown_connection', '415 unsupported_media_type']);

    // Untouched: same history (no signal event, nothing else), same pending work and stats.
    const after = await Promise.all(connections.map((id) => footprint(id)));
    expect(after).toEqual(before);
    // No workflow was started for any of the forged connection ids.
    for (const id of connections) {
      await expect(sync.h.client.workflow.getHandle(sync.h.syncWorkflowId(`${id}-forged`)).describe()).rejects.toThrow(/not found/i);
    }
    expect([sync.sf, sync.hs, sync.dyn].map((target) => target.sandbox.counters.snapshot().recordWrites)).toEqual(writesBefore);

    // The shim still takes a genuine delivery: a real Salesforce change signals its workflow and syncs.
    sync.sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Real', LastName: 'Change', Email: 'real.change@example.com' });
    await expect.poll(() => sync.hs.sandbox.admin.listRecords('contacts').map((record) => record.properties.email), within).toEqual(['real.change@example.com']);
    const sfAfterReal = await footprint(sync.sf.id);
    expect(sfAfterReal.signals).toBeGreaterThan(before[0]!.signals);
    expect(sync.sf.sandbox.counters.snapshot().webhooks).toMatchObject({ delivered: 1, failedAttempts: 0 });
  });
});

import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupervisorActivities } from '../../src/activities/supervisor-activities';
import { startBackfill } from '../../src/client/backfill';
import { RateBudget, type RateWindowPolicy } from '../../src/connectors/rate-budget';
import { findFreePort } from '../../src/devserver/dev-server';
import { startMetricsServer, type MetricsServer } from '../../src/observability/metrics-endpoint';
import { installTemporalRuntime } from '../../src/observability/temporal-runtime';
import { startTracing, type Tracing } from '../../src/observability/tracing';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness';
import { outboundMessage, salesforceOrgId } from '../webhooks/support';

/**
 * Issue #17: a sync run under load (webhooks through the real shim, echoes, a conflict, a parked
 * record, a budget that makes calls wait, token refreshes, a backfill, polls) on the real dev
 * server and sandboxes, then both `/metrics` scraped and parsed: each metric an operator alerts
 * on has a non-zero sample for the tenant, connection and object it concerns, and the Temporal
 * SDK's own metrics come in the worker's scrape. And one trace: the webhook delivery, its signal
 * and the activity that wrote HubSpot.
 */
describe('metrics and traces of a sync under load', () => {
  // Full: the HubSpot budget is filled to this before one write, so that write must wait for it.
  const window: RateWindowPolicy = { name: 'test-window', limit: 10_000, windowMs: 10_000 };
  const within = { timeout: 60_000, interval: 250 };
  const spans = new InMemorySpanExporter();
  let tracing: Tracing;
  let h: SyncHarness;
  let sf: NonNullable<SyncHarness['salesforce']>;
  let hs: NonNullable<SyncHarness['hubspot']>;
  let workerMetrics: MetricsServer;

  beforeAll(async () => {
    // Before the harness's first connection: the SDK runtime is created once per process.
    const sdkMetricsUrl = installTemporalRuntime(`127.0.0.1:${await findFreePort()}`);
    tracing = startTracing({ serviceName: 'crm-sync-test', spanProcessor: new SimpleSpanProcessor(spans) });
    h = await startSyncHarness({
      crms: ['salesforce', 'hubspot'],
      shim: true,
      tracing,
      sync: { objects: ['contact'], pollIntervalMs: 3_600_000, debounceMs: 100 },
      connectorDefaults: { rateLimits: [window] },
    });
    sf = h.salesforce!;
    hs = h.hubspot!;
    workerMetrics = await startMetricsServer({ host: '127.0.0.1', port: 0, sdkMetricsUrl });
  });
  afterAll(async () => {
    await h?.stop();
    await workerMetrics?.close();
    await tracing?.shutdown();
  });

  // Salesforce's push: an Outbound Message naming the contact (the shim answers 200 with the SOAP Ack).
  const deliver = async (contactId: string, organizationId = sf.sandbox.credentials.organizationId): Promise<number> => {
    const delivery = outboundMessage(organizationId, [{ recordId: contactId }]);
    const response = await fetch(`${h.shimUrl!}/webhooks/salesforce/${sf.id}`, { method: 'POST', headers: delivery.headers, body: delivery.body });
    await response.arrayBuffer();
    return response.status;
  };
  const hubspotContact = (email: string) => hs.sandbox.admin.listRecords('contacts').find((record) => record.properties.email === email);

  it('exposes a non-zero value for each metric, per tenant, connection and object, on the worker and the shim', async () => {
    // A webhook delivery starts Salesforce's workflow (its first poll measures the lag) and carries Ada to HubSpot.
    const ada = String(sf.sandbox.admin.createAsUser('Contact', { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@metrics.example', Title: 'Engineer' }).Id);
    expect(await deliver(ada)).toBe(200);
    await expect.poll(() => hubspotContact('ada@metrics.example')?.properties.lastname, within).toBe('Lovelace');
    const adaInHubSpot = hubspotContact('ada@metrics.example')!.id;

    // HubSpot's notice of our own write: an echo.
    await h.notify(hs.id, { events: [{ objectType: 'contact', externalId: adaInHubSpot, eventId: 'm-2' }] });
    await expect.poll(async () => (await h.syncStatus(hs.id)).stats.echoes, within).toBeGreaterThan(0);

    // Both sides edit the title before either is synced: a true conflict.
    sf.sandbox.admin.editAsUser('Contact', ada, { Title: 'Director' });
    hs.sandbox.admin.changeAsUser('contacts', adaInHubSpot, { jobtitle: 'Professor' });
    expect(await deliver(ada)).toBe(200);
    // Whichever side's workflow applies first meets the other's edit (the sandboxes deliver HubSpot's change too).
    await expect.poll(async () => (await h.syncStatus(sf.id)).stats.conflicts + (await h.syncStatus(hs.id)).stats.conflicts, within).toBeGreaterThan(0);

    // A last name longer than Salesforce's 80 characters cannot be written there: parked.
    const long = hs.sandbox.admin.createAsUser('contacts', { firstname: 'Long', lastname: 'L'.repeat(81), email: 'long@metrics.example' }).id;
    await h.notify(hs.id, { events: [{ objectType: 'contact', externalId: long, eventId: 'm-4' }] });
    await expect.poll(async () => (await h.syncStatus(hs.id)).parked, within).toBeGreaterThan(0);

    // HubSpot's budget is spent (as if other workers had spent it): the next write waits for the
    // window. A machine so busy that the window passed before the write came is given another round.
    const otherWorkers = new RateBudget({ provider: 'hubspot', connectionId: hs.id, windows: [window], pool: h.db.pool });
    const waits = async () => sample(parsePrometheusTextFormat(await (await fetch(workerMetrics.url)).text()), 'crm_sync_rate_budget_waits_total', { connection: hs.id });
    for (let round = 0; round < 5 && (await waits()) === 0; round += 1) {
      const [room] = (await otherWorkers.snapshot()).windows;
      if (room && room.remaining > 0) await otherWorkers.acquire(room.remaining);
      const phone = `555-010${round}`;
      sf.sandbox.admin.editAsUser('Contact', ada, { Phone: phone });
      expect(await deliver(ada)).toBe(200);
      await expect.poll(() => hubspotContact('ada@metrics.example')?.properties.phone, within).toBe(phone);
    }

    // A message from another org is refused, and counted by its answer.
    expect(await deliver(ada, salesforceOrgId())).toBe(401);

    // A backfill of Salesforce's contacts to HubSpot.
    sf.sandbox.admin.seed({ contacts: 30 });
    const backfill = await startBackfill(h.client, h.taskQueue, { tenantId: h.tenantId, connectionId: sf.id, objectType: 'contact' });
    await backfill.result();

    // The supervisor's pass reads every connection workflow's state and parked count.
    const supervisor = createSupervisorActivities({ connections: h.connectionsRepository, temporal: { client: h.client, taskQueue: h.taskQueue } });
    await expect
      .poll(async () => {
        await supervisor.reconcileConnectionWorkflows();
        return parsePrometheusTextFormat(await (await fetch(workerMetrics.url)).text());
      }, within)
      .toSatisfy((families: MetricFamily[]) => sample(families, 'crm_sync_connection_parked_records', { tenant: h.tenantId, connection: hs.id }) > 0);
    const families = parsePrometheusTextFormat(await (await fetch(workerMetrics.url)).text());
    const tenant = h.tenantId;

    // Records per tenant, connection (the target written) and object, by outcome.
    expect(sample(families, 'crm_sync_records_total', { tenant, connection: hs.id, object: 'contact', outcome: 'synced', path: 'live' })).toBeGreaterThan(0);
    expect(sample(families, 'crm_sync_records_total', { tenant, connection: sf.id, object: 'contact', outcome: 'echoed', path: 'live' })).toBeGreaterThan(0);
    expect(sample(families, 'crm_sync_records_total', { tenant, object: 'contact', outcome: 'conflicted', path: 'live' })).toBeGreaterThan(0);
    expect(sample(families, 'crm_sync_records_total', { tenant, connection: sf.id, object: 'contact', outcome: 'parked', path: 'live' })).toBeGreaterThan(0);
    // The rate budget: used, and the wait the full window forced.
    expect(sample(families, 'crm_sync_rate_budget_used_ratio', { provider: 'hubspot', connection: hs.id, window: window.name })).toBeGreaterThan(0);
    expect(sample(families, 'crm_sync_rate_budget_waits_total', { provider: 'hubspot', connection: hs.id, window: window.name })).toBeGreaterThan(0);
    expect(sample(families, 'crm_sync_rate_budget_wait_seconds_total', { provider: 'hubspot', connection: hs.id, window: window.name })).toBeGreaterThan(0);
    // Salesforce's connector obtained its session with the refresh token.
    expect(sample(families, 'crm_sync_token_refreshes_total', { provider: 'salesforce', outcome: 'ok' })).toBeGreaterThan(0);
    // The backfill's throughput: every contact Salesforce held written to HubSpot.
    expect(sample(families, 'crm_sync_backfill_records_total', { tenant, connection: sf.id, object: 'contact', target: hs.id })).toBe(sf.sandbox.admin.listRecords('Contact').length);
    // Poll lag: the first poll started a day back.
    expect(sample(families, 'crm_sync_poll_lag_seconds', { tenant, connection: sf.id, object: 'contact' })).toBeGreaterThan(3_600);
    expect(sample(families, 'crm_sync_poll_last_completed_timestamp_seconds', { tenant, connection: sf.id, object: 'contact' })).toBeGreaterThan(0);
    // The connections' state as their workflows publish it.
    expect(sample(families, 'crm_sync_connection_state', { tenant, connection: sf.id, state: 'running' })).toBe(1);
    expect(sample(families, 'crm_sync_connection_parked_records', { tenant, connection: hs.id })).toBe(1);
    // The Temporal SDK's own metrics, in the same scrape.
    expect(sample(families, 'temporal_activity_task_received_total', { task_queue: h.taskQueue, activity_type: 'applyToTarget' })).toBeGreaterThan(0);
    expect(sample(families, 'temporal_workflow_completed_total', { task_queue: h.taskQueue, workflow_type: 'backfill' })).toBeGreaterThan(0);
    // No record id in any label.
    const labelValues = families.flatMap((family) => family.metrics.flatMap((metric) => Object.values(metric.labels ?? {})));
    expect(labelValues).not.toContain(ada);
    expect(labelValues).not.toContain(adaInHubSpot);

    // The shim's own scrape: deliveries by answer (ours, and the ones the sandboxes sent for their own changes).
    const shim = parsePrometheusTextFormat(await (await fetch(`${h.shimUrl!}/metrics`)).text());
    expect(sample(shim, 'crm_sync_webhook_deliveries_total', { provider: 'salesforce', code: '200' })).toBeGreaterThanOrEqual(3);
    expect(sample(shim, 'crm_sync_webhook_deliveries_total', { provider: 'salesforce', code: '401' })).toBe(1);
  });

  it('puts a webhook delivery, its signal and the activity that wrote HubSpot in one trace', () => {
    const finished = spans.getFinishedSpans();
    const deliveries = finished.filter((span) => span.name === 'webhook delivery' && span.attributes['crm_sync.connection_id'] === sf.id);
    expect(deliveries.length).toBeGreaterThan(0);
    // The first delivery started the connection's workflow: everything that run did is in its trace.
    const first = deliveries.reduce((earliest, span) => (compare(span, earliest) < 0 ? span : earliest));
    expect(first.parentSpanId).toBeUndefined();
    expect(first.attributes['http.response.status_code']).toBe(200);
    const inTrace = finished.filter((span) => span.spanContext().traceId === first.spanContext().traceId);
    const signal = inTrace.find((span) => span.name === 'SignalWithStartWorkflow:connectionSync');
    expect(signal?.parentSpanId).toBe(first.spanContext().spanId);
    // The write to HubSpot: the activity as the worker ran it, and as the workflow scheduled it.
    const applied = inTrace.filter((span) => span.name === 'RunActivity:applyToTarget');
    expect(applied.length).toBeGreaterThan(0);
    expect(applied[0]!.attributes).toMatchObject({ temporalWorkflowId: h.syncWorkflowId(sf.id) });
    const scheduled = inTrace.find((span) => span.spanContext().spanId === applied[0]!.parentSpanId);
    expect(scheduled?.name).toBe('StartActivity:applyToTarget');
    expect(inTrace.some((span) => span.name === 'RunActivity:readAndLinkRecords')).toBe(true);
    // Nothing secret on a span: no query string, no signature.
    for (const span of inTrace) expect(JSON.stringify(span.attributes)).not.toMatch(/x-sfdc-signature|\?code=/);
  });
});

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
function sample(families: MetricFamily[], name: string, labels: Record<string, string>): number {
  const family = families.find((candidate) => candidate.name === name);
  const matching = (family?.metrics ?? []).filter((metric) => Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value));
  return matching.reduce((sum, metric) => sum + Number(metric.value ?? metric.count ?? 0), 0);
}

function compare(a: ReadableSpan, b: ReadableSpan): number {
  return a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];
}

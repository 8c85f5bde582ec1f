import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { tallyOutcomes } from '../../src/activities/outcome-metrics';
import { loadConfig } from '../../src/config';
import { ConnectorError } from '../../src/connectors/errors';
import { RateBudget } from '../../src/connectors/rate-budget';
import { MemoryRateBudgetStore } from '../../src/connectors/rate-budget-store';
import { SingleFlightTokenProvider } from '../../src/connectors/token-provider';
import { metricsAnswer, startMetricsServer } from '../../src/observability/metrics-endpoint';
import { recordPoll } from '../../src/observability/metrics';
import { tracingRequested } from '../../src/observability/tracing-settings';
import { buildShimApp } from '../../src/webhooks/app';

async function scrape(): Promise<MetricFamily[]> {
  return parsePrometheusTextFormat((await metricsAnswer()).body);
}

function sample(families: MetricFamily[], name: string, labels: Record<string, string>): number | undefined {
  const metric = families.find((family) => family.name === name)?.metrics.find((candidate) => Object.entries(labels).every(([key, value]) => candidate.labels?.[key] === value));
  return metric ? Number(metric.value) : undefined;
}

const outcome = (status: 'created' | 'updated' | 'echo' | 'stale' | 'refused-by-policy') => ({ canonicalId: 'c', sourceExternalId: 's', status, targetExternalId: 't', matched: false }) as never;

describe('record outcomes as metrics', () => {
  it('counts created and updated as synced, echoes as echoed, parked, policy refusals and stale reads by name, and conflicts', () => {
    const parked = { canonicalId: 'c', sourceExternalId: 's', status: 'parked', reason: 'failed', error: { provider: 'hubspot', errorClass: 'validation', message: 'x' } } as const;
    expect(tallyOutcomes([outcome('created'), outcome('updated'), outcome('echo'), outcome('stale'), outcome('refused-by-policy'), parked, parked], 3)).toEqual({
      synced: 2,
      echoed: 1,
      stale: 1,
      'refused-by-policy': 1,
      parked: 2,
      conflicted: 3,
    });
    expect(tallyOutcomes([], 0)).toEqual({});
  });
});

describe('rate budget and token metrics', () => {
  it('records the share of the window used, each wait for room, and a spent quota', async () => {
    let now = 1_000_000;
    const slept: number[] = [];
    const budget = new RateBudget({
      provider: 'hubspot',
      connectionId: 'unit-budget',
      windows: [{ name: 'unit-burst', limit: 4, windowMs: 1_000 }],
      store: new MemoryRateBudgetStore(() => now),
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    await budget.acquire(3);
    expect(sample(await scrape(), 'crm_sync_rate_budget_used_ratio', { connection: 'unit-budget', window: 'unit-burst' })).toBe(0.75);
    await budget.acquire(2); // 5 > 4: waits for the window, on the injected clock
    const families = await scrape();
    expect(slept).toHaveLength(1);
    expect(sample(families, 'crm_sync_rate_budget_waits_total', { provider: 'hubspot', connection: 'unit-budget', window: 'unit-burst' })).toBe(1);
    expect(sample(families, 'crm_sync_rate_budget_wait_seconds_total', { connection: 'unit-budget', window: 'unit-burst' })).toBe(slept[0]! / 1000);

    const quota = new RateBudget({ provider: 'zoho', connectionId: 'unit-quota', windows: [{ name: 'daily', limit: 1, windowMs: 86_400_000, quota: true }], store: new MemoryRateBudgetStore(() => now) });
    await quota.acquire();
    await expect(quota.acquire()).rejects.toBeInstanceOf(ConnectorError);
    expect(sample(await scrape(), 'crm_sync_rate_budget_refusals_total', { provider: 'zoho', connection: 'unit-quota', window: 'daily', reason: 'quota-exhausted' })).toBe(1);
  });

  it('counts token refreshes by outcome: ok, refused grant, failed endpoint', async () => {
    const before = await scrape();
    const count = (families: MetricFamily[], outcome: string) => sample(families, 'crm_sync_token_refreshes_total', { provider: 'pipedrive', outcome }) ?? 0;
    const answers: (() => Promise<{ accessToken: string; expiresInMs: number }>)[] = [
      async () => ({ accessToken: 'a', expiresInMs: 0 }),
      async () => Promise.reject(new ConnectorError({ provider: 'pipedrive', errorClass: 'transient', message: 'token endpoint 503' })),
      async () => Promise.reject(new ConnectorError({ provider: 'pipedrive', errorClass: 'auth', message: 'invalid_grant' })),
    ];
    const tokens = new SingleFlightTokenProvider({ provider: 'pipedrive', refresh: () => answers.shift()!() });
    await tokens.token();
    await expect(tokens.token()).rejects.toThrow('503');
    await expect(tokens.token()).rejects.toThrow('invalid_grant');
    const after = await scrape();
    expect([count(after, 'ok') - count(before, 'ok'), count(after, 'failed') - count(before, 'failed'), count(after, 'refused') - count(before, 'refused')]).toEqual([1, 1, 1]);
  });
});

describe('poll lag', () => {
  it('is now minus the watermark the poll started from', async () => {
    recordPoll({ tenantId: 'unit', connectionId: 'unit-poll', objectType: 'deal' }, '2026-01-01T00:00:00.000Z', 4, Date.parse('2026-01-01T00:10:00.000Z'));
    const families = await scrape();
    expect(sample(families, 'crm_sync_poll_lag_seconds', { tenant: 'unit', connection: 'unit-poll', object: 'deal' })).toBe(600);
    expect(sample(families, 'crm_sync_poll_records_total', { tenant: 'unit', connection: 'unit-poll', object: 'deal' })).toBe(4);
  });
});

describe('the shim counts every webhook answer with a bounded provider label', () => {
  it('counts a refused delivery to an unknown provider as "unknown", never by the name in the URL', async () => {
    const app = buildShimApp({ readiness: {}, webhooks: { connections: { getConnection: async () => undefined, loadCredentials: async () => ({}) }, signal: async () => undefined } });
    const answers = await Promise.all([
      app.inject({ method: 'POST', url: '/webhooks/attacker-chosen-1/c1', headers: { 'content-type': 'application/json' }, payload: '{}' }),
      app.inject({ method: 'POST', url: '/webhooks/hubspot/no-such-connection?code=secret', headers: { 'content-type': 'application/json' }, payload: '[]' }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([404, 404]);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    const families = parsePrometheusTextFormat(metrics.body);
    expect(sample(families, 'crm_sync_webhook_deliveries_total', { provider: 'unknown', code: '404' })).toBe(1);
    expect(sample(families, 'crm_sync_webhook_deliveries_total', { provider: 'hubspot', code: '404' })).toBe(1);
    expect(metrics.body).not.toContain('attacker-chosen-1');
    expect(metrics.body).not.toContain('no-such-connection');
    await app.close();
  });
});

describe('the worker metrics endpoint', () => {
  it('serves GET /metrics, 404 elsewhere, and says so when the SDK metrics cannot be read', async () => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, sdkMetricsUrl: 'http://127.0.0.1:1/metrics' });
    try {
      const metrics = await fetch(server.url);
      expect(metrics.status).toBe(200);
      const body = await metrics.text();
      expect(body).toContain('# TYPE crm_sync_records_total counter');
      expect(body).toMatch(/# Temporal SDK metrics unavailable from http:\/\/127\.0\.0\.1:1\/metrics/);
      const elsewhere = await fetch(server.url.replace('/metrics', '/other'));
      expect(elsewhere.status).toBe(404);
      await elsewhere.text();
    } finally {
      await server.close();
    }
  });
});

describe('tracing settings (OTEL_* variables)', () => {
  it('is off by default and on for an OTLP exporter or endpoint, unless the SDK is disabled', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
  });

  it('refuses an exporter it cannot run, naming the variable, at configuration time', () => {
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER "zipkin" is not supported: use otlp, or none/);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ TEMPORAL_METRICS_BIND_ADDRESS: '9465' })).toThrow(/TEMPORAL_METRICS_BIND_ADDRESS must be host:port/);
  });
});

/**
 * `/metrics`: crm-sync's own metrics (metrics.ts) and, in a worker, the Temporal SDK's runtime
 * metrics, in one Prometheus text answer, so each process is one scrape target. The SDK's core
 * serves its metrics on a loopback address of its own (temporal-runtime.ts); they are appended
 * here as the core wrote them: their names (temporal_*) never clash with ours (crm_sync_*).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsRegistry } from './metrics';

export interface MetricsAnswer {
  contentType: string;
  body: string;
}

/** How long a scrape waits for the SDK's metrics before answering with ours alone. */
const SDK_SCRAPE_TIMEOUT_MS = 2_000;

export async function metricsAnswer(sdkMetricsUrl?: string): Promise<MetricsAnswer> {
  const ours = await metricsRegistry.metrics();
  if (!sdkMetricsUrl) return { contentType: metricsRegistry.contentType, body: ours };
  let sdk: string;
  try {
    const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    sdk = await response.text();
  } catch (error) {
    // The scrape still succeeds; the comment tells an operator reading it why temporal_* is missing.
    sdk = `# Temporal SDK metrics unavailable from ${sdkMetricsUrl}: ${error instanceof Error ? error.message : String(error)}\n`;
  }
  return { contentType: metricsRegistry.contentType, body: `${ours.endsWith('\n') ? ours : `${ours}\n`}${sdk}` };
}

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464/metrics` */
  url: string;
  close(): Promise<void>;
}

/** The worker's metrics listener (the shim serves the same answer on its own app). Port 0 picks a free one. */
export async function startMetricsServer(options: { host: string; port: number; sdkMetricsUrl?: string | undefined }): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at GET /metrics\n');
      return;
    }
    metricsAnswer(options.sdkMetricsUrl).then(
      (answer) => response.writeHead(200, { 'content-type': answer.contentType }).end(answer.body),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

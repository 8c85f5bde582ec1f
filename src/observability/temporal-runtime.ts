import { Runtime } from '@temporalio/worker';

/**
 * Installs the Temporal SDK's process-wide runtime with its Prometheus exporter on `bindAddress`
 * (host:port, loopback by default: the worker's `/metrics` re-serves it, metrics-endpoint.ts).
 * Must run before the first NativeConnection: the runtime is created once per process.
 * Returns the URL the exporter answers on.
 */
export function installTemporalRuntime(bindAddress: string): string {
  Runtime.install({
    telemetryOptions: {
      metrics: {
        // Counters end in _total and durations are seconds, as Prometheus' own conventions have it.
        prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true },
      },
    },
  });
  const [host, port] = splitHostPort(bindAddress);
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`;
}

function splitHostPort(address: string): [string, string] {
  const separator = address.lastIndexOf(':');
  return [address.slice(0, separator), address.slice(separator + 1)];
}

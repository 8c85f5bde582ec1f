/** Whether the OTEL_* variables turn tracing on (tracing.ts): kept apart so configuration checks load no SDK. */
export class TracingConfigError extends Error {}

export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unsupported = exporters.filter((name) => name !== 'otlp' && name !== 'none');
  if (unsupported.length > 0) throw new TracingConfigError(`OTEL_TRACES_EXPORTER "${unsupported.join(',')}" is not supported: use otlp, or none to turn tracing off`);
  if (exporters.includes('none')) return false;
  return exporters.includes('otlp') || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * OpenTelemetry tracing, off by default. On, a webhook delivery (the shim's server span), the
 * signal it sends, the workflow's handling of it and the activities that apply it share one trace:
 * the Temporal client interceptor puts the trace context in the signal's (and start's) headers,
 * the workflow interceptors (in the workflow bundle, always) carry it to the activities they
 * schedule, and the activity interceptor continues it in the worker.
 *
 * Configured by the standard OTEL_* variables: OTEL_TRACES_EXPORTER=otlp (or an
 * OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT) turns it on, exporting OTLP over HTTP to that endpoint
 * (default http://localhost:4318/v1/traces) with OTEL_EXPORTER_OTLP_[TRACES_]HEADERS;
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the process; OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none keeps it off.
 */
import { createRequire } from 'node:module';
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { tracingRequested } from './tracing-settings';

export interface Tracing {
  tracer: Tracer;
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry workflow interceptors, bundled with the workflows (build-workflow-bundle.ts,
 * worker.ts) whether tracing is on or not: a prebuilt bundle cannot depend on the environment it
 * will run in. Off, their spans go to a no-op processor (`workerTracingOptions`).
 */
export const WORKFLOW_INTERCEPTOR_MODULES: readonly string[] = [createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/**
 * Starts tracing for this process with `spanProcessor` (the OTLP exporter, or an in-memory one in
 * tests) and registers it as the process's global provider: the Temporal interceptors inject and
 * extract context through the global propagator, and the shim's request context rides on the
 * global (AsyncLocalStorage) context manager.
 */
export function startTracing(options: { serviceName: string; spanProcessor: SpanProcessor }): Tracing {
  const resource = new Resource({ 'service.name': options.serviceName }).merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [options.spanProcessor] });
  provider.register();
  return { tracer: provider.getTracer('crm-sync'), spanProcessor: options.spanProcessor, resource, shutdown: () => provider.shutdown() };
}

/** Tracing as the OTEL_* variables ask (see above), or undefined when they leave it off. */
export function tracingFromEnvironment(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (!tracingRequested(env)) return undefined;
  // The exporter reads its endpoint, headers, timeout and compression from the same variables.
  return startTracing({ serviceName, spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter()) });
}

/**
 * What a worker adds for tracing: the workflow interceptors' span sink (always: the bundle holds
 * them) and, on, the activity interceptors. `bundled`: the workflows come from a prebuilt bundle,
 * which already holds the workflow interceptors (the worker ignores the module list then, loudly).
 */
export function workerTracingOptions(tracing: Tracing | undefined, bundled: boolean): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: {
      ...(bundled ? {} : { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES] }),
      activity: tracing
        ? [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })]
        : [],
    },
    sinks: { exporter: makeWorkflowExporter(tracing?.spanProcessor ?? new NoopSpanProcessor(), tracing?.resource ?? Resource.empty()) },
  };
}

/** A Temporal client's interceptors: with tracing, starts and signals carry the caller's trace. */
export function clientTracingInterceptors(tracing: Tracing | undefined): ClientInterceptors | undefined {
  return tracing ? { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] } : undefined;
}

/**
 * The shim's share of metrics and traces: every answer to a webhook delivery counted by provider
 * and status code, `GET /metrics`, and (with a tracer) one server span per delivery, active while
 * the route runs, so the signal it sends (and so the workflow and activities that apply it)
 * belong to the delivery's trace.
 */
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { metricsAnswer } from '../observability/metrics-endpoint';
import { recordWebhookDelivery } from '../observability/metrics';

const WEBHOOK_ROUTE = '/webhooks/:provider/:connectionId';

/** `/webhooks/<provider>/...` -> provider; the URL, not the route's params: a refused request may never reach the route. */
function providerOf(request: FastifyRequest): string | undefined {
  const [, first, provider] = request.url.split('?')[0]?.split('/') ?? [];
  return first === 'webhooks' ? (provider ?? '') : undefined;
}

export function instrumentShim(app: FastifyInstance, tracer: Tracer | undefined): void {
  const spans = new WeakMap<FastifyRequest, Span>();

  app.addHook('onRequest', (request, _reply, done) => {
    const provider = providerOf(request);
    if (tracer && provider !== undefined) {
      // No URL, query or header on the span: Dynamics' `?code=` is the webhook key.
      spans.set(request, tracer.startSpan('webhook delivery', { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': request.routeOptions.url ?? WEBHOOK_ROUTE, 'crm_sync.provider': provider } }));
    }
    done();
  });

  // Entered after the body is read: the body arrives on the socket's own async context, so a
  // context entered in onRequest would not reach the handler.
  app.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (!span) return done();
    const { connectionId, appId } = (request.params ?? {}) as { connectionId?: string; appId?: string };
    if (connectionId) span.setAttribute('crm_sync.connection_id', connectionId);
    // HubSpot's per-app route: the connections are found by portal inside the route.
    if (appId) span.setAttribute('crm_sync.app_id', appId);
    context.with(trace.setSpan(context.active(), span), done);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const provider = providerOf(request);
    if (provider !== undefined) recordWebhookDelivery(provider, reply.statusCode);
    const span = spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });

  app.get('/metrics', async (_request, reply) => {
    const answer = await metricsAnswer();
    return reply.type(answer.contentType).send(answer.body);
  });
}

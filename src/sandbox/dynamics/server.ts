import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_PREFIX } from '../core/sandbox-app';
import type { TokenAuthority } from './auth';
import { EntraError } from './auth';
import { boundaryOf, renderBatch } from './batch';
import { errorResponse, executeBatch } from './batch-executor';
import { badQuery, DataverseError, ErrorCodes } from './errors';
import type { ServiceProtection } from './limits';
import { executeOperation, type OperationContext } from './operations';
import type { ODataResponse } from './render';

export const API_ROOT = '/api/data/v9.2';

export interface DataverseRoutesDependencies {
  authority: TokenAuthority;
  protection: ServiceProtection;
  /** Everything an operation needs except the caller, which comes from the bearer token. */
  context: Omit<OperationContext, 'actor' | 'references'>;
  baseUrl: () => string;
}

function send(reply: FastifyReply, response: ODataResponse, extraHeaders: Record<string, string> = {}): FastifyReply {
  const headers = { ...response.headers, ...extraHeaders };
  // An explicit charset keeps Fastify from re-serialising (and quoting) the OData parameters.
  const type = headers['content-type'];
  if (type?.startsWith('application/json') && !type.includes('charset')) headers['content-type'] = `${type}; charset=utf-8`;
  reply.code(response.status).headers(headers);
  if (response.body === undefined) return reply.send();
  return reply.send(typeof response.body === 'string' ? response.body : JSON.stringify(response.body));
}

/** Dataverse's answers to injected faults (core FaultInjector) [D9][D14]. */
export function renderFault(kind: 'server-error' | 'rate-limit', _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error =
    kind === 'rate-limit'
      ? new DataverseError(429, ErrorCodes.requestsLimit, 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.', { 'retry-after': '5' })
      : new DataverseError(500, ErrorCodes.unexpected, 'An unexpected error occurred.');
  return send(reply, errorResponse(error));
}

export const TOKEN_ROUTE = '/:tenantId/oauth2/v2.0/token';

/**
 * Entra ID's answers to injected faults at its token endpoint (not Dataverse's envelope). A
 * throttled client-credentials request gets 429 with `Retry-After: 60` (MSAL, "Client and server
 * throttling"), and the body is no OAuth error: MSAL.NET reports "Too Many Requests" as an
 * unparseable answer (AzureAD/microsoft-authentication-library-for-dotnet#2855). An outage is 503
 * `temporarily_unavailable` (Azure AD "Token Issuance Endpoint Errors": 503 "The service is
 * unavailable", `temporarily_unavailable` "The server is temporarily too busy to handle the
 * request"); its AADSTS number is UNCONFIRMED, so the body has no `error_codes`.
 */
export function renderTokenFault(kind: 'server-error' | 'rate-limit', _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (kind === 'rate-limit') return reply.code(429).header('retry-after', '60').type('text/plain; charset=utf-8').send('Too Many Requests');
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  return reply.code(503).send({
    error: 'temporarily_unavailable',
    error_description: `The server is temporarily too busy to handle the request.\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  });
}

function headerMap(request: FastifyRequest): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
  return headers;
}

async function handleApi(deps: DataverseRoutesDependencies, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const [rawPath = '', rawQuery = ''] = request.url.slice(API_ROOT.length + 1).split(/\?(.*)/s);
  let user: { userId: string };
  try {
    user = deps.authority.authenticate(request.headers.authorization);
  } catch (error) {
    return send(reply, errorResponse(error));
  }
  let admission;
  try {
    admission = deps.protection.admit(user.userId);
  } catch (error) {
    return send(reply, errorResponse(error));
  }
  try {
    const delay = deps.protection.executionDelayMs();
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const context: OperationContext = { ...deps.context, actor: user, references: new Map() };
    let response: ODataResponse;
    try {
      if (rawPath === '$batch') {
        if (request.method !== 'POST') throw badQuery('The $batch endpoint only accepts POST.');
        const boundary = boundaryOf(request.headers['content-type']);
        if (!boundary || typeof request.body !== 'string') throw badQuery("The batch request must have a 'multipart/mixed' Content-Type with a boundary.");
        const outcome = executeBatch(context, request.body, boundary, headerMap(request).prefer);
        const rendered = renderBatch(outcome.results);
        response = { status: outcome.status, headers: { 'content-type': rendered.contentType }, body: rendered.body };
      } else {
        response = executeOperation(context, {
          method: request.method,
          path: rawPath,
          query: new URLSearchParams(rawQuery),
          headers: headerMap(request),
          body: request.body,
        });
      }
    } catch (error) {
      response = errorResponse(error);
    }
    admission.release();
    return send(reply, response, admission.headers());
  } finally {
    admission.release();
  }
}

/** Entra ID's token and discovery endpoints, then the Web API under `/api/data/v9.2/`. */
export function registerDataverseRoutes(app: FastifyInstance, deps: DataverseRoutesDependencies): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.url.startsWith(ADMIN_PREFIX)) {
      reply.header('OData-Version', '4.0');
      if (request.url.startsWith(API_ROOT)) reply.header('REQ_ID', randomUUID());
    }
    return payload;
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof DataverseError) return send(reply, errorResponse(error));
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    return send(reply, errorResponse(new DataverseError(status, status === 500 ? ErrorCodes.unexpected : ErrorCodes.odataQuery, error.message)));
  });

  app.post<{ Params: { tenantId: string }; Body: Record<string, string | undefined> | undefined }>(TOKEN_ROUTE, async (request, reply) => {
    try {
      return reply.code(200).header('cache-control', 'no-store, no-cache').send(deps.authority.issue(request.params.tenantId, request.body ?? {}, request.headers.authorization));
    } catch (error) {
      if (error instanceof EntraError) return reply.code(error.status).send(error.body());
      throw error;
    }
  });

  app.get('/:tenantId/v2.0/.well-known/openid-configuration', async () => deps.authority.openIdConfiguration(deps.baseUrl()));

  app.all(`${API_ROOT}/*`, async (request, reply) => handleApi(deps, request, reply));
}

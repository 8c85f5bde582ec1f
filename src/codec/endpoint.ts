import type { PayloadCodec } from '@temporalio/common';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { CODEC_ALLOWED_HEADERS } from './cors';
import { PayloadCodecError } from './encryption-codec';
import { codecRequestSchema, payloadFromJson, payloadToJson } from './json-payloads';
import { checkBearer } from './operator-auth';

export interface CodecEndpointOptions {
  codec: PayloadCodec;
  /** The bearer token operators present. Required unless `allowWithoutToken`. */
  operatorToken?: string | undefined;
  /**
   * Serve without authentication: only for a local development server (the dev server's Web UI
   * cannot send a token). Configured through CODEC_ALLOW_NO_TOKEN, which production refuses.
   */
  allowWithoutToken?: boolean;
  /** Browser origins allowed to call (the Web UI's). */
  corsOrigins: readonly string[];
  /** The Temporal namespace served; a request naming another one in X-Namespace is refused. */
  namespace?: string;
  /** Largest accepted body in bytes. Default 8 MiB (the UI decodes a page of events at once). */
  bodyLimit?: number;
}

export type CodecErrorCode =
  | 'token_missing'
  | 'token_invalid'
  | 'origin_not_allowed'
  | 'namespace_not_served'
  | 'invalid_body'
  | 'malformed_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'payload_undecodable'
  | 'internal_error';

export class CodecEndpointError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CodecEndpointError';
  }
}

/** Thrown at registration: the endpoint will not serve decoded history to anyone who asks. */
export class CodecEndpointConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecEndpointConfigError';
  }
}

export const DEFAULT_CODEC_BODY_LIMIT = 8 * 1024 * 1024;

/**
 * The Temporal codec-server protocol: `POST /encode` and `POST /decode` with
 * `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`, answered in the same shape, for the
 * Web UI (CORS for its origins, preflight answered) and the `temporal` CLI (`--codec-endpoint`).
 * Every request needs the operator bearer token; every refusal is `{ code, message }` and carries
 * no payload. Register it with a prefix, e.g. `/codec`.
 */
export const codecEndpoint: FastifyPluginAsync<CodecEndpointOptions> = async (app, options) => {
  const token = options.operatorToken;
  if (!token && !options.allowWithoutToken) {
    throw new CodecEndpointConfigError('The codec endpoint needs an operator token (CODEC_OPERATOR_TOKEN); only a development server may run without one (CODEC_ALLOW_NO_TOKEN=true).');
  }
  const origins = new Set(options.corsOrigins);
  const bodyLimit = options.bodyLimit ?? DEFAULT_CODEC_BODY_LIMIT;

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    if (!origins.has(origin)) {
      // Preflight or not: a browser page from elsewhere gets no decoded history, and no CORS grant.
      throw new CodecEndpointError(403, 'origin_not_allowed', `Origin ${origin} may not call the codec endpoint (allowed: CODEC_CORS_ORIGINS).`);
    }
    void reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const refusal = error instanceof CodecEndpointError ? error : fromFrameworkError(error);
    if (refusal.statusCode >= 500) request.log.error({ err: { name: error.name } }, 'codec request failed');
    return reply.code(refusal.statusCode).send({ code: refusal.code, message: refusal.message });
  });

  const preflight = async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // Reaching here means the origin passed onRequest (or there was none).
    await reply
      .code(204)
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', CODEC_ALLOWED_HEADERS)
      .header('access-control-max-age', '600')
      .send();
  };

  const authorise = async (request: FastifyRequest): Promise<void> => {
    if (token) {
      const check = checkBearer(request.headers.authorization, token);
      if (!check.ok) throw new CodecEndpointError(401, check.code, check.message);
    }
    const namespace = request.headers['x-namespace'];
    if (options.namespace && typeof namespace === 'string' && namespace !== '' && namespace !== options.namespace) {
      throw new CodecEndpointError(403, 'namespace_not_served', `This codec endpoint serves namespace "${options.namespace}", not "${namespace}".`);
    }
  };

  for (const [route, direction] of [
    ['/encode', 'encode'],
    ['/decode', 'decode'],
  ] as const) {
    app.options(route, preflight);
    app.post(route, { bodyLimit, preHandler: authorise }, async (request, reply) => {
      const parsed = codecRequestSchema.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new CodecEndpointError(400, 'invalid_body', `Body must be {"payloads":[{"metadata":{…},"data":"base64"}]}: ${issue?.path.join('.') || 'body'} ${issue?.message ?? 'is invalid'}.`);
      }
      const payloads = parsed.data.payloads.map(payloadFromJson);
      let result;
      try {
        result = direction === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
      } catch (error) {
        if (error instanceof PayloadCodecError) throw new CodecEndpointError(422, 'payload_undecodable', error.message);
        throw error;
      }
      return reply.send({ payloads: result.map(payloadToJson) });
    });
  }
};

function fromFrameworkError(error: { statusCode?: number }): CodecEndpointError {
  if (error.statusCode === 413) return new CodecEndpointError(413, 'payload_too_large', 'The request body exceeds the size limit.');
  if (error.statusCode === 415) return new CodecEndpointError(415, 'unsupported_media_type', 'Send the payloads as application/json.');
  if (error.statusCode === 400) return new CodecEndpointError(400, 'malformed_json', 'The request body is empty or not valid JSON.');
  return new CodecEndpointError(500, 'internal_error', 'The codec request could not be processed.');
}

/** A Fastify app serving only the codec endpoint under `/codec` (the `npm run codec-server` process, tests). */
export function buildCodecApp(options: CodecEndpointOptions, logger: FastifyServerOptions['logger'] = false): FastifyInstance {
  const app = Fastify({ logger });
  app.get('/healthz', async () => ({ status: 'ok' }));
  void app.register(codecEndpoint, { ...options, prefix: '/codec' });
  return app;
}

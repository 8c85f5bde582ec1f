import { randomUUID } from 'node:crypto';
import { Metadata, Server, ServerCredentials, status, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData, type ServiceError } from '@grpc/grpc-js';
import { AUTH_HEADERS, ERROR_CODE_TRAILER, MAX_NUM_REQUESTED, PUBSUB_ERROR_CODES, pubSubServiceDefinition, type FetchRequest, type FetchResponse, type SchemaInfo, type SchemaRequest, type TopicInfo, type TopicRequest } from '../../../protocols/salesforce-pubsub';
import type { SalesforceContext } from '../context';
import { SOBJECT_TYPES, type SObjectType } from '../schema';
import { ALL_CHANGE_EVENTS, type ChangeEventBus } from './event-bus';

export interface PubSubServerOptions {
  /**
   * How long a subscription with nothing to deliver stays silent before an empty FetchResponse
   * with the latest replay id: the vendor sends one "within 270 seconds" (S88). The sandbox also
   * sends one at once when a subscription starts with nothing to deliver (within that bound).
   */
  keepaliveMs?: number;
}

/** A gRPC error in the vendor's shape: status, message ending with the rpc id, custom code in the trailers. */
function pubSubError(code: status, errorCode: string, message: string): ServiceError {
  const rpcId = randomUUID();
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, errorCode);
  metadata.set('rpc-id', rpcId);
  return Object.assign(new Error(`${message} rpcId: ${rpcId}`), { code, details: `${message} rpcId: ${rpcId}`, metadata });
}

function header(metadata: Metadata, name: string): string {
  const value = metadata.get(name)[0];
  return typeof value === 'string' ? value : '';
}

const position = (replayId: Buffer | undefined): bigint | undefined => (replayId && replayId.length === 8 ? replayId.readBigUInt64BE(0) : undefined);
const replayIdOf = (at: bigint): Buffer => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(at);
  return buffer;
};

function topicEntity(topic: string): SObjectType | 'all' | undefined {
  if (topic === ALL_CHANGE_EVENTS) return 'all';
  return SOBJECT_TYPES.find((type) => topic === `/data/${type}ChangeEvent` && type !== 'OpportunityContactRole');
}

/**
 * Pub/Sub API for the sandbox org: GetTopic, GetSchema and Subscribe over real gRPC (HTTP/2,
 * plaintext on 127.0.0.1), authenticated by the `accesstoken`, `instanceurl` and `tenantid`
 * metadata headers. Returns the `host:port` it listens on.
 */
export async function startPubSubServer(context: SalesforceContext, bus: ChangeEventBus, options: PubSubServerOptions = {}): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const keepaliveMs = options.keepaliveMs ?? 270_000;
  const server = new Server();

  const authError = (metadata: Metadata): ServiceError | undefined => {
    const token = header(metadata, AUTH_HEADERS.accessToken);
    const instanceUrl = header(metadata, AUTH_HEADERS.instanceUrl).replace(/\/+$/, '');
    const tenant = header(metadata, AUTH_HEADERS.tenantId);
    const orgMatches = tenant !== '' && (tenant === context.organizationId || tenant === context.organizationId.slice(0, 15));
    if (token && context.tokens.isValid(token) && instanceUrl === context.instanceUrl() && orgMatches) return undefined;
    return pubSubError(status.UNAUTHENTICATED, PUBSUB_ERROR_CODES.authError, 'An authentication exception occurred. Provide valid authentication via metadata headers.');
  };

  const unknownTopic = (topic: string): ServiceError =>
    pubSubError(status.NOT_FOUND, PUBSUB_ERROR_CODES.topicNotFound, `The topic ${JSON.stringify(topic)} doesn't exist or you don't have access to it.`);

  server.addService(pubSubServiceDefinition(), {
    GetTopic(call: ServerUnaryCall<TopicRequest, TopicInfo>, callback: sendUnaryData<TopicInfo>) {
      const denied = authError(call.metadata);
      if (denied) return callback(denied);
      const entity = topicEntity(call.request.topic_name);
      if (!entity) return callback(unknownTopic(call.request.topic_name));
      callback(null, {
        topic_name: call.request.topic_name,
        tenant_guid: context.organizationId,
        can_publish: false,
        can_subscribe: true,
        // The multi-object channel's events each carry their own object's schema id.
        schema_id: entity === 'all' ? '' : bus.schemaOf(entity).schemaId,
        rpc_id: randomUUID(),
      });
    },
    GetSchema(call: ServerUnaryCall<SchemaRequest, SchemaInfo>, callback: sendUnaryData<SchemaInfo>) {
      const denied = authError(call.metadata);
      if (denied) return callback(denied);
      const schema = bus.schemaById(call.request.schema_id);
      if (!schema) return callback(pubSubError(status.NOT_FOUND, PUBSUB_ERROR_CODES.invalidArgument, `Schema ${JSON.stringify(call.request.schema_id)} not found.`));
      callback(null, { schema_json: schema.schemaJson, schema_id: schema.schemaId, rpc_id: randomUUID() });
    },
    Subscribe(call: ServerDuplexStream<FetchRequest, FetchResponse>) {
      const denied = authError(call.metadata);
      if (denied) {
        call.emit('error', denied);
        return;
      }
      let topic: string | undefined;
      let at = 0n;
      let pending = 0;
      let ended = false;
      let keepalive: NodeJS.Timeout | undefined;
      const rpcId = randomUUID();
      const fail = (error: ServiceError) => {
        if (ended) return;
        ended = true;
        cleanup();
        call.emit('error', error);
      };
      const send = (response: FetchResponse) => {
        if (!ended) call.write(response);
      };
      const armKeepalive = () => {
        clearTimeout(keepalive);
        keepalive = setTimeout(() => {
          send({ events: [], latest_replay_id: replayIdOf(at), rpc_id: rpcId, pending_num_requested: pending });
          armKeepalive();
        }, keepaliveMs);
        keepalive.unref();
      };
      const deliver = () => {
        if (ended || topic === undefined) return;
        while (pending > 0) {
          const events = bus.after(topic, at, Math.min(pending, MAX_NUM_REQUESTED));
          if (events.length === 0) break;
          pending -= events.length;
          bus.delivered += events.length;
          at = (events[events.length - 1] as (typeof events)[number]).position;
          send({
            events: events.map((event) => ({ event: { id: event.id, schema_id: event.schemaId, payload: event.payload, headers: [] }, replay_id: replayIdOf(event.position) })),
            latest_replay_id: replayIdOf(at),
            rpc_id: rpcId,
            pending_num_requested: pending,
          });
          armKeepalive();
        }
      };
      const unsubscribe = bus.onPublish(deliver);
      const cleanup = () => {
        clearTimeout(keepalive);
        unsubscribe();
      };
      call.on('data', (request: FetchRequest) => {
        if (ended) return;
        const requested = request.num_requested ?? 0;
        if (requested < 1 || requested > MAX_NUM_REQUESTED) {
          return fail(pubSubError(status.INVALID_ARGUMENT, PUBSUB_ERROR_CODES.invalidArgument, `num_requested must be between 1 and ${MAX_NUM_REQUESTED}.`));
        }
        if (topic === undefined) {
          const name = request.topic_name ?? '';
          if (!topicEntity(name)) return fail(unknownTopic(name));
          topic = name;
          // The replay option counts on the first FetchRequest only.
          if (request.replay_preset === 'EARLIEST') at = bus.earliest();
          else if (request.replay_preset === 'CUSTOM') {
            const from = position(request.replay_id);
            if (from === undefined || !bus.canResumeAfter(from)) {
              return fail(pubSubError(status.INVALID_ARGUMENT, PUBSUB_ERROR_CODES.replayIdCorrupted, 'The Replay ID validation failed. Ensure that the Replay ID is valid.'));
            }
            at = from;
          } else at = bus.latest();
          pending += requested;
          const before = at;
          deliver();
          if (at === before) send({ events: [], latest_replay_id: replayIdOf(at), rpc_id: rpcId, pending_num_requested: pending });
          armKeepalive();
          return;
        }
        if (request.topic_name && request.topic_name !== topic) {
          return fail(pubSubError(status.INVALID_ARGUMENT, PUBSUB_ERROR_CODES.invalidArgument, 'The topic name of a FetchRequest must match the first one of the stream.'));
        }
        pending += requested;
        deliver();
      });
      const close = () => {
        if (ended) return;
        ended = true;
        cleanup();
        call.end();
      };
      call.on('end', close);
      call.on('cancelled', () => {
        ended = true;
        cleanup();
      });
      call.on('error', () => {
        ended = true;
        cleanup();
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  return {
    endpoint: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open subscriptions would hold a graceful shutdown forever.
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}
